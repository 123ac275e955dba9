"""Output sizes and parameter counts worked out step by step, as text.

The `explain` command prints what this module returns. Every size comes from
`convnet_from_scratch.shapes`, the code the layers themselves call, so the working
shown to a reader is the arithmetic the library does. Only the intermediate steps of
each formula (the numerator, the floor) are written out here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import shapes
from .shapes import AxisGeometry

SIZE_FORMULA = "Output size, one axis at a time: 1 + (n + 2p - f) / s, rounded down"
AXES = (("height", "top", "bottom", "row"), ("width", "left", "right", "column"))


# Parsing the command-line forms


def parse_dims(option: str, text: str, lengths: tuple[int, ...]) -> tuple[int, ...]:
    """Parse ``'7x7x3'``, ``'3x2'`` or ``'3'`` into a tuple of positive ints.

    Parameters
    ----------
    option : str
        The option's name, used in the error message (``'--kernel'``).
    text : str
        Numbers separated by ``x``.
    lengths : tuple of int
        How many numbers are accepted, for example ``(1, 2)``.

    Raises
    ------
    ValueError
        If ``text`` is not that many positive ints separated by ``x``.
    """
    parts = text.strip().lower().split("x")
    if len(parts) not in lengths or not all(re.fullmatch(r"\d+", p) for p in parts):
        forms = " or ".join("x".join(["N"] * n) for n in lengths)
        raise ValueError(
            f"Invalid value for {option}. Expected {forms} with positive ints N. "
            f"Received {option} {text!r}."
        )
    values = tuple(int(p) for p in parts)
    if min(values) < 1:
        raise ValueError(
            f"Invalid value for {option}. Every number must be at least 1. "
            f"Received {option} {text!r}."
        )
    return values


def parse_pair(option: str, text: str) -> tuple[int, int]:
    """Parse ``'3'`` or ``'3x2'`` into ``(height, width)``.

    A single number is used for both axes.
    """
    values = parse_dims(option, text, (1, 2))
    return (values[0], values[-1])


def parse_padding(text: str) -> str | tuple[int, int]:
    """Parse ``'same'``, ``'valid'``, ``'1'`` or ``'1x0'`` (rows x columns of zeros).

    Returns what `shapes.normalize_padding` returns: the mode name or ``(p_h, p_w)``.
    """
    cleaned = text.strip().lower()
    if cleaned in shapes.PADDING_MODES:
        return cleaned
    parts = cleaned.split("x")
    if len(parts) not in (1, 2) or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError(
            "Invalid value for --padding. Expected 'valid', 'same', a number of zero "
            f"rows and columns such as 1, or PxQ such as 1x0. Received {text!r}."
        )
    values = [int(p) for p in parts]
    return shapes.normalize_padding((values[0], values[-1]))


# One axis at a time


def _geometry(
    input_hw: tuple[int, int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str | tuple[int, int],
) -> tuple[AxisGeometry, AxisGeometry]:
    """Call `shapes.conv_output_size` for each axis, naming the axis in its error."""
    pads = (padding, padding) if isinstance(padding, str) else padding
    geometries = []
    for axis, size, length, stride, pad in zip(
        AXES, input_hw, window, strides, pads, strict=True
    ):
        try:
            geometries.append(shapes.conv_output_size(size, length, stride, pad))
        except ValueError as error:
            raise ValueError(f"Impossible along the {axis[0]}: {error}") from None
    return geometries[0], geometries[1]


def _floor_formula(
    numerator_text: str, numerator: int, stride: int, result: int
) -> str:
    """Write ``1 + (numerator) / s = result``, showing the floor when it rounds.

    ``result`` comes from `shapes`, and the steps before it are only the working.
    """
    quotient, remainder = divmod(numerator, stride)
    if remainder == 0:
        return f"1 + ({numerator_text}) / {stride} = {result}"
    return (
        f"1 + floor(({numerator_text}) / {stride}) = 1 + floor({numerator} / "
        f"{stride}) = 1 + {quotient} = {result}"
    )


def axis_working(
    axis: tuple[str, str, str, str], geometry: AxisGeometry, mode: str | None
) -> list[str]:
    """Return the lines that work out one axis's output length.

    Parameters
    ----------
    axis : tuple of str
        ``(name, side before, side after, cell)``, one entry of `AXES`.
    geometry : AxisGeometry
        The axis as `shapes.conv_output_size` computed it.
    mode : {'same', 'valid'} or None
        The padding mode, or None when the padding was given as a number.
    """
    name, before, after, cell = axis
    n, f, s = geometry.size, geometry.window, geometry.stride
    top, bottom = geometry.pad_before, geometry.pad_after

    if mode == "same":
        total = top + bottom
        lines = [
            f"{name}: 'same' keeps ceil({n} / {s}) = {geometry.output} {cell}s, so it "
            f"pads max(({geometry.output} - 1)*{s} + {f} - {n}, 0) = {total}: "
            f"{top} {before}, {bottom} {after}"
        ]
        if top != bottom:
            lines.append(
                f"  the odd {cell} goes to the {after}, as in TensorFlow and Keras"
            )
        # The kernels receive per-side padding, and their formula must agree.
        numerator = n + top + bottom - f
        check = shapes.padded_output_size(n, f, s, top, bottom)
        formula = _floor_formula(f"{n} + {top} + {bottom} - {f}", numerator, s, check)
        lines.append(f"  check: {formula}")
    else:
        numerator = n + 2 * top - f
        formula = _floor_formula(f"{n} + 2*{top} - {f}", numerator, s, geometry.output)
        if mode == "valid":
            lines = [f"{name}: 'valid' means no padding, {formula}"]
        else:
            lines = [f"{name}: {formula}"]

    skipped = numerator % s
    if skipped:
        where = "padded input" if top + bottom else "input"
        lines.append(
            f"  the floor drops a remainder of {skipped}: the last "
            f"{_count(skipped, cell)} of the {where} {_is_are(skipped)} never under "
            "a window"
        )
    if s > f:
        lines.append(
            f"  the stride {s} is larger than the window {f}: of every {s} {cell}s, "
            f"{s - f} {_is_are(s - f)} never under a window"
        )
    return lines


def _is_are(number: int) -> str:
    return "is" if number == 1 else "are"


def _count(number: int, noun: str) -> str:
    return noun if number == 1 else f"{number} {noun}s"


def _describe_padding(padding: str | tuple[int, int]) -> str:
    if isinstance(padding, str):
        return f"padding '{padding}'"
    if padding[0] == padding[1]:
        return f"padding {padding[0]} on each side"
    return f"padding {padding[0]} rows and {padding[1]} columns on each side"


def _size_lines(
    input_hw: tuple[int, int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str | tuple[int, int],
) -> tuple[list[str], tuple[int, int]]:
    """Return the working of both axes and the output size ``(H_out, W_out)``."""
    rows, cols = _geometry(input_hw, window, strides, padding)
    mode = padding if isinstance(padding, str) else None
    lines = []
    for axis, geometry in zip(AXES, (rows, cols), strict=True):
        lines.extend(axis_working(axis, geometry, mode))
    return lines, (rows.output, cols.output)


def _indent(lines: list[str], spaces: int) -> list[str]:
    return [" " * spaces + line for line in lines]


def _volume(shape: tuple[int, ...]) -> str:
    size = 1
    for dim in shape:
        size *= dim
    return " x ".join(map(str, shape)) + f" = {size:,}"


# Layers


def conv_parameter_count(
    kernel_size: tuple[int, int], channels: int, filters: int
) -> tuple[str, int]:
    """Return the working and the value of a convolution's parameter count.

    Each filter has ``f_h * f_w * C_in`` weights and one bias.
    """
    f_h, f_w = kernel_size
    count = f_h * f_w * channels * filters + filters
    return f"{f_h}*{f_w}*{channels}*{filters} + {filters} = {count:,}", count


def dense_parameter_count(inputs: int, units: int) -> tuple[str, int]:
    """Return the working and the value of a dense layer's parameter count."""
    count = inputs * units + units
    return f"{inputs:,}*{units:,} + {units:,} = {count:,}", count


