"""The contract every layer follows.

A layer is built once for an input shape, then alternates `forward` and `backward`.
`forward` caches what `backward` needs. `backward` returns the gradient with respect to
the layer's input, and it stores the gradients of its parameters in `grads` under the
same names as in `params`. Layers never change their own parameters: an optimizer does.

Shapes exclude the batch axis, as in Keras's `input_shape`: an image batch is
``(N, H, W, C)`` and the layer sees ``input_shape == (H, W, C)``.
"""

from __future__ import annotations

import numpy as np

IMPLEMENTATIONS = ("numba", "numpy")


class Layer:
    """Base class: no parameters, identity shape, explicit build step."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__.lower()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.implementation = "numba"

    # Building

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> None:
        """Create parameters for ``input_shape`` (batch axis excluded)."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return the output shape for ``input_shape``, both without the batch axis."""
        return tuple(input_shape)

    @property
    def built(self) -> bool:
        return self.output_shape is not None

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def set_implementation(self, implementation: str) -> None:
        """Select the Numba kernels (``'numba'``) or NumPy reference (``'numpy'``)."""
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                "Invalid value for argument `implementation`. Expected one of "
                f"{IMPLEMENTATIONS}. Received implementation={implementation!r}."
            )
        self.implementation = implementation

    # Computing

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # Saving

    def get_config(self) -> dict:
        """Return the constructor arguments as JSON-compatible values."""
        return {"name": self.name}

    def _check_input(self, x: np.ndarray) -> None:
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"Layer {self.name!r} was built for inputs of shape "
                f"(N, {', '.join(map(str, self.input_shape))}) but received an array "
                f"of shape {tuple(x.shape)}."
            )
