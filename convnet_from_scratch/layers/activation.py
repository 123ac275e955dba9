"""Element-wise activation layers."""

from __future__ import annotations

import numpy as np

from convnet_from_scratch.activations import sigmoid
from convnet_from_scratch.layers._helpers import require_forward
from convnet_from_scratch.layers.base import Layer


class ReLU(Layer):
    """Rectified linear unit, ``max(x, 0)`` element-wise.

    Input and output shape ``(N, ...)``, any shape. The gradient is 1 where
    ``x > 0`` and 0 elsewhere, including at ``x == 0``, as in TensorFlow.

    Differences from Keras: no ``max_value``, ``negative_slope`` or ``threshold``
    arguments. The default name is Keras's, ``'re_lu'``.
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name or "re_lu")
        self._positive: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``max(x, 0)`` and remember where ``x`` was positive."""
        self._check_input(x)
        self._positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Pass the gradient through where the input was positive."""
        require_forward(self, self._positive is not None)
        return grad_output * self._positive


class Sigmoid(Layer):
    """Logistic sigmoid, ``1 / (1 + exp(-x))`` element-wise.

    Input and output shape ``(N, ...)``, any shape. Computed by
    `convnet_from_scratch.activations.sigmoid`, which stays finite and raises no
    floating-point warning for logits as large as +-1000. The gradient
    ``y * (1 - y)`` reuses the output ``y`` of the last forward pass.

    Differences from Keras: Keras has no ``Sigmoid`` layer; this one matches
    ``Activation('sigmoid')``.
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name or "sigmoid")
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return ``sigmoid(x)`` and keep it for `backward`."""
        self._check_input(x)
        self._y = sigmoid(x)
        return self._y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return ``grad_output * y * (1 - y)``."""
        require_forward(self, self._y is not None)
        y = self._y
        return grad_output * y * (1 - y)
