"""Batches of images and binary labels from a folder of class folders."""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterator, Sequence

import numpy as np

from .augmentation import ImageAugmenter
from .images import (
    IMAGE_EXTENSIONS,
    UnreadableImageError,
    _check_target_size,
    load_image_uint8,
)
from .listing import find_classes, list_class_files

logger = logging.getLogger(__name__)

# Streams drawn from the per-epoch seed: one orders the images, one augments them, so
# turning augmentation on leaves the order unchanged.
_SHUFFLE_STREAM, _AUGMENT_STREAM = 0, 1


class UnreadableImageWarning(UserWarning):
    """An image file was skipped because it cannot be decoded."""


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a positive int. "
            f"Received {name}={value!r}."
        )
    return int(value)


class DirectoryIterator:
    """Batches of ``(x, y)`` from one folder per class, like Keras's binary mode.

    It behaves like ``ImageDataGenerator().flow_from_directory(directory,
    class_mode='binary')`` in Keras 3.15: the classes are the sorted sub-folder
    names (or ``classes``), class ``i`` has label ``i``, and the files are listed in
    Keras's order (see `convnet_from_scratch.data.listing`). The differences:

    * Hidden folders and files (``.ipynb_checkpoints/``, ``.DS_Store``,
      ``._photo.jpg``) are ignored; Keras takes a hidden folder for a class.
    * Exactly two classes are required, because the labels are binary.
    * A file that cannot be decoded is dropped with one `UnreadableImageWarning`,
      where Keras stops with an error in the middle of an epoch.
    * Shuffling and augmentation use ``numpy.random.Generator`` streams derived from
      ``seed`` and the epoch number, so epoch ``k`` is the same in every run with
      the same seed, whatever happened in earlier epochs.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder with one sub-folder of images per class. Images in nested folders
        inside a class folder belong to that class.
    target_size : (int, int), default (75, 75)
        ``(height, width)`` that every image is resized to (nearest neighbour).
    batch_size : int, default 32
        Images per batch; the last batch of an epoch contains the remainder.
    shuffle : bool, default True
        Draw a new order of the images for each epoch.
    seed : int, optional
        Seed for shuffling and augmentation. None draws a fresh seed.
    augmenter : ImageAugmenter, optional
        Random transforms and rescaling applied to each image, drawn anew for each
        epoch. Without one, ``x`` contains the raw 0..255 values.
    classes : sequence of str, optional
        The two class folders, in label order. By default the sorted sub-folders.
    files : sequence of str, optional
        Use only these images, given relative to ``directory`` as
        ``'class_name/...'`` (the lists `split_class_folders` returns), in this
        order. The first path component names the class.
    cache : bool, default True
        Decode every image once, at construction, and keep the resized pixels in
        memory as uint8 (``N * H * W * 3`` bytes), so later epochs only augment.
        Unreadable files are then found and dropped before the first epoch. With
        ``cache=False`` images are decoded for every batch, and an unreadable file
        is dropped when first met: that batch comes out one image short and later
        epochs no longer contain the file.

    Attributes
    ----------
    class_indices : dict of str to int
        Class name to label.
    classes : ndarray of shape (samples,), int32
        Label of each image, in the order of ``filenames``.
    filenames : list of str
        Image paths relative to ``directory``.
    samples : int
        Number of readable images.

    Raises
    ------
    FileNotFoundError
        If ``directory`` is not a folder.
    ValueError
        If there are not exactly two classes, if no images are found, or if an
        argument is invalid.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        target_size: tuple[int, int] = (75, 75),
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        augmenter: ImageAugmenter | None = None,
        classes: Sequence[str] | None = None,
        files: Sequence[str] | None = None,
        cache: bool = True,
    ) -> None:
        self.directory = os.fspath(directory)
        self.target_size = _check_target_size(target_size)
        if self.target_size is None:
            raise ValueError(
                "Invalid value for argument `target_size`. Expected a pair of positive "
                "ints (height, width). Received target_size=None."
            )
        self.image_shape = (*self.target_size, 3)
        self.batch_size = _check_positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
        ):
            raise ValueError(
                "Invalid value for argument `seed`. Expected a non-negative int or "
                f"None. Received seed={seed!r}."
            )
        self.seed = seed
        self._entropy = np.random.SeedSequence(seed).entropy
        if augmenter is not None and not isinstance(augmenter, ImageAugmenter):
            raise TypeError(
                "Invalid type for argument `augmenter`. Expected an ImageAugmenter or "
                f"None. Received augmenter of type {type(augmenter).__name__}."
            )
        self.augmenter = augmenter
        self.epoch = 0

        class_names = find_classes(self.directory, classes)
        if len(class_names) != 2:
            raise ValueError(
                f"Binary labels need exactly 2 class folders in {self.directory}. "
                f"Found {len(class_names)}: {class_names}."
            )
        self.class_indices = {name: index for index, name in enumerate(class_names)}
        all_files = self._list_files(files)
        self._filenames = [path for path, _ in all_files]
        self._labels = np.array([label for _, label in all_files], dtype=np.int32)
        if not self._filenames:
            raise ValueError(
                f"No images found in {self.directory} for classes {class_names}. "
                f"Expected files ending in {', '.join(IMAGE_EXTENSIONS)}."
            )
        self._readable = np.ones(len(self._filenames), dtype=bool)
        self._cache: np.ndarray | None = None
        if cache:
            self._fill_cache()
        logger.info(
            "Found %d images belonging to %d classes in %s.",
            self.samples,
            len(class_names),
            self.directory,
        )

    # Listing

    def _list_files(self, files: Sequence[str] | None) -> list[tuple[str, int]]:
        if files is None:
            return [
                (path, label)
                for name, label in self.class_indices.items()
                for path in list_class_files(self.directory, name)
            ]
        listed = []
        for path in files:
            path = os.path.normpath(os.fspath(path))
            class_name = path.split(os.sep)[0]
            if class_name not in self.class_indices:
                raise ValueError(
                    "Invalid value for argument `files`. Expected paths relative to "
                    f"{self.directory} that start with a class folder among "
                    f"{list(self.class_indices)}. Received {path!r}."
                )
            listed.append((path, self.class_indices[class_name]))
        return listed

    @property
    def filenames(self) -> list[str]:
        return [f for f, ok in zip(self._filenames, self._readable, strict=True) if ok]

    @property
    def filepaths(self) -> list[str]:
        """Full paths of the readable images, in the order of ``filenames``."""
        return [os.path.join(self.directory, f) for f in self.filenames]

    @property
    def classes(self) -> np.ndarray:
        return self._labels[self._readable]

    @property
    def samples(self) -> int:
        return int(self._readable.sum())

    def __len__(self) -> int:
        """Batches per epoch, counting a last partial batch."""
        return math.ceil(self.samples / self.batch_size)

    # Decoding

    def _decode(self, index: int) -> np.ndarray | None:
        """Decode image ``index``, or drop it with a warning and return None."""
        path = os.path.join(self.directory, self._filenames[index])
        try:
            return load_image_uint8(path, self.target_size)
        except UnreadableImageError as error:
            self._readable[index] = False
            warnings.warn(f"Skipping {error}", UnreadableImageWarning, stacklevel=2)
            return None

    def _fill_cache(self) -> None:
        cache = np.empty((len(self._filenames), *self.image_shape), dtype=np.uint8)
        for index in range(len(self._filenames)):
            image = self._decode(index)
            if image is not None:
                cache[index] = image
        self._check_any_readable()
        self._cache = cache

    def _check_any_readable(self) -> None:
        if not self._readable.any():
            raise ValueError(
                f"None of the {len(self._filenames)} images in {self.directory} "
                "could be read."
            )

    # Iterating

    def _rng(self, epoch: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self._entropy, epoch, stream])

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Return the indices, into ``filenames``, of epoch ``epoch`` in batch order."""
        if not self.shuffle:
            return np.arange(self.samples)
        return self._rng(epoch, _SHUFFLE_STREAM).permutation(self.samples)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield one epoch of batches and advance ``epoch``.

        Yields
        ------
        x : ndarray of shape (B, H, W, 3), float32
            Images, augmented and rescaled when an augmenter is set.
        y : ndarray of shape (B, 1), float32
            Labels, 0.0 or 1.0.
        """
        epoch = self.epoch
        self.epoch += 1
        # Positions of readable images among all listed files, frozen for the
        # epoch so that dropping a file mid-epoch does not shift later batches.
        listed = np.flatnonzero(self._readable)
        order = listed[self.epoch_order(epoch)]
        augment_rng = self._rng(epoch, _AUGMENT_STREAM)
        for start in range(0, len(order), self.batch_size):
            batch = self._make_batch(
                order[start : start + self.batch_size], augment_rng
            )
            if batch[0].shape[0]:
                yield batch
        self._check_any_readable()

    def _make_batch(
        self, indices: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        x = np.empty((len(indices), *self.image_shape), dtype=np.float32)
        kept_indices = []
        for index in indices:
            if self._cache is not None:
                image = self._cache[index]
            else:
                image = self._decode(index)
                if image is None:
                    continue
            if self.augmenter is not None:
                x[len(kept_indices)] = self.augmenter.augment(image, rng)
            else:
                x[len(kept_indices)] = image
            kept_indices.append(index)
        y = self._labels[kept_indices].astype(np.float32).reshape(-1, 1)
        return x[: len(kept_indices)], y
