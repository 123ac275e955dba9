"""The engines the runner compares, each behind the same small interface.

An engine builds the blog's model for one image size and times training steps,
inference passes, whole epochs from a folder of photos and the data pipeline
alone. Each is imported only inside the worker process that runs it, so TensorFlow
and PyTorch never share a process with the hand-written library.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

# Fewest timed steps or passes, even when they take longer than the time budget.
MIN_TIMED = 3


@dataclass
class Timings:
    """Wall-clock seconds of one measurement.

    ``first`` is the first step, epoch or pass, which includes compiling, tracing
    or filling caches; ``steady`` are the ones after it.
    """

    first: float
    steady: list[float] = field(default_factory=list)


def _keep_timing(steady: list[float], min_seconds: float, max_count: int) -> bool:
    if len(steady) >= max_count:
        return False
    return len(steady) < MIN_TIMED or sum(steady) < min_seconds


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> list:
    return [
        (x[start : start + batch_size], y[start : start + batch_size])
        for start in range(0, len(x), batch_size)
    ]


class OursEngine:
    """The hand-written library on its Numba kernels or its NumPy reference."""

    def __init__(self, implementation: str) -> None:
        self.implementation = implementation

    def build(self, image_size: int):
        from convnet_from_scratch.blog_model import build_blog_model

        model = build_blog_model(image_size, seed=0)
        model.set_implementation(self.implementation)
        return model

    def train(self, model, x, y, batch_size, min_seconds, max_steps) -> Timings:
        batches = _batches(x, y, batch_size)
        start = time.perf_counter()
        model.train_on_batch(*batches[0])
        timings = Timings(time.perf_counter() - start)
        while _keep_timing(timings.steady, min_seconds, max_steps):
            xb, yb = batches[(len(timings.steady) + 1) % len(batches)]
            start = time.perf_counter()
            model.train_on_batch(xb, yb)
            timings.steady.append(time.perf_counter() - start)
        return timings

    def predict(self, model, x, batch_size, min_seconds, max_passes) -> Timings:
        start = time.perf_counter()
        model.predict(x, batch_size=batch_size)
        timings = Timings(time.perf_counter() - start)
        while _keep_timing(timings.steady, min_seconds, max_passes):
            start = time.perf_counter()
            model.predict(x, batch_size=batch_size)
            timings.steady.append(time.perf_counter() - start)
        return timings

    def _iterator(self, directory, image_size, batch_size, cache):
        from convnet_from_scratch.blog_model import BLOG_AUGMENTATION, BLOG_RESCALE
        from convnet_from_scratch.data import DirectoryIterator, ImageAugmenter

        augmenter = ImageAugmenter(**BLOG_AUGMENTATION, rescale=BLOG_RESCALE)
        return DirectoryIterator(
            directory,
            target_size=(image_size, image_size),
            batch_size=batch_size,
            shuffle=True,
            seed=0,
            augmenter=augmenter,
            cache=cache,
        )

    def pipeline(self, directory, image_size, batch_size, epochs, cache):
        """Time epochs of decoding, resizing and augmenting, with no model.

        The first epoch includes building the iterator, which decodes every photo
        when ``cache`` is on. Returns the timings and the number of images.
        """
        start = time.perf_counter()
        iterator = self._iterator(directory, image_size, batch_size, cache)
        for _ in iterator:
            pass
        timings = Timings(time.perf_counter() - start)
        for _ in range(epochs - 1):
            start = time.perf_counter()
            for _ in iterator:
                pass
            timings.steady.append(time.perf_counter() - start)
        return timings, iterator.samples

    def fit_directory(self, directory, image_size, batch_size, epochs, cache):
        """Time training epochs on augmented photos read from ``directory``."""
        start = time.perf_counter()
        model = self.build(image_size)
        iterator = self._iterator(directory, image_size, batch_size, cache)
        model.fit(iterator, epochs=1, verbose=0)
        timings = Timings(time.perf_counter() - start)
        for _ in range(epochs - 1):
            start = time.perf_counter()
            model.fit(iterator, epochs=1, verbose=0)
            timings.steady.append(time.perf_counter() - start)
        return timings, iterator.samples


class KerasEngine:
    """The blog's model in Keras 3 on TensorFlow's CPU build."""

    def __init__(self, threads: int) -> None:
        from keras_reference import compat

        compat.tf.config.threading.set_intra_op_parallelism_threads(threads)
        compat.tf.config.threading.set_inter_op_parallelism_threads(threads)
        self.keras = compat.keras
        self.image_data_generator = compat.ImageDataGenerator

    def build(self, image_size: int):
        from keras_reference import build_model

        return build_model(image_size, seed=0)

    def _timer(self):
        keras = self.keras

        class StepTimer(keras.callbacks.Callback):
            """Wall-clock seconds of every training batch and epoch."""

            def __init__(self) -> None:
                super().__init__()
                self.batches: list[float] = []
                self.epochs: list[float] = []
                self.first_batch_end: float | None = None
                self.first_epoch_end: float | None = None

            def on_train_batch_begin(self, batch, logs=None):
                self._batch_start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                now = time.perf_counter()
                self.batches.append(now - self._batch_start)
                if self.first_batch_end is None:
                    self.first_batch_end = now

            def on_epoch_begin(self, epoch, logs=None):
                self._epoch_start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                now = time.perf_counter()
                self.epochs.append(now - self._epoch_start)
                if self.first_epoch_end is None:
                    self.first_epoch_end = now

        return StepTimer()

    def train(self, model, x, y, batch_size, min_seconds, max_steps) -> Timings:
        # A first fit on one batch traces the training step: the warm-up. A second
        # on two batches estimates the step time, to size the timed fit.
        start = time.perf_counter()
        warm = self._timer()
        options = dict(batch_size=batch_size, shuffle=False, verbose=0)
        model.fit(x[:batch_size], y[:batch_size], epochs=1, callbacks=[warm], **options)
        first = warm.first_batch_end - start
        probe = self._timer()
        model.fit(x, y, epochs=1, callbacks=[probe], **options)
        step = float(np.median(probe.batches))
        batches_per_epoch = math.ceil(len(x) / batch_size)
        target_steps = min(max_steps, max(MIN_TIMED, math.ceil(min_seconds / step)))
        epochs = math.ceil(target_steps / batches_per_epoch)
        timer = self._timer()
        model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=False,
            verbose=0,
            callbacks=[timer],
        )
        return Timings(first, timer.batches)

    def predict(self, model, x, batch_size, min_seconds, max_passes) -> Timings:
        start = time.perf_counter()
        model.predict(x, batch_size=batch_size, verbose=0)
        timings = Timings(time.perf_counter() - start)
        while _keep_timing(timings.steady, min_seconds, max_passes):
            start = time.perf_counter()
            model.predict(x, batch_size=batch_size, verbose=0)
            timings.steady.append(time.perf_counter() - start)
        return timings

    def _iterator(self, directory, image_size, batch_size):
        from convnet_from_scratch.blog_model import BLOG_AUGMENTATION, BLOG_RESCALE
        from convnet_from_scratch.data import find_classes

        generator = self.image_data_generator(**BLOG_AUGMENTATION, rescale=BLOG_RESCALE)
        return generator.flow_from_directory(
            str(directory),
            target_size=(image_size, image_size),
            batch_size=batch_size,
            class_mode="binary",
            # The visible class folders, the classes the hand-written iterator uses.
            classes=find_classes(str(directory), None),
            interpolation="nearest",
            shuffle=True,
            seed=0,
        )

    def pipeline(self, directory, image_size, batch_size, epochs, cache):
        """Time epochs of `flow_from_directory`; ``cache`` is ignored (none exists)."""
        start = time.perf_counter()
        iterator = self._iterator(directory, image_size, batch_size)
        timings = None
        for _ in range(epochs):
            for index in range(len(iterator)):
                iterator[index]
            iterator.on_epoch_end()
            now = time.perf_counter()
            if timings is None:
                timings = Timings(now - start)
            else:
                timings.steady.append(now - start)
            start = now
        return timings, iterator.samples

    def fit_directory(self, directory, image_size, batch_size, epochs, cache):
        """Time ``model.fit`` epochs on `flow_from_directory`, as the blog trains."""
        start = time.perf_counter()
        model = self.build(image_size)
        iterator = self._iterator(directory, image_size, batch_size)
        timer = self._timer()
        model.fit(iterator, epochs=epochs, verbose=0, callbacks=[timer])
        # Building the model and iterator belongs to the first epoch's warm-up.
        first = timer.first_epoch_end - start
        return Timings(first, timer.epochs[1:]), iterator.samples


class TorchEngine:
    """The blog's model in PyTorch on the CPU, channels first, when torch imports."""

    def __init__(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.torch = torch

    def build(self, image_size: int):
        torch = self.torch
        nn = torch.nn
        torch.manual_seed(0)
        side = (image_size // 2 - 1) // 2
        model = nn.Sequential(
            nn.Conv2d(3, 32, 2, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * side * side, 64),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(64, 1),
        )
        # RMSprop as Keras sets it; PyTorch adds epsilon outside the square root,
        # which changes the numbers, not the cost.
        optimizer = torch.optim.RMSprop(
            model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7
        )
        return model, optimizer

    def _tensor(self, array):
        # NHWC -> NCHW, the layout PyTorch's convolutions expect.
        return self.torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))

    def _step(self, built, xb, yb):
        model, optimizer = built
        model.train()
        optimizer.zero_grad()
        logits = model(xb)
        loss = self.torch.nn.functional.binary_cross_entropy_with_logits(logits, yb)
        loss.backward()
        optimizer.step()

    def train(self, built, x, y, batch_size, min_seconds, max_steps) -> Timings:
        batches = [
            (self._tensor(xb), self.torch.from_numpy(yb))
            for xb, yb in _batches(x, y, batch_size)
        ]
        start = time.perf_counter()
        self._step(built, *batches[0])
        timings = Timings(time.perf_counter() - start)
        while _keep_timing(timings.steady, min_seconds, max_steps):
            xb, yb = batches[(len(timings.steady) + 1) % len(batches)]
            start = time.perf_counter()
            self._step(built, xb, yb)
            timings.steady.append(time.perf_counter() - start)
        return timings

    def predict(self, built, x, batch_size, min_seconds, max_passes) -> Timings:
        model, _ = built
        model.eval()
        tensors = [
            self._tensor(x[i : i + batch_size]) for i in range(0, len(x), batch_size)
        ]

        def run():
            with self.torch.no_grad():
                for xb in tensors:
                    self.torch.sigmoid(model(xb))

        start = time.perf_counter()
        run()
        timings = Timings(time.perf_counter() - start)
        while _keep_timing(timings.steady, min_seconds, max_passes):
            start = time.perf_counter()
            run()
            timings.steady.append(time.perf_counter() - start)
        return timings


def make_engine(name: str, threads: int):
    """Return the engine called ``name``: 'numpy', 'numba', 'keras' or 'torch'."""
    if name in ("numpy", "numba"):
        return OursEngine(name)
    if name == "keras":
        return KerasEngine(threads)
    if name == "torch":
        return TorchEngine(threads)
    raise ValueError(
        "Invalid value for argument `name`. Expected 'numpy', 'numba', 'keras' or "
        f"'torch'. Received name={name!r}."
    )
