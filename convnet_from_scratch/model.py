"""`Sequential`: a stack of layers trained with binary cross-entropy.

Training one batch is three visible steps: forward through every layer, backward
through them in reverse, then one optimizer update. When the last layer is a
`Sigmoid`, the loss and its gradient are computed from the sigmoid's input (the
logits), as Keras does on TensorFlow: the sigmoid's own backward pass is skipped,
because ``d(loss)/d(logits) = (sigmoid(z) - y) / N`` is exact and never overflows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from . import losses
from .layers import Conv2D, Layer, Sigmoid
from .layers.fused import ConvReLUMaxPool
from .optimizers import Optimizer, RMSprop


@dataclass
class History:
    """Per-epoch metrics of `Sequential.fit`, under Keras's keys."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


class _ArrayBatches:
    """One epoch of (x, y) batches from in-memory arrays, reshuffled per epoch."""

    def __init__(self, x, y, batch_size, shuffle, rng):
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = rng

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self):
        order = np.arange(len(self.x))
        if self.shuffle:
            order = self.rng.permutation(len(self.x))
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            yield self.x[chosen], self.y[chosen]


def _as_labels(y: np.ndarray, dtype) -> np.ndarray:
    y = np.asarray(y, dtype=dtype)
    return y.reshape(-1, 1) if y.ndim == 1 else y


def _make_names_unique(layers: list[Layer]) -> None:
    """Rename repeated layer names the way Keras does: conv2d, conv2d_1, conv2d_2."""
    seen: dict[str, int] = {}
    for layer in layers:
        base = layer.name
        if base in seen:
            seen[base] += 1
            layer.name = f"{base}_{seen[base]}"
        else:
            seen[base] = 0