def explain_conv(
    input_shape: tuple[int, int, int],
    kernel_size: tuple[int, int],
    strides: tuple[int, int],
    padding: str | tuple[int, int],
    filters: int = 1,
) -> str:
    """Work out a convolution's output size, volume and parameter count.

    Parameters
    ----------
    input_shape : (H, W, C)
        The input volume, batch axis excluded.
    kernel_size : (f_h, f_w)
        Each filter covers ``f_h x f_w`` cells and all ``C`` channels.
    strides : (s_h, s_w)
        Step between window positions.
    padding : {'valid', 'same'} or (p_h, p_w)
        As `shapes.normalize_padding` returns it.
    filters : int, default=1
        Number of filters, the depth of the output.

    Returns
    -------
    str
        Lines of text, ending with the parameter count of a dense layer that joins
        the same input and output sizes.

    Raises
    ------
    ValueError
        If the window does not fit along an axis (the message names the axis).
    """
    h, w, channels = input_shape
    f_h, f_w = kernel_size
    header = (
        f"Conv2D: {filters} filter{'s' if filters > 1 else ''} of "
        f"{f_h}x{f_w}x{channels} on a {h}x{w}x{channels} input, stride "
        f"{strides[0]}x{strides[1]}, {_describe_padding(padding)}"
    )
    size_lines, (h_out, w_out) = _size_lines((h, w), kernel_size, strides, padding)

    inputs = h * w * channels
    outputs = h_out * w_out * filters
    conv_text, conv_count = conv_parameter_count(kernel_size, channels, filters)
    dense_text, dense_count = dense_parameter_count(inputs, outputs)
    lines = [
        header,
        "",
        SIZE_FORMULA,
        *_indent(size_lines, 2),
        "",
        f"Output volume: {_volume((h_out, w_out, filters))} values "
        f"(the input has {_volume((h, w, channels))})",
        f"  each output value is a weighted sum of the {f_h * f_w * channels} input "
        "values under one window position, plus the filter's bias",
        "",
        f"Parameters: {conv_text}",
        f"  each filter has {f_h}*{f_w}*{channels} = {f_h * f_w * channels} weights "
        "and 1 bias, shared by every window position",
        f"A dense layer joining the same {inputs:,} inputs to {outputs:,} outputs: "
        f"{dense_text} parameters, {dense_count / conv_count:,.1f} times as many",
    ]
    return "\n".join(lines)


