"""The 2-D max-pooling layer."""

from __future__ import annotations

import numpy as np

from convnet_from_scratch.layers._helpers import (
    kernel_module,
    require_built,
    require_forward,
    window_geometry,
)
from convnet_from_scratch.layers.base import Layer
from convnet_from_scratch.shapes import PADDING_MODES, normalize_pair


class MaxPool2D(Layer):
    """2-D max-pooling of channels-last images, channel by channel.

    Parameters
    ----------
    pool_size : int or (int, int), default=2
        Window height and width ``(f_h, f_w)``; one int is used for both.
    strides : int or (int, int), optional
        Step ``(s_h, s_w)`` between windows. Defaults to ``pool_size``, as in Keras,
        so the windows tile the input without overlapping.
    padding : {'valid', 'same'}, default='valid'
        ``'valid'`` keeps only windows that fit inside the input. ``'same'`` gives
        ``ceil(n / s)`` windows per axis, with TensorFlow's rule: when the padding
        is odd, the extra row or column goes at the bottom or right. Padded cells
        never win a window.
    name : str, optional
        Layer name, by default ``'max_pooling2d'`` (Keras's name for this layer).

    Notes
    -----
    Input shape ``(N, H, W, C)``; output shape ``(N, H_out, W_out, C)``. With
    ``'valid'`` each axis has ``1 + floor((n - f) / s)`` windows, so when the stride
    does not divide ``n - f`` the last rows or columns of the input are dropped.

    Backward sends each window's gradient to one input element: the window's
    maximum. When several elements tie for the maximum, the first in row-major
    order (top row first, then left to right) gets it. This is what TensorFlow
    2.21's CPU ``MaxPoolGrad`` does. We checked it with ``tf.GradientTape`` over
    ``tf.nn.max_pool2d`` on all-equal inputs, on overlapping windows with stride 1,
    and on 300 random integer-valued inputs in float32 and float64, with 'valid'
    and 'same' padding. An element that wins several overlapping windows receives
    the sum of their gradients.

    NOTE: windows holding NaN are not matched to TensorFlow, whose forward pass and
    ``MaxPoolGrad`` treat NaN differently from each other.

    Differences from Keras: no ``data_format`` argument, and explicit integer
    padding is rejected, as Keras does.
    """

    def __init__(
        self,
        pool_size: int | tuple[int, int] = 2,
        strides: int | tuple[int, int] | None = None,
        padding: str = "valid",
        name: str | None = None,
    ) -> None:
        super().__init__(name or "max_pooling2d")
        self.pool_size = normalize_pair("pool_size", pool_size)
        self.strides = (
            self.pool_size if strides is None else normalize_pair("strides", strides)
        )
        if not isinstance(padding, str):
            raise TypeError(
                "Invalid type for argument `padding`. Expected 'valid' or 'same'. "
                f"Received padding={padding!r} of type {type(padding).__name__}."
            )
        if padding.lower() not in PADDING_MODES:
            raise ValueError(
                "Invalid value for argument `padding`. Expected 'valid' or 'same'. "
                f"Received padding={padding!r}."
            )
        self.padding = padding.lower()
        self.pads: tuple[int, int, int, int] | None = None
        self._cache: tuple[np.ndarray, tuple[int, ...]] | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        (h_out, w_out), _ = window_geometry(
            self, input_shape, self.pool_size, self.strides, self.padding
        )
        return (h_out, w_out, input_shape[2])

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        _, self.pads = window_geometry(
            self, self.input_shape, self.pool_size, self.strides, self.padding
        )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Pool a batch ``x`` of shape ``(N, H, W, C)`` to ``(N, H_out, W_out, C)``.

        Keeps the position of each window's maximum for `backward`.
        """
        require_built(self)
        self._check_input(x)
        out, argmax = kernel_module(self).max_pool2d_forward(
            x, self.pool_size, self.strides, self.pads
        )
        self._cache = (argmax, x.shape)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return the input gradient, non-zero only at each window's maximum."""
        require_forward(self, self._cache is not None)
        argmax, input_shape = self._cache
        return kernel_module(self).max_pool2d_backward(grad_output, argmax, input_shape)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }
