"""Pieces shared by the layer classes: weight initialisation and call-order checks."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from convnet_from_scratch import kernels, reference
from convnet_from_scratch.layers.base import Layer
from convnet_from_scratch.shapes import conv_output_shape


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


def window_geometry(
    layer: Layer,
    input_shape: tuple[int, ...],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str | tuple[int, int],
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Return ``((H_out, W_out), (top, bottom, left, right))`` of a 2-D window.

    ``input_shape`` is ``(H, W, C)``; any other length raises ValueError.
    """
    if len(input_shape) != 3:
        raise ValueError(
            f"{type(layer).__name__} expects inputs of shape (N, H, W, C), so "
            f"input_shape must be (H, W, C). Received input_shape={tuple(input_shape)}."
        )
    rows, cols = conv_output_shape(input_shape[:2], window, strides, padding)
    pads = (rows.pad_before, rows.pad_after, cols.pad_before, cols.pad_after)
    return (rows.output, cols.output), pads


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
            "forward(x, training=True) before backward(grad_output)."
        )
