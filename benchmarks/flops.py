"""Floating-point work of the blog's model, and the machine's matrix-product rate."""

from __future__ import annotations

import time

import numpy as np

from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.layers import Conv2D, Dense


def forward_flops(image_size: int) -> int:
    """Return the floating-point operations of one image's forward pass.

    Counts a multiply and an add for every term of the convolutions and dense
    layers: ``2 * f_h * f_w * C_in`` per conv output value and ``2 * in`` per dense
    output. That is nearly all the work, so ReLU, pooling, dropout and the sigmoid
    are left out.
    """
    model = build_blog_model(image_size)
    total = 0
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            f_h, f_w = layer.kernel_size
            h_out, w_out, c_out = layer.output_shape
            total += 2 * f_h * f_w * layer.input_shape[2] * h_out * w_out * c_out
        elif isinstance(layer, Dense):
            total += 2 * layer.input_shape[0] * layer.units
    return total


def training_flops(image_size: int) -> int:
    """Return the floating-point operations of one training image, by convention.

    Backward costs two forward passes (one product for the input gradient, one for
    the weight gradient), so training counts ``3 * forward_flops``, the usual
    convention. The libraries may do less: ours skips the first layer's input
    gradient and the products that pooling and ReLU make zero.
    """
    return 3 * forward_flops(image_size)


def matmul_gflops(size: int = 2048, repeats: int = 7) -> float:
    """Return the median float32 rate of NumPy's ``size x size`` matrix product.

    The product runs on NumPy's BLAS with whatever thread count the process has
    (``OPENBLAS_NUM_THREADS``); one warm-up product comes first.
    """
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        seconds.append(time.perf_counter() - start)
    return 2 * size**3 / float(np.median(seconds)) / 1e9