def explain_pool(
    input_shape: tuple[int, int, int],
    pool_size: tuple[int, int],
    strides: tuple[int, int] | None,
    padding: str,
) -> str:
    """Work out a max-pooling layer's output size.

    Parameters
    ----------
    input_shape : (H, W, C)
        The input volume, batch axis excluded.
    pool_size : (f_h, f_w)
        Window size.
    strides : (s_h, s_w) or None
        Step between windows. None means ``pool_size``, as in Keras.
    padding : {'valid', 'same'}
        Keras's MaxPooling2D accepts no explicit number of padded cells, nor does
        ours.

    Raises
    ------
    ValueError
        If ``padding`` is not a mode name, or the window does not fit.
    """
    if padding not in shapes.PADDING_MODES:
        raise ValueError(
            "Invalid value for --padding. Max-pooling accepts 'valid' or 'same', as "
            f"Keras's MaxPooling2D does. Received {padding!r}."
        )
    strides = pool_size if strides is None else strides
    h, w, channels = input_shape
    header = (
        f"MaxPool2D: {pool_size[0]}x{pool_size[1]} windows on a {h}x{w}x{channels} "
        f"input, stride {strides[0]}x{strides[1]}, padding '{padding}'"
    )
    size_lines, (h_out, w_out) = _size_lines((h, w), pool_size, strides, padding)
    lines = [header, "", SIZE_FORMULA, *_indent(size_lines, 2), ""]
    if padding == "same":
        lines.append(
            "Padded cells never win a window: TensorFlow takes the maximum of the "
            "real cells only."
        )
    lines += [
        f"Output volume: {_volume((h_out, w_out, channels))} values "
        f"(the input has {_volume((h, w, channels))})",
        f"  each channel is pooled on its own, so the depth stays {channels}",
        "",
        "Parameters: 0 (the maximum of a window has nothing to learn)",
    ]
    return "\n".join(lines)


