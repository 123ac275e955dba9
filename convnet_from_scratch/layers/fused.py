"""Conv2D, ReLU and MaxPool2D run as one block, for `Sequential`'s training loop.

The three layers stay ordinary layers: their parameters, configs and their own
`forward` and `backward` do not change. `ConvReLUMaxPool` only drives them through
the fused Numba kernels, which never store the convolution and ReLU outputs and
send gradients only through each pooling window's winner (see `kernels.py`).
"""

from __future__ import annotations

import numpy as np

from convnet_from_scratch import kernels
from convnet_from_scratch.layers._helpers import require_forward
from convnet_from_scratch.layers.activation import ReLU
from convnet_from_scratch.layers.base import Layer
from convnet_from_scratch.layers.conv import Conv2D
from convnet_from_scratch.layers.pooling import MaxPool2D


class ConvReLUMaxPool:
    """A built Conv2D -> ReLU -> MaxPool2D stack computed in one pass.

    Use `can_fuse` first. The result equals running the three layers one after
    another, up to float rounding, and ``conv.grads`` is set by `backward` as
    ``conv.backward`` would set it.

    Parameters
    ----------
    conv : Conv2D
    relu : ReLU
    pool : MaxPool2D
        Consecutive layers of one model, all built, all on the Numba kernels.
    """

    def __init__(self, conv: Conv2D, relu: ReLU, pool: MaxPool2D) -> None:
        if not self.can_fuse(conv, relu, pool):
            raise ValueError(
                "Expected a built Conv2D, ReLU and MaxPool2D on the Numba kernels, "
                "with non-overlapping 'valid' pooling. Received "
                f"{[type(layer).__name__ for layer in (conv, relu, pool)]}."
            )
        self.conv, self.relu, self.pool = conv, relu, pool
        self.layers = (conv, relu, pool)
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def can_fuse(*layers: Layer) -> bool:
        """Return whether ``layers`` are a Conv2D, ReLU and MaxPool2D this block runs.

        The pooling must be 'valid' with strides equal to its window, the blog's
        ``MaxPool2D(2)``, and every layer must be built and use the Numba kernels.
        """
        if len(layers) != 3:
            return False
        conv, relu, pool = layers
        return (
            isinstance(conv, Conv2D)
            and type(relu) is ReLU
            and isinstance(pool, MaxPool2D)
            and pool.padding == "valid"
            and pool.strides == pool.pool_size
            and all(layer.built for layer in layers)
            and all(layer.implementation == "numba" for layer in layers)
        )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Map ``x`` of shape ``(N, H, W, C_in)`` to the pooled ``(N, H_p, W_p, C)``."""
        self.conv._check_input(x)
        conv = self.conv
        out, argmax = kernels.conv2d_relu_max_pool2d_forward(
            x,
            conv.params["kernel"],
            conv.params["bias"],
            conv.strides,
            conv.pads,
            self.pool.pool_size,
            return_argmax=training,
        )
        # The layers' own caches would now describe an older batch; clearing them
        # makes a stray call to their backward raise instead of using stale data.
        conv._x = None
        self.relu._positive = None
        self.pool._cache = None
        # Inference keeps nothing for backward: argmax alone is as large as out.
        self._cache = (x, out, argmax) if training else None
        return out

    def backward(
        self, grad_output: np.ndarray, input_grad: bool = True
    ) -> np.ndarray | None:
        """Return the gradient with respect to the block's input and set
        ``conv.grads``; with ``input_grad=False`` skip the former and return None."""
        require_forward(self.conv, self._cache is not None)
        x, out, argmax = self._cache
        conv = self.conv
        kernel = conv.params["kernel"]
        dx, dkernel, dbias = kernels.conv2d_relu_max_pool2d_backward(
            grad_output,
            out,
            argmax,
            x,
            kernel,
            conv.strides,
            conv.pads,
            self.pool.pool_size,
            input_grad=input_grad,
        )
        conv.grads = {
            "kernel": dkernel.astype(kernel.dtype, copy=False),
            "bias": dbias.astype(conv.params["bias"].dtype, copy=False),
        }
        return dx
