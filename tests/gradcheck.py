"""Central-difference gradient checks for layers, in float64.

A layer's output is reduced to a scalar through a random upstream gradient ``u``,
``L = sum(forward(x) * u)``, so that ``backward(u)`` must return ``dL/dx`` and fill
``grads`` with ``dL/dparam``. Each derivative is estimated as
``(L(v + eps) - L(v - eps)) / (2 * eps)``, one element at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convnet_from_scratch.layers import Layer

EPSILON = 1e-6


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Return ``|a - n| / (|a| + |n|)`` in the Euclidean norm, 0.0 when both are 0.

    Whole-array norms keep elements whose gradient is almost zero from inflating
    the error, as element-wise ratios would.
    """
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(
    loss: Callable[[], float], array: np.ndarray, eps: float = EPSILON
) -> np.ndarray:
    """Estimate ``d loss / d array`` by perturbing ``array`` in place.

    ``loss`` must read ``array`` afresh on every call. Each element is restored
    after its two evaluations.
    """
    flat = array.reshape(-1)
    if not np.shares_memory(flat, array):
        raise ValueError("Expected a contiguous array that can be perturbed in place.")
    gradient = np.zeros(flat.size, dtype=np.float64)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + eps
        loss_plus = loss()
        flat[index] = original - eps
        loss_minus = loss()
        flat[index] = original
        gradient[index] = (loss_plus - loss_minus) / (2 * eps)
    return gradient.reshape(array.shape)


def layer_gradient_errors(
    layer: Layer,
    x: np.ndarray,
    rng: np.random.Generator,
    training: bool = False,
    before_forward: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Compare a layer's backward pass with central differences.

    Parameters
    ----------
    layer : Layer
        A built layer. Its parameters are converted to float64 in place.
    x : ndarray
        Input batch; it is converted to float64.
    rng : numpy.random.Generator
        Source of the upstream gradient.
    training : bool, default=False
        Passed to every `forward` call.
    before_forward : callable, optional
        Called before every `forward`, for instance to reseed a dropout layer so
        that each evaluation draws the same mask.

    Returns
    -------
    dict of str to float
        Relative error of the input gradient under ``'input'`` and of each
        parameter gradient under its name in ``layer.params``.
    """
    x = np.array(x, dtype=np.float64)
    for name in layer.params:
        layer.params[name] = np.array(layer.params[name], dtype=np.float64)

    def forward() -> np.ndarray:
        if before_forward is not None:
            before_forward()
        return layer.forward(x, training=training)

    upstream = rng.standard_normal(forward().shape)

    def loss() -> float:
        return float(np.sum(forward() * upstream))

    # This forward pass is the one whose cache backward uses.
    forward()
    analytic = {"input": layer.backward(upstream)}
    if set(layer.grads) != set(layer.params):
        raise AssertionError(
            f"Layer {layer.name!r} filled grads with {sorted(layer.grads)} but its "
            f"params are {sorted(layer.params)}."
        )
    analytic.update({name: grad.copy() for name, grad in layer.grads.items()})

    errors = {"input": relative_error(analytic["input"], numerical_gradient(loss, x))}
    for name, value in layer.params.items():
        numeric = numerical_gradient(loss, value)
        errors[name] = relative_error(analytic[name], numeric)
    return errors
