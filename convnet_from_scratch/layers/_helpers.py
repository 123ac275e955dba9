"""Pieces shared by the layer classes: weight initialisation and call-order checks."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from convnet_from_scratch import kernels, reference
from convnet_from_scratch.layers.base import Layer


def glorot_uniform(
    shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw float32 weights uniformly from ``[-limit, limit]``.

    ``limit = sqrt(6 / (fan_in + fan_out))``, Keras's default ``GlorotUniform``. The
    numbers come from ``rng``, so they differ from the weights Keras draws for the
    same seed.
    """
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def kernel_module(layer: Layer) -> ModuleType:
    """Return `kernels` or `reference`, as ``layer.implementation`` selects."""
    return kernels if layer.implementation == "numba" else reference


def require_built(layer: Layer) -> None:
    """Raise RuntimeError if ``layer`` has no parameters yet."""
    if not layer.built:
        raise RuntimeError(
            f"Layer {layer.name!r} is not built. Call build(input_shape, rng) first."
        )


def require_forward(layer: Layer, ran_forward: bool) -> None:
    """Raise RuntimeError if ``backward`` comes before any ``forward``."""
    if not ran_forward:
        raise RuntimeError(
            f"Layer {layer.name!r} has no forward pass to differentiate. Call "
            "forward(x) before backward(grad_output)."
        )