# A whole model


@dataclass(frozen=True)
class LayerShape:
    """One layer's shapes and parameter count, worked out without its weights.

    Attributes
    ----------
    layer : Layer
        The layer, built or not. Only its configuration is read.
    input_shape, output_shape : tuple of int
        Without the batch axis, such as ``(H, W, C)`` or ``(features,)``.
    params : int
        The number of weights and biases the layer has when built.
    """

    layer: object
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int


def layer_shapes(layers, input_shape: tuple[int, ...]) -> list[LayerShape]:
    """Work out every layer's output shape and parameter count for ``input_shape``.

    Each layer's `compute_output_shape` does the size arithmetic, through `shapes`
    for the windowed layers, and nothing is allocated, so this is cheap for any
    input size.

    Parameters
    ----------
    layers : list of Layer
        The model's layers, in order. They need not be built.
    input_shape : tuple of int
        ``(H, W, C)`` of one input image.

    Raises
    ------
    ValueError
        If a window does not fit in its layer's input, or a layer with weights is
        of a kind this module cannot count.
    """
    rows = []
    shape = tuple(int(dim) for dim in input_shape)
    for layer in layers:
        output = tuple(layer.compute_output_shape(shape))
        rows.append(LayerShape(layer, shape, output, _parameter_count(layer, shape)))
        shape = output
    return rows


def _parameter_count(layer, input_shape: tuple[int, ...]) -> int:
    kind = type(layer).__name__
    if kind == "Conv2D":
        return conv_parameter_count(layer.kernel_size, input_shape[2], layer.filters)[1]
    if kind == "Dense":
        return dense_parameter_count(input_shape[0], layer.units)[1]
    if kind in ("MaxPool2D", "Flatten", "Dropout", "ReLU", "Sigmoid"):
        return 0
    raise ValueError(
        f"Cannot count the parameters of a {kind} layer. Known layers: Conv2D, "
        "Dense, Dropout, Flatten, MaxPool2D, ReLU, Sigmoid."
    )


def minimum_image_size(layers, channels: int = 3, limit: int = 4096) -> int:
    """Return the smallest square side, in pixels, that ``layers`` accept.

    Raises
    ------
    ValueError
        If no side up to ``limit`` fits.
    """
    for side in range(1, limit + 1):
        try:
            layer_shapes(layers, (side, side, channels))
        except ValueError:
            continue
        return side
    raise ValueError(f"No input side up to {limit} pixels fits these layers.")


def blog_model_template(dropout: float = 0.25, dropout_after_blocks=None):
    """Return the blog's model with its layers not built, to read its layers from.

    `layer_shapes` then works out any input size from these layers without
    allocating weights.
    """
    from .blog_model import BLOG_MODEL_NAME, blog_model_layers
    from .model import Sequential

    layers = blog_model_layers(dropout, dropout_after_blocks)
    return Sequential(layers, name=BLOG_MODEL_NAME)


