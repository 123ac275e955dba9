"""Find the class folders and image files of a dataset, and split them.

A dataset folder contains one sub-folder per class. Files are listed in Keras 3.15's
order (`flow_from_directory`): each class folder is walked with ``os.walk``, the
folders are sorted by path, and the file names within each folder are sorted, so
images in nested folders come after the class folder's own. Unlike Keras, hidden
entries (names that start with a dot, such as ``.ipynb_checkpoints/``, ``.DS_Store``
and macOS ``._photo.jpg`` resource forks) are never classes or images.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from .images import IMAGE_EXTENSIONS


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _check_directory(directory: str | os.PathLike) -> str:
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Invalid value for argument `directory`. Expected a folder with one "
            f"sub-folder per class. Received directory={directory!r}, which is not "
            "an existing folder."
        )
    return directory


def find_classes(
    directory: str | os.PathLike, classes: Sequence[str] | None = None
) -> list[str]:
    """Return the class names: the sorted visible sub-folders, or ``classes``.

    Raises
    ------
    FileNotFoundError
        If ``directory`` is not a folder.
    ValueError
        If an entry of ``classes`` is not a sub-folder of ``directory`` or appears
        twice.
    """
    directory = _check_directory(directory)
    if classes is None:
        return sorted(
            name
            for name in os.listdir(directory)
            if not _is_hidden(name) and os.path.isdir(os.path.join(directory, name))
        )
    classes = [str(name) for name in classes]
    missing = [c for c in classes if not os.path.isdir(os.path.join(directory, c))]
    if missing:
        raise ValueError(
            f"Invalid value for argument `classes`. Expected names of sub-folders of "
            f"{directory}. Received classes={classes}; not found: {missing}."
        )
    if len(set(classes)) != len(classes):
        raise ValueError(
            f"Invalid value for argument `classes`. Expected distinct names. "
            f"Received classes={classes}."
        )
    return classes


def list_class_files(directory: str | os.PathLike, class_name: str) -> list[str]:
    """List the image files of one class, relative to ``directory``, in Keras's order.

    Returns
    -------
    list of str
        Paths such as ``'class_name/photo.jpg'``, joined with ``os.path.join``.
    """
    class_folder = os.path.join(os.fspath(directory), class_name)
    folders = []
    for root, subfolders, files in os.walk(class_folder):
        # Pruning in place stops os.walk from descending into hidden folders.
        subfolders[:] = [name for name in subfolders if not _is_hidden(name)]
        folders.append((root, files))
    folders.sort(key=lambda entry: entry[0])

    filenames = []
    for root, files in folders:
        for name in sorted(files):
            if _is_hidden(name) or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            relative = os.path.relpath(os.path.join(root, name), class_folder)
            filenames.append(os.path.join(class_name, relative))
    return filenames


def split_class_folders(
    directory: str | os.PathLike,
    validation_fraction: float,
    seed: int = 0,
    classes: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Split each class's images into training and validation file lists.

    The split is stratified: each class contributes ``round(validation_fraction *
    n)`` of its ``n`` images to validation (at least one, and never all), chosen by a
    generator seeded with ``seed``, so the same folder and seed give the same split.
    Both lists keep Keras's listing order. Pass them to `DirectoryIterator` as
    ``files=`` together with the same ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder with one sub-folder per class.
    validation_fraction : float
        Share of each class held out, strictly between 0 and 1.
    seed : int, default 0
        Seed of the ``numpy.random.Generator`` that picks the validation images.
    classes : sequence of str, optional
        Class folders to use; by default all visible sub-folders.

    Returns
    -------
    train_files, validation_files : list of str
        Paths relative to ``directory``, such as ``'class_name/photo.jpg'``.

    Raises
    ------
    ValueError
        If ``validation_fraction`` is not in (0, 1), or a class has fewer than two
        images.
    """
    if not (
        isinstance(validation_fraction, float | int)
        and not isinstance(validation_fraction, bool)
        and 0 < validation_fraction < 1
    ):
        raise ValueError(
            "Invalid value for argument `validation_fraction`. Expected a number "
            f"strictly between 0 and 1. Received validation_fraction="
            f"{validation_fraction!r}."
        )
    rng = np.random.default_rng(seed)
    train_files: list[str] = []
    validation_files: list[str] = []
    for class_name in find_classes(directory, classes):
        files = list_class_files(directory, class_name)
        if len(files) < 2:
            raise ValueError(
                f"Cannot split class {class_name!r} in {os.fspath(directory)}: it has "
                f"{len(files)} image(s), and a split needs at least 2."
            )
        # Round half up, then keep at least one image on each side.
        count = math.floor(validation_fraction * len(files) + 0.5)
        count = min(max(count, 1), len(files) - 1)
        held_out = np.zeros(len(files), dtype=bool)
        held_out[rng.permutation(len(files))[:count]] = True
        train_files += [f for f, out in zip(files, held_out, strict=True) if not out]
        validation_files += [f for f, out in zip(files, held_out, strict=True) if out]
    return train_files, validation_files


def fold_class_folders(
    directory: str | os.PathLike,
    folds: int,
    fold: int,
    seed: int = 0,
    classes: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Return the training and validation files of one fold of k-fold validation.

    Each class's images are shuffled by a generator seeded with ``seed`` and dealt
    to the folds in turn. So the split is stratified: a class's count in one fold
    differs by at most one image from its count in another. Each class is dealt
    from the fold where the previous class stopped, which keeps the fold sizes
    within one image of each other too. Over ``fold = 0, ..., folds - 1`` every
    image is validated exactly once. Both lists keep Keras's listing order, as in
    `split_class_folders`.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder with one sub-folder per class.
    folds : int
        Number of folds k, at least 2.
    fold : int
        The fold held out for validation, from 0 to ``folds - 1``.
    seed : int, default 0
        Seed of the ``numpy.random.Generator`` that shuffles each class.
    classes : sequence of str, optional
        Class folders to use; by default all visible sub-folders.

    Returns
    -------
    train_files, validation_files : list of str
        Paths relative to ``directory``, such as ``'class_name/photo.jpg'``.

    Raises
    ------
    ValueError
        If ``folds`` is not an int of at least 2, ``fold`` is not in
        ``range(folds)``, or a class has fewer than ``folds`` images.
    """
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(
            "Invalid value for argument `folds`. Expected an int of at least 2. "
            f"Received folds={folds!r}."
        )
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < folds:
        raise ValueError(
            f"Invalid value for argument `fold`. Expected an int from 0 to "
            f"{folds - 1}. Received fold={fold!r}."
        )
    rng = np.random.default_rng(seed)
    train_files: list[str] = []
    validation_files: list[str] = []
    start = 0
    for class_name in find_classes(directory, classes):
        files = list_class_files(directory, class_name)
        if len(files) < folds:
            raise ValueError(
                f"Cannot split class {class_name!r} in {os.fspath(directory)} into "
                f"{folds} folds: it has {len(files)} image(s), and every fold needs "
                "at least one."
            )
        assigned = np.empty(len(files), dtype=int)
        assigned[rng.permutation(len(files))] = (start + np.arange(len(files))) % folds
        start = (start + len(files)) % folds
        train_files += [f for f, k in zip(files, assigned, strict=True) if k != fold]
        validation_files += [
            f for f, k in zip(files, assigned, strict=True) if k == fold
        ]
    return train_files, validation_files
