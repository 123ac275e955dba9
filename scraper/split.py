"""``split_dataset``: copy class folders into ``train/`` and ``validation/``.

The split is made per class, from a seeded shuffle of the photo ids, so the same
source and seed always give the same split. Photos placed by an earlier run keep
their side, and only new photos are assigned. That way no photo moves across, and
the validation share of each class stays near the requested fraction. A photo id
never ends up in both splits or in two classes.
"""

import logging
import os
import random
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from scraper._checks import check_float, check_int, check_path, value_error
from scraper.errors import ScraperError
from scraper.folders import (
    InvalidImageError,
    check_image,
    class_folders,
    create_temporary_file,
    photo_files,
    photo_id,
)

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation")
PARTIAL_PREFIX = ".copy-"


@dataclass
class ClassSplit:
    """Counts for one class after a split.

    Attributes
    ----------
    name : str
        Class folder name.
    train, validation : int
        Photos of this class in each split after the run.
    copied : int
        Files this run copied.
    unreadable : int
        New source files this run left out because they are not whole images.
    """

    name: str
    train: int = 0
    validation: int = 0
    copied: int = 0
    unreadable: int = 0


@dataclass
class SplitSummary:
    """Counts of one run of :func:`split_dataset`, per class."""

    classes: list = field(default_factory=list)

    def format(self):
        """Return one line per class."""
        lines = []
        for item in self.classes:
            line = (
                f"{item.name}: {item.train} train, {item.validation} validation "
                f"({item.copied} copied by this run"
            )
            if item.unreadable:
                line += f", {item.unreadable} unreadable left out"
            lines.append(line + ")")
        return "\n".join(lines)


def split_dataset(source, dest, validation=0.2, seed=0):
    """Copy ``source/<class>/`` photos into ``dest/{train,validation}/<class>/``.

    Parameters
    ----------
    source : str or os.PathLike
        Folder with one sub-folder per class, as the download writes it.
    dest : str or os.PathLike
        Folder that receives ``train/`` and ``validation/``. It may hold an
        earlier split of the same source, which is kept and completed.
    validation : float, default=0.2
        Share of each class that goes to ``validation/``, in [0, 1). Each class
        gets ``round(n * validation)`` validation photos, ``n`` counting the
        photos of the class in ``source`` and those already in ``dest``.
    seed : int, default=0
        Seed of the shuffle; the same seed and photos give the same split.

    Returns
    -------
    SplitSummary

    Raises
    ------
    TypeError, ValueError
        For an argument of the wrong type or value, or overlapping folders.
    FileNotFoundError, NotADirectoryError
        If ``source`` does not exist or is not a folder.
    ScraperError
        If ``source`` has no class folder, or a photo id appears in two classes,
        or in both splits of ``dest``.

    Warns
    -----
    UserWarning
        For each new source file that is not a whole image, which is not copied.
        Once, when the photos already in ``dest`` give a class another number of
        validation photos than ``validation`` requests, because a rerun never
        moves a photo. Otherwise for each class left without a validation photo
        or without a train photo.
    """
    source = Path(check_path("source", source))
    dest = Path(check_path("dest", dest))
    validation = check_float(
        "validation", validation, minimum=0.0, maximum=1.0, include_maximum=False
    )
    seed = check_int("seed", seed)
    _check_separate(source, dest)
    if not source.exists():
        raise FileNotFoundError(f"Source folder {source} does not exist.")
    if not source.is_dir():
        raise NotADirectoryError(f"Source {source} is not a folder.")

    classes = _source_classes(source)
    _remove_partial_copies(dest)
    placed = _placed_photos(dest)
    summary = SplitSummary()
    differences = []
    for name, files in classes.items():
        for identifier, (split, placed_class) in placed.items():
            if identifier in files and placed_class != name:
                raise ScraperError(
                    f"Photo id {identifier} is in class {name!r} in {source} but in "
                    f"class {placed_class!r} in {dest / split}; remove one of them."
                )
        result, requested = _split_class(name, files, placed, dest, validation, seed)
        summary.classes.append(result)
        if result.validation != requested:
            total = result.train + result.validation
            differences.append(
                f"{name}: {result.validation} of {total} photos in validation/, "
                f"{requested} requested"
            )
        else:
            _warn_empty_side(result, validation)
    if differences:
        warnings.warn(
            f"{dest} was split with another validation fraction, and a rerun never "
            f"moves photos ({'; '.join(differences)}). To split with "
            f"validation={validation}, choose a new destination folder.",
            UserWarning,
            stacklevel=2,
        )
    for line in summary.format().splitlines():
        logger.info("%s", line)
    return summary