def format_summary(name: str, rows: list[LayerShape]) -> str:
    """Return the table that `Sequential.summary` prints, from `layer_shapes` rows."""
    table = [("Layer (type)", "Output Shape", "Param #")]
    for row in rows:
        layer = row.layer
        table.append(
            (
                f"{layer.name} ({type(layer).__name__})",
                _shape_text(row.output_shape),
                f"{row.params:,}",
            )
        )
    widths = [max(len(cells[i]) for cells in table) + 2 for i in range(3)]
    lines = [f'Model: "{name}"', "-" * sum(widths)]
    for index, cells in enumerate(table):
        lines.append("".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
        lines.append("=" * sum(widths) if index == 0 else "-" * sum(widths))
    lines[-1] = "=" * sum(widths)
    lines.append(f"Total params: {sum(row.params for row in rows):,}")
    return "\n".join(lines)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(None, " + ", ".join(map(str, shape)) + ")"


def _conv_working(row: LayerShape) -> list[str]:
    config = row.layer.get_config()
    window = shapes.normalize_pair("kernel_size", config["kernel_size"])
    strides = shapes.normalize_pair("strides", config["strides"])
    padding = shapes.normalize_padding(config["padding"])
    size_lines, _ = _size_lines(row.input_shape[:2], window, strides, padding)
    text, _ = conv_parameter_count(window, row.input_shape[2], config["filters"])
    return [*size_lines, f"params: {text}"]


def _pool_working(row: LayerShape) -> list[str]:
    config = row.layer.get_config()
    window = shapes.normalize_pair("pool_size", config["pool_size"])
    strides = config.get("strides")
    strides = window if strides is None else shapes.normalize_pair("strides", strides)
    padding = shapes.normalize_padding(config["padding"])
    size_lines, _ = _size_lines(row.input_shape[:2], window, strides, padding)
    return [*size_lines, "the depth stays the same: each channel is pooled alone"]


def _flatten_working(row: LayerShape) -> list[str]:
    factors = "*".join(map(str, row.input_shape))
    return [
        f"{factors} = {row.output_shape[0]:,} values in one row, row by row, "
        "then column, then channel"
    ]


def _dense_working(row: LayerShape) -> list[str]:
    text, _ = dense_parameter_count(row.input_shape[0], row.output_shape[0])
    return [f"params: {text}, one weight per input and output pair plus the biases"]


def _dropout_working(row: LayerShape) -> list[str]:
    rate = row.layer.get_config()["rate"]
    return [
        f"training: each value is zeroed with probability {rate} and the others are "
        f"multiplied by 1 / (1 - {rate}). When predicting, values pass unchanged"
    ]


_WORKING = {
    "Conv2D": _conv_working,
    "MaxPool2D": _pool_working,
    "Flatten": _flatten_working,
    "Dense": _dense_working,
    "Dropout": _dropout_working,
    "ReLU": lambda row: ["max(0, x) on each value: shape unchanged"],
    "Sigmoid": lambda row: [
        "1 / (1 + exp(-x)): the probability of class 1, shape unchanged"
    ],
}


def explain_model(model, input_shape: tuple[int, ...] | None = None) -> str:
    """Return a Keras-like layer table with the working under each layer.

    Parameters
    ----------
    model : Sequential
        A model such as `build_blog_model` returns. Only its layers' configurations
        are read, so it need not be built for ``input_shape``.
    input_shape : tuple of int, optional
        ``(H, W, C)`` to explain the model for. Defaults to ``model.input_shape``.

    Returns
    -------
    str
        One row per layer (name, output shape, parameter count, as `summary()`),
        the arithmetic behind the row indented under it, then the total.
    """
    if input_shape is None:
        input_shape = model.input_shape
    layers = layer_shapes(model.layers, input_shape)
    rows = [
        (
            f"{row.layer.name} ({type(row.layer).__name__})",
            _shape_text(row.output_shape),
        )
        for row in layers
    ]
    name_width = max(len("Layer (type)"), *(len(name) for name, _ in rows)) + 2
    shape_width = max(len("Output Shape"), *(len(shape) for _, shape in rows)) + 2
    rule = "-" * (name_width + shape_width + 12)
    lines = [
        f'Model "{model.name}", input {_shape_text(tuple(input_shape))}',
        rule,
        "Layer (type)".ljust(name_width)
        + "Output Shape".ljust(shape_width)
        + "Param #",
        rule,
    ]
    for row, (name, shape) in zip(layers, rows, strict=True):
        lines.append(
            name.ljust(name_width) + shape.ljust(shape_width) + f"{row.params:,}"
        )
        working = _WORKING.get(type(row.layer).__name__)
        if working is not None:
            lines.extend(_indent(working(row), 4))
        lines.append("")
    lines[-1] = rule
    lines.append(f"Total params: {sum(row.params for row in layers):,}")
    return "\n".join(lines)
