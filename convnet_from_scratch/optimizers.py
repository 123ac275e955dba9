"""Optimizers: they own their state and update layer parameters in place.

A layer's `backward` only stores gradients; `Optimizer.apply` then moves every
parameter. Keeping the two apart lets a gradient be checked before anything changes,
and lets one optimizer be swapped for another.
"""

from __future__ import annotations

import numpy as np

from convnet_from_scratch import kernels


def _check_float(name: str, value: object, low: float, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"Invalid type for argument `{name}`. Expected a float. "
            f"Received {name}={value!r}."
        )
    value = float(value)
    too_high = high is not None and value >= high
    if not np.isfinite(value) or value < low or too_high:
        upper = "" if high is None else f" and below {high}"
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a number >= {low}{upper}. "
            f"Received {name}={value}."
        )
    return value


# Smaller arrays are updated by NumPy, which gives bitwise the same result. Each
# parallel kernel call waits for every Numba thread, and on a busy machine that wait
# made the 8 updates of the blog's model take 1.4 to 60 ms a step, most of it for
# biases and small conv kernels.
_KERNEL_MIN_SIZE = 65536


class Optimizer:
    """Base class: `apply` walks the parameters that have gradients, in layer order."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = _check_float("learning_rate", learning_rate, 0.0, None)
        self.iterations = 0

    def apply(self, layers: list) -> None:
        """Update every ``layer.params[key]`` in place from ``layer.grads[key]``.

        A layer whose ``implementation`` is ``'numba'`` is updated by a compiled
        kernel where the optimizer has one, and otherwise by the NumPy code.
        """
        for layer_index, layer in enumerate(layers):
            compiled = layer.implementation == "numba"
            for key, value in layer.params.items():
                self._update((layer_index, key), value, layer.grads[key], compiled)
        self.iterations += 1

    def _update(
        self, slot: tuple, value: np.ndarray, grad: np.ndarray, compiled: bool
    ) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum as in Keras.

    Without momentum, ``var -= lr * grad``. With momentum ``m``, a velocity ``v`` starts
    at zero and ``v = m * v - lr * grad; var += v``.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0) -> None:
        super().__init__(learning_rate)
        self.momentum = _check_float("momentum", momentum, 0.0, 1.0)
        self.velocities: dict[tuple, np.ndarray] = {}

    def _update(
        self, slot: tuple, value: np.ndarray, grad: np.ndarray, compiled: bool
    ) -> None:
        if self.momentum == 0.0:
            value -= self.learning_rate * grad
            return
        velocity = self.velocities.setdefault(slot, np.zeros_like(value))
        velocity *= self.momentum
        velocity -= self.learning_rate * grad
        value += velocity

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate, "momentum": self.momentum}


class RMSprop(Optimizer):
    """RMSprop with Keras 3's formula (not centred, no momentum).

    For each parameter a running mean of squared gradients ``v`` starts at zero::

        v = rho * v + (1 - rho) * grad**2
        var -= lr * grad / sqrt(v + epsilon)

    Keras 3 puts ``epsilon`` inside the square root; Keras 2 and PyTorch add it outside,
    which changes the first steps when gradients are small.

    Parameters
    ----------
    learning_rate : float, default=1e-3
    rho : float, default=0.9
        Decay of the running mean, in [0, 1).
    epsilon : float, default=1e-7
    """

    def __init__(
        self, learning_rate: float = 1e-3, rho: float = 0.9, epsilon: float = 1e-7
    ) -> None:
        super().__init__(learning_rate)
        self.rho = _check_float("rho", rho, 0.0, 1.0)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, None)
        self.velocities: dict[tuple, np.ndarray] = {}

    def _update(
        self, slot: tuple, value: np.ndarray, grad: np.ndarray, compiled: bool
    ) -> None:
        velocity = self.velocities.setdefault(slot, np.zeros_like(value))
        if compiled and value.size >= _KERNEL_MIN_SIZE:
            # One pass over the arrays and no temporaries. For 1.2 million weights,
            # about the blog's dense layer at 75x75, the NumPy lines below took 4.5
            # ms a step and the kernel 0.3 ms (medians, 2 threads, AVX2 EPYC).
            kernels.rmsprop_update(
                value, grad, velocity, self.learning_rate, self.rho, self.epsilon
            )
            return
        velocity *= self.rho
        velocity += (1.0 - self.rho) * np.square(grad)
        value -= self.learning_rate * grad / np.sqrt(velocity + self.epsilon)

    def get_config(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "rho": self.rho,
            "epsilon": self.epsilon,
        }


OPTIMIZERS = {"RMSprop": RMSprop, "SGD": SGD}