def _check_separate(source, dest):
    resolved_source, resolved_dest = source.resolve(), dest.resolve()
    overlap = (
        resolved_source == resolved_dest
        or resolved_source in resolved_dest.parents
        or resolved_dest in resolved_source.parents
    )
    if overlap:
        raise value_error(
            "dest",
            f"a folder that neither contains nor is inside the source folder {source}",
            str(dest),
        )


def _remove_partial_copies(dest):
    """Delete the temporary copies an interrupted run may have left."""
    for split in SPLITS:
        for folder in class_folders(dest / split):
            for leftover in folder.glob(f"{PARTIAL_PREFIX}*"):
                leftover.unlink(missing_ok=True)


def _source_classes(source):
    """Return ``{class name: {photo id: path}}``, refusing ids found in two classes."""
    folders = class_folders(source)
    if not folders:
        raise ScraperError(f"No class folder found in {source}.")
    classes = {}
    class_of_id = {}
    for folder in folders:
        files = {}
        for path in photo_files(folder):
            identifier = photo_id(path)
            if identifier in class_of_id and class_of_id[identifier] != folder.name:
                raise ScraperError(
                    f"Photo id {identifier} is in both {class_of_id[identifier]!r} "
                    f"and {folder.name!r} in {source}; a photo needs one label."
                )
            class_of_id[identifier] = folder.name
            files.setdefault(identifier, path)
        classes[folder.name] = files
    return classes


def _placed_photos(dest):
    """Return ``{photo id: (split, class)}`` for the photos already in ``dest``."""
    placed = {}
    for split in SPLITS:
        for folder in class_folders(dest / split):
            for path in photo_files(folder):
                identifier = photo_id(path)
                where = (split, folder.name)
                if placed.get(identifier, where) != where:
                    first = "/".join(placed[identifier])
                    raise ScraperError(
                        f"Photo id {identifier} is in both {first} and "
                        f"{split}/{folder.name} in {dest}; remove one copy."
                    )
                placed[identifier] = where
    return placed


def _split_class(name, files, placed, dest, validation, seed):
    """Assign the new photos of one class and copy whatever is missing in ``dest``.

    Returns
    -------
    result : ClassSplit
    requested : int
        The validation photos that ``validation`` requests for this class.
    """
    sides = {
        identifier: split
        for identifier, (split, placed_class) in placed.items()
        if placed_class == name
    }
    new_ids = sorted(identifier for identifier in files if identifier not in sides)
    # Photos already in dest are not decoded again, so a rerun stays quick.
    unreadable = {
        identifier for identifier in new_ids if not _is_whole_image(files[identifier])
    }
    new_ids = [identifier for identifier in new_ids if identifier not in unreadable]
    files = {
        identifier: path
        for identifier, path in files.items()
        if identifier not in unreadable
    }

    total = len(set(files) | set(sides))
    requested = round(total * validation)
    missing = max(0, requested - sum(split == "validation" for split in sides.values()))
    # A string seed is hashed with SHA-512 by `random`, so the order does not
    # depend on PYTHONHASHSEED; each class gets its own stream.
    random.Random(f"{seed}/{name}").shuffle(new_ids)
    for position, identifier in enumerate(new_ids):
        sides[identifier] = "validation" if position < missing else "train"

    result = ClassSplit(name, unreadable=len(unreadable))
    for identifier, split in sides.items():
        if split == "validation":
            result.validation += 1
        else:
            result.train += 1
        if identifier not in files:
            continue
        if _copy_missing(files[identifier], dest / split / name):
            result.copied += 1
    return result, requested


def _warn_empty_side(result, validation):
    total = result.train + result.validation
    for split, count in (("validation", result.validation), ("train", result.train)):
        if count == 0:
            warnings.warn(
                f"Class {result.name!r} has no {split} photo ({total} photos, "
                f"validation={validation}); add photos or change --validation.",
                UserWarning,
                stacklevel=3,
            )


def _is_whole_image(path):
    """Return True if ``path`` decodes fully, and warn that it is left out if not."""
    try:
        check_image(path)
    except InvalidImageError as error:
        warnings.warn(
            f"Skipping {path}: not a readable image ({error}).",
            UserWarning,
            stacklevel=2,
        )
        return False
    return True


def _copy_missing(path, folder):
    """Copy ``path`` into ``folder`` unless a file of that name is there already.

    The copy goes to a hidden temporary name first, so an interrupted run never
    leaves a partial photo under a real name.
    """
    target = folder / path.name
    if target.exists():
        return False
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = create_temporary_file(folder, PARTIAL_PREFIX)
    os.close(descriptor)
    try:
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return True