class Sequential:
    """A linear stack of layers for binary classification.

    Parameters
    ----------
    layers : list of Layer
        Applied in order. Images enter as ``(N, H, W, C)`` float32.
    name : str, default="sequential"
    """

    def __init__(self, layers: list[Layer], name: str = "sequential") -> None:
        if not layers:
            raise ValueError(
                "A Sequential model needs at least one layer. Received []."
            )
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(
                    "Invalid layer: expected instances of "
                    f"convnet_from_scratch.layers.Layer. Received {layer!r}."
                )
        self.layers = list(layers)
        _make_names_unique(self.layers)
        self.name = name
        self.input_shape: tuple[int, ...] | None = None
        self.optimizer: Optimizer | None = None
        self.loss = "binary_crossentropy"
        self.class_names: list[str] = []
        self.preprocessing: dict = {}
        self._plan: list | None = None
        self._plan_key: tuple | None = None

    # Building

    def build(self, input_shape: tuple[int, ...], seed: int | None = 0) -> Sequential:
        """Create every layer's parameters for ``input_shape`` (no batch axis).

        The same ``seed`` gives the same initial weights and dropout masks.
        """
        rng = np.random.default_rng(seed)
        shape = tuple(int(d) for d in input_shape)
        self.input_shape = shape
        for layer in self.layers:
            layer.build(shape, rng)
            shape = layer.output_shape
        return self

    def compile(
        self, optimizer: Optimizer | None = None, loss: str = "binary_crossentropy"
    ) -> Sequential:
        """Choose the optimizer (default `RMSprop()`) and the loss."""
        if loss != "binary_crossentropy":
            raise ValueError(
                "Invalid value for argument `loss`. Only 'binary_crossentropy' is "
                f"supported. Received loss={loss!r}."
            )
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(
                "Invalid type for argument `optimizer`. Expected an Optimizer such as "
                f"RMSprop(). Received optimizer={optimizer!r}."
            )
        self.optimizer = optimizer if optimizer is not None else RMSprop()
        self.loss = loss
        return self

    def _require_built(self) -> None:
        if self.input_shape is None:
            raise ValueError(
                f"Model {self.name!r} is not built. Call build(input_shape) first."
            )

    @property
    def _ends_with_sigmoid(self) -> bool:
        return isinstance(self.layers[-1], Sigmoid)

    def set_implementation(self, implementation: str) -> None:
        """Run every layer on the Numba kernels (``'numba'``) or NumPy (``'numpy'``)."""
        for layer in self.layers:
            layer.set_implementation(implementation)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # Weights, in Keras's order: layer by layer, kernel before bias.

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of every parameter array, in Keras's `get_weights` order."""
        self._require_built()
        return [p.copy() for layer in self.layers for p in layer.params.values()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Replace every parameter array, in the order `get_weights` returns them."""
        self._require_built()
        slots = [(layer, key) for layer in self.layers for key in layer.params]
        if len(weights) != len(slots):
            raise ValueError(
                f"Model {self.name!r} expects {len(slots)} weight arrays. "
                f"Received {len(weights)}."
            )
        for (layer, key), new in zip(slots, weights, strict=True):
            old = layer.params[key]
            new = np.asarray(new)
            if new.shape != old.shape:
                raise ValueError(
                    f"Weight {key!r} of layer {layer.name!r} has shape {old.shape}. "
                    f"Received an array of shape {new.shape}."
                )
            old[...] = new

    # Computing

    def _steps(self) -> list:
        """Return the layers, with Conv2D -> ReLU -> MaxPool2D runs fused.

        A fused step replaces three layers that `ConvReLUMaxPool.can_fuse` accepts,
        which needs the Numba kernels. The list is rebuilt when a layer's
        implementation changes, and the last layer always stays a step of its own,
        so `_forward` can return the logits of a final sigmoid.
        """
        key = tuple((id(layer), layer.implementation) for layer in self.layers)
        if self._plan is None or self._plan_key != key:
            steps, index, body = [], 0, self.layers[:-1]
            while index < len(body):
                run = body[index : index + 3]
                if ConvReLUMaxPool.can_fuse(*run):
                    steps.append(ConvReLUMaxPool(*run))
                    index += 3
                else:
                    steps.append(body[index])
                    index += 1
            self._plan, self._plan_key = steps + [self.layers[-1]], key
        return self._plan

    def _forward(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray]:
        """Return the logits (input of a final sigmoid) and the output."""
        self._require_built()
        steps = self._steps()
        logits = x
        for step in steps[:-1]:
            logits = step.forward(logits, training=training)
        return logits, steps[-1].forward(logits, training=training)

    def _backward(self, grad: np.ndarray, start: int) -> None:
        """Send ``grad`` back from below layer ``start`` to the first layer.

        The first step's input gradient is skipped when it is a Conv2D or a fused
        block, because nothing uses the gradient with respect to the images.
        """
        steps = self._steps()
        if start < len(self.layers):
            steps = steps[:-1]
        for position, step in reversed(list(enumerate(steps))):
            if position == 0 and isinstance(step, Conv2D | ConvReLUMaxPool):
                step.backward(grad, input_grad=False)
            else:
                grad = step.backward(grad)

    def _loss_and_gradient(
        self, y: np.ndarray, logits: np.ndarray, output: np.ndarray
    ) -> tuple[float, np.ndarray, int]:
        """Return the loss, its gradient, and how many layers backward starts below."""
        if self._ends_with_sigmoid:
            loss = losses.binary_crossentropy_from_logits(y, logits)
            grad = losses.binary_crossentropy_from_logits_gradient(y, logits)
            return loss, grad, len(self.layers) - 1
        loss = losses.binary_crossentropy(y, output)
        grad = losses.binary_crossentropy_gradient(y, output)
        return loss, grad, len(self.layers)

    def _check_batch(self, x: np.ndarray) -> np.ndarray:
        self._require_built()
        x = np.asarray(x)
        if x.ndim != len(self.input_shape) + 1 or x.shape[1:] != self.input_shape:
            shape = ", ".join(map(str, self.input_shape))
            raise ValueError(
                f"Model {self.name!r} expects inputs of shape (N, {shape}). "
                f"Received an array of shape {x.shape}."
            )
        return x.astype(np.float32, copy=False)

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Run forward, backward and one optimizer step; return (loss, accuracy)."""
        if self.optimizer is None:
            raise ValueError(f"Model {self.name!r} is not compiled. Call compile().")
        x = self._check_batch(x)
        y = _as_labels(y, x.dtype)

        # Forward propagate
        logits, output = self._forward(x, training=True)
        loss, grad, start = self._loss_and_gradient(y, logits, output)

        # Backward propagate
        self._backward(grad, start)

        self.optimizer.apply(self.layers)
        return loss, losses.binary_accuracy(y, output)

    def predict(self, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Return the probability of class 1 for each input, shape (N, 1)."""
        x = self._check_batch(x)
        outputs = [
            self._forward(x[i : i + batch_size], training=False)[1]
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(outputs) if outputs else np.zeros((0, 1), np.float32)

    def _batches(self, x, y, batch_size, shuffle, rng):
        if y is None:
            if not hasattr(x, "__iter__") or not hasattr(x, "__len__"):
                raise TypeError(
                    "Expected `x` to be an array with labels `y`, or an iterable of "
                    f"(x, y) batches with a length. Received x={type(x).__name__}."
                )
            return x
        x = np.asarray(x)
        y = _as_labels(y, np.float32)
        if len(x) != len(y):
            raise ValueError(
                f"`x` and `y` must have the same length. Received {len(x)} inputs and "
                f"{len(y)} labels."
            )
        return _ArrayBatches(x, y, batch_size, shuffle, rng)

    def evaluate(self, x, y=None, batch_size: int = 32) -> dict[str, float]:
        """Return the mean loss and accuracy over all samples, in inference mode."""
        total_loss = total_correct = count = 0.0
        for xb, yb in self._batches(x, y, batch_size, shuffle=False, rng=None):
            xb = self._check_batch(xb)
            yb = _as_labels(yb, xb.dtype)
            logits, output = self._forward(xb, training=False)
            loss, _, _ = self._loss_and_gradient(yb, logits, output)
            total_loss += loss * len(xb)
            total_correct += losses.binary_accuracy(yb, output) * len(xb)
            count += len(xb)
        if count == 0:
            raise ValueError("Cannot evaluate on an empty dataset.")
        return {"loss": total_loss / count, "accuracy": total_correct / count}

    def fit(
        self,
        x,
        y=None,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data=None,
        shuffle: bool = True,
        seed: int | None = None,
        verbose: int = 1,
    ) -> History:
        """Train for ``epochs`` passes over the data and return the `History`.

        Parameters
        ----------
        x : ndarray of shape (N, H, W, C), or an iterable of (x, y) batches
            An iterable (such as `DirectoryIterator`) yields one epoch per `iter()` and
            has a length, the number of batches.
        y : ndarray of shape (N,) or (N, 1), optional
            Labels, when ``x`` is an array.
        validation_data : tuple (x_val, y_val) or an iterable of batches, optional
            Evaluated after every epoch in inference mode.
        shuffle : bool, default=True
            Reshuffle array inputs every epoch (iterables shuffle themselves).
        seed : int, optional
            Seed of the shuffling of array inputs.
        verbose : int, default=1
            1 shows a progress bar per epoch; 0 is silent.

        Training loss and accuracy are means over the epoch's batches weighted by
        batch size, measured while the weights change, as Keras reports them.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(
                "Invalid value for argument `epochs`. Expected a positive int. "
                f"Received epochs={epochs!r}."
            )
        batches = self._batches(x, y, batch_size, shuffle, np.random.default_rng(seed))
        history = History()
        for epoch in range(epochs):
            logs = self._fit_epoch(batches, epoch, epochs, verbose, validation_data)
            history.append(epoch, logs)
            self._check_finite(epoch)
        return history

    def _fit_epoch(self, batches, epoch, epochs, verbose, validation_data) -> dict:
        total_loss = total_correct = count = 0.0
        bar = tqdm(
            total=len(batches),
            desc=f"Epoch {epoch + 1}/{epochs}",
            unit="batch",
            disable=not verbose,
            leave=True,
        )
        with bar:
            for xb, yb in batches:
                loss, accuracy = self.train_on_batch(xb, yb)
                total_loss += loss * len(xb)
                total_correct += accuracy * len(xb)
                count += len(xb)
                logs = {"loss": total_loss / count, "accuracy": total_correct / count}
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
                bar.update()
            if count == 0:
                raise ValueError(
                    "Cannot train on an empty dataset: no batch was drawn."
                )
            if validation_data is not None:
                if isinstance(validation_data, tuple):
                    scores = self.evaluate(*validation_data)
                else:
                    scores = self.evaluate(validation_data)
                logs["val_loss"] = scores["loss"]
                logs["val_accuracy"] = scores["accuracy"]
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
        return logs

    def _check_finite(self, epoch: int) -> None:
        for layer in self.layers:
            for key, value in layer.params.items():
                if not np.all(np.isfinite(value)):
                    raise FloatingPointError(
                        f"Training produced non-finite values in {key!r} of layer "
                        f"{layer.name!r} after epoch {epoch + 1}. Try a smaller "
                        "learning rate, or check the inputs for NaN or inf."
                    )

    # Describing

    def summary(self) -> str:
        """Return a Keras-like table: layer, output shape and parameter count."""
        self._require_built()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self.layers:
            shape = "(None, " + ", ".join(map(str, layer.output_shape)) + ")"
            kind = type(layer).__name__
            rows.append((f"{layer.name} ({kind})", shape, f"{layer.count_params():,}"))
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [f'Model: "{self.name}"', rule]
        for index, row in enumerate(rows):
            cells = zip(row, widths, strict=True)
            lines.append("".join(cell.ljust(width) for cell, width in cells))
            lines.append("=" * sum(widths) if index == 0 else rule)
        lines[-1] = "=" * sum(widths)
        lines.append(f"Total params: {self.count_params():,}")
        return "\n".join(lines)

    def save(self, path) -> None:
        """Write the model to an ``.npz`` file; see `model_file.save_model`."""
        from .model_file import save_model

        save_model(self, path)
