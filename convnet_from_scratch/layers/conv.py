"""The 2-D convolution layer."""

from __future__ import annotations

import numpy as np

from convnet_from_scratch import kernels, reference
from convnet_from_scratch.layers._helpers import (
    glorot_uniform,
    kernel_module,
    require_built,
    require_forward,
    window_geometry,
)
from convnet_from_scratch.layers.base import Layer
from convnet_from_scratch.shapes import (
    _check_positive_int,
    normalize_padding,
    normalize_pair,
)


class Conv2D(Layer):
    """2-D convolution (cross-correlation) of channels-last images.

    Each of the ``filters`` kernels slides over the zero-padded input with step
    ``strides`` and produces one output channel:
    ``out[n, i, j, k] = bias[k] + sum of xp[n, i*s_h + a, j*s_w + b, c] *
    kernel[a, b, c, k]`` over the window offsets ``a, b`` and input channels ``c``.

    Parameters
    ----------
    filters : int
        Number of kernels, the number of output channels.
    kernel_size : int or (int, int)
        Kernel height and width ``(f_h, f_w)``; one int is used for both.
    strides : int or (int, int), default=1
        Step ``(s_h, s_w)`` between window positions.
    padding : {'valid', 'same'}, int or (int, int), default='valid'
        ``'valid'`` adds no padding. ``'same'`` follows TensorFlow: the output has
        ``ceil(n / s)`` positions, and when the total padding is odd the extra row
        or column goes at the bottom or right. An int ``p`` or a pair ``(p_h, p_w)``
        adds that many zero rows and columns on both sides.
    name : str, optional
        Layer name, by default ``'conv2d'``.

    Notes
    -----
    Input shape ``(N, H, W, C_in)``; output shape ``(N, H_out, W_out, filters)``.
    With integer padding ``p`` (``'valid'`` is ``p = 0``) each axis has
    ``1 + floor((n + 2p - f) / s)`` positions, so when the stride does not divide
    ``n + 2p - f`` the last rows or columns of the input are never read, and their
    gradient is zero.

    The kernel ``(f_h, f_w, C_in, filters)`` is Glorot-uniform and the bias is zero,
    as in Keras, but drawn from NumPy's generator, so the numbers differ from
    Keras's for the same seed.

    Differences from Keras: integer padding is accepted (Keras needs a
    ``ZeroPadding2D`` layer before a ``'valid'`` convolution), and there are no
    ``activation``, ``dilation_rate``, ``groups``, ``use_bias``, ``data_format``,
    initializer or regularizer arguments.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = "valid",
        name: str | None = None,
    ) -> None:
        super().__init__(name or "conv2d")
        self.filters = _check_positive_int("filters", filters)
        self.kernel_size = normalize_pair("kernel_size", kernel_size)
        self.strides = normalize_pair("strides", strides)
        self.padding = normalize_padding(padding)
        self.pads: tuple[int, int, int, int] | None = None
        self._x: np.ndarray | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        (h_out, w_out), _ = window_geometry(
            self, input_shape, self.kernel_size, self.strides, self.padding
        )
        return (h_out, w_out, self.filters)

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        _, self.pads = window_geometry(
            self, self.input_shape, self.kernel_size, self.strides, self.padding
        )

        f_h, f_w = self.kernel_size
        c_in = self.input_shape[2]
        shape = (f_h, f_w, c_in, self.filters)
        self.params = {
            "kernel": glorot_uniform(
                shape, f_h * f_w * c_in, f_h * f_w * self.filters, rng
            ),
            "bias": np.zeros(self.filters, dtype=np.float32),
        }
        self.grads = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Convolve a batch ``x`` of shape ``(N, H, W, C_in)``.

        Returns an array of shape ``(N, H_out, W_out, filters)`` in the dtype of
        ``x``, and keeps ``x`` for `backward`.
        """
        require_built(self)
        self._check_input(x)
        self._x = x
        return kernel_module(self).conv2d_forward(
            x, self.params["kernel"], self.params["bias"], self.strides, self.pads
        )

    def backward(
        self, grad_output: np.ndarray, input_grad: bool = True
    ) -> np.ndarray | None:
        """Return the input gradient and store the kernel and bias gradients.

        With ``input_grad=False`` the input gradient is skipped and None is
        returned, which saves its cost in a network's first layer. The NumPy
        reference always computes it and the result is dropped.
        """
        require_forward(self, self._x is not None)
        kernel = self.params["kernel"]
        args = (grad_output, self._x, kernel, self.strides, self.pads)
        if self.implementation == "numba":
            dx, dkernel, dbias = kernels.conv2d_backward(*args, input_grad=input_grad)
        else:
            dx, dkernel, dbias = reference.conv2d_backward(*args)
        self.grads = {
            "kernel": dkernel.astype(kernel.dtype, copy=False),
            "bias": dbias.astype(self.params["bias"].dtype, copy=False),
        }
        return dx if input_grad else None

    def get_config(self) -> dict:
        padding = self.padding
        return {
            "name": self.name,
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": padding if isinstance(padding, str) else list(padding),
        }
