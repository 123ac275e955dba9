"""Fully connected, flattening and dropout layers."""

from __future__ import annotations

import math
import numbers

import numpy as np

from convnet_from_scratch.layers._helpers import (
    glorot_uniform,
    require_built,
    require_forward,
)
from convnet_from_scratch.layers.base import Layer
from convnet_from_scratch.shapes import _check_positive_int


class Dense(Layer):
    """Fully connected layer: ``out = x @ kernel + bias``.

    Parameters
    ----------
    units : int
        Number of output features.
    name : str, optional
        Layer name, by default ``'dense'``.

    Notes
    -----
    Input shape ``(N, in_features)``; output shape ``(N, units)``. The kernel
    ``(in_features, units)`` is Glorot-uniform and the bias is zero, as in Keras, but
    drawn from NumPy's generator.

    Differences from Keras: the input must be 2-D (put a `Flatten` before it),
    whereas Keras applies the kernel to the last axis of any input. There are no
    ``activation``, ``use_bias``, initializer or regularizer arguments.
    """

    def __init__(self, units: int, name: str | None = None) -> None:
        super().__init__(name or "dense")
        self.units = _check_positive_int("units", units)
        self._x: np.ndarray | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 1:
            raise ValueError(
                "Dense expects inputs of shape (N, features), so input_shape must be "
                "(features,); put a Flatten layer before it. Received "
                f"input_shape={tuple(input_shape)}."
            )
        return (self.units,)

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        fan_in = self.input_shape[0]
        self.params = {
            "kernel": glorot_uniform((fan_in, self.units), fan_in, self.units, rng),
            "bias": np.zeros(self.units, dtype=np.float32),
        }
        self.grads = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Map ``x`` of shape ``(N, in_features)`` to ``(N, units)``."""
        require_built(self)
        self._check_input(x)
        self._x = x
        return x @ self.params["kernel"] + self.params["bias"]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return the input gradient and store the kernel and bias gradients."""
        require_forward(self, self._x is not None)
        kernel = self.params["kernel"]
        bias_dtype = self.params["bias"].dtype
        self.grads = {
            "kernel": (self._x.T @ grad_output).astype(kernel.dtype, copy=False),
            "bias": grad_output.sum(axis=0).astype(bias_dtype, copy=False),
        }
        return grad_output @ kernel.T

    def get_config(self) -> dict:
        return {"name": self.name, "units": self.units}


class Flatten(Layer):
    """Flatten each sample to one axis, in row-major order over ``(H, W, C)``.

    This is the order of Keras's ``Flatten`` with ``channels_last``, so a Dense
    kernel can be copied between the two libraries unchanged.

    Input shape ``(N, d_1, ..., d_k)``; output shape ``(N, d_1 * ... * d_k)``.
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name or "flatten")
        self._input_shape: tuple[int, ...] | None = None

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Reshape ``x`` of shape ``(N, ...)`` to ``(N, features)``."""
        self._check_input(x)
        self._input_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Reshape the gradient back to the input's shape."""
        require_forward(self, self._input_shape is not None)
        return grad_output.reshape(self._input_shape)


class Dropout(Layer):
    """Inverted dropout: zero random inputs while training, scale the rest.

    In training each element is kept with probability ``1 - rate`` and multiplied
    by ``1 / (1 - rate)``, so the expected value of each output equals its input.
    At inference (``training=False``) the input is returned unchanged.

    Parameters
    ----------
    rate : float
        Fraction of the inputs to drop, in ``[0, 1)``.
    seed : int, optional
        Seed of the layer's own generator, ``np.random.default_rng(seed)``. Without
        it the layer draws its masks from the generator passed to `build`.
    name : str, optional
        Layer name, by default ``'dropout'``.

    Notes
    -----
    Input and output shape ``(N, ...)``, any shape. `backward` multiplies by the
    mask of the last training `forward`, so the two must alternate.

    Differences from Keras: no ``noise_shape`` argument, and the masks come from
    NumPy's generator, so they differ from Keras's for the same seed.
    """

    def __init__(
        self, rate: float, seed: int | None = None, name: str | None = None
    ) -> None:
        super().__init__(name or "dropout")
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise TypeError(
                "Invalid type for argument `rate`. Expected a float in [0, 1). "
                f"Received rate={rate!r} of type {type(rate).__name__}."
            )
        if not 0 <= rate < 1:
            raise ValueError(
                "Invalid value for argument `rate`. Expected a float in [0, 1). "
                f"Received rate={rate!r}."
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(
                "Invalid type for argument `seed`. Expected an int or None. "
                f"Received seed={seed!r} of type {type(seed).__name__}."
            )
        self.rate = float(rate)
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._ran_forward = False
        # None after an inference pass or at rate 0, where backward is the identity.
        self._mask: np.ndarray | None = None

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        self._rng = rng if self.seed is None else np.random.default_rng(self.seed)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Drop and scale inputs when ``training``; otherwise return ``x`` itself."""
        self._check_input(x)
        self._ran_forward = True
        if not training or self.rate == 0:
            # Keras also skips drawing a mask at rate 0.
            self._mask = None
            return x
        require_built(self)
        keep = self._rng.random(x.shape) >= self.rate
        scale = x.dtype.type(1 / (1 - self.rate))
        self._mask = keep.astype(x.dtype) * scale
        return x * self._mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Multiply the gradient by the mask of the last forward pass."""
        require_forward(self, self._ran_forward)
        if self._mask is None:
            return grad_output
        return grad_output * self._mask

    def get_config(self) -> dict:
        return {"name": self.name, "rate": self.rate, "seed": self.seed}
