"""Output-size arithmetic shared by the layers, `summary()` and the teaching commands.

Every spatial size in the library comes from `conv_output_size`, so the layers, the
model table and `explain` can never disagree. Sizes follow TensorFlow 2 and Keras 3:

* integer padding ``p`` on both sides: ``out = 1 + floor((n + 2p - f) / s)``;
* ``'valid'`` is integer padding 0;
* ``'same'``: ``out = ceil(n / s)``, total padding ``max((out - 1) * s + f - n, 0)``,
  and when that total is odd the extra row or column goes to the bottom or right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PADDING_MODES = ("valid", "same")


@dataclass(frozen=True)
class AxisGeometry:
    """Geometry of one spatial axis of a sliding window, from input to output.

    Attributes
    ----------
    size : int
        Input length ``n`` along the axis.
    window : int
        Window (kernel or pool) length ``f``.
    stride : int
        Step ``s`` between window positions.
    pad_before, pad_after : int
        Zero rows or columns added at the top/left and at the bottom/right.
    output : int
        Number of window positions, the output length.
    """

    size: int
    window: int
    stride: int
    pad_before: int
    pad_after: int
    output: int


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"Invalid type for argument `{name}`. Expected an int. "
            f"Received {name}={value!r} of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a positive int. "
            f"Received {name}={value}."
        )
    return value


def normalize_padding(padding: object) -> str | tuple[int, int]:
    """Validate a padding argument and return ``'valid'``, ``'same'`` or ``(p_h, p_w)``.

    Accepts ``'valid'``, ``'same'`` (any case), a non-negative int for both axes, or a
    pair of non-negative ints ``(p_h, p_w)``.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in PADDING_MODES:
            raise ValueError(
                "Invalid value for argument `padding`. Expected 'valid', 'same', "
                f"a non-negative int or a pair of them. Received padding={padding!r}."
            )
        return mode
    pair = normalize_pair("padding", padding, minimum=0)
    return pair


def normalize_pair(name: str, value: object, minimum: int = 1) -> tuple[int, int]:
    """Return ``value`` as a pair ``(height, width)`` of ints that are ``>= minimum``.

    A single int is used for both axes, as Keras does for `kernel_size` and `strides`.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = tuple(value)
    else:
        raise TypeError(
            f"Invalid type for argument `{name}`. Expected an int or a pair of ints. "
            f"Received {name}={value!r}."
        )
    for item in pair:
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(
                f"Invalid type for argument `{name}`. Expected an int or a pair of "
                f"ints. Received {name}={value!r}."
            )
        if item < minimum:
            kind = "positive" if minimum == 1 else f">= {minimum}"
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected {kind} ints. "
                f"Received {name}={value!r}."
            )
    return (pair[0], pair[1])


def conv_output_size(
    size: int, window: int, stride: int, padding: str | int
) -> AxisGeometry:
    """Work out one axis of a convolution or pooling window.

    Parameters
    ----------
    size : int
        Input length ``n``.
    window : int
        Window length ``f``.
    stride : int
        Stride ``s``.
    padding : {'valid', 'same'} or int
        ``'valid'`` (no padding), ``'same'`` (TensorFlow's rule) or ``p`` zeros on
        each side.

    Returns
    -------
    AxisGeometry
        The padding on each side and the output length.

    Raises
    ------
    ValueError
        If the window does not fit, so the output length would be zero or negative.
    """
    _check_positive_int("size", size)
    _check_positive_int("window", window)
    _check_positive_int("stride", stride)

    if padding == "same":
        output = math.ceil(size / stride)
        total = max((output - 1) * stride + window - size, 0)
        before = total // 2
        return AxisGeometry(size, window, stride, before, total - before, output)

    if padding == "valid":
        pad = 0
    elif isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0:
        pad = padding
    else:
        raise ValueError(
            "Invalid value for argument `padding`. Expected 'valid', 'same' or a "
            f"non-negative int. Received padding={padding!r}."
        )

    padded = size + 2 * pad
    if padded < window:
        raise ValueError(
            "Computed output size would be zero or negative: the window of length "
            f"{window} does not fit in an input of length {size} with padding {pad} "
            f"(1 + floor(({size} + 2*{pad} - {window}) / {stride}) = "
            f"{1 + (padded - window) // stride}). Use a smaller window, more "
            "padding or padding='same'."
        )
    output = 1 + (padded - window) // stride
    return AxisGeometry(size, window, stride, pad, pad, output)


def conv_output_shape(
    input_hw: tuple[int, int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str | tuple[int, int],
) -> tuple[AxisGeometry, AxisGeometry]:
    """Return the geometry of the height and width axes of a 2-D window.

    ``padding`` is what `normalize_padding` returns.
    """
    if isinstance(padding, str):
        pad_h = pad_w = padding
    else:
        pad_h, pad_w = padding
    rows = conv_output_size(input_hw[0], window[0], strides[0], pad_h)
    cols = conv_output_size(input_hw[1], window[1], strides[1], pad_w)
    return rows, cols


def padded_output_size(
    size: int, window: int, stride: int, pad_before: int, pad_after: int
) -> int:
    """Return the output length of one axis whose padding is given per side.

    The kernels receive padding as ``(top, bottom, left, right)`` rather than as a
    mode, so they call this instead of `conv_output_size`. The length is
    ``1 + floor((n + pad_before + pad_after - f) / s)``.

    Raises
    ------
    ValueError
        If the window does not fit in the padded input.
    """
    padded = size + pad_before + pad_after
    if padded < window:
        raise ValueError(
            "Computed output size would be zero or negative: the window of length "
            f"{window} does not fit in an input of length {size} padded with "
            f"{pad_before} before and {pad_after} after."
        )
    return 1 + (padded - window) // stride
