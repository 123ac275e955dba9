"""The blog's training pipeline in Keras: `ImageDataGenerator`, `flow_from_directory`,
``model.fit``, writing the same run files as the hand-written ``train``.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
from pathlib import Path

from convnet_from_scratch.blog_model import BLOG_AUGMENTATION, BLOG_RESCALE
from convnet_from_scratch.cli import (
    CommandError,
    check_image_size,
    check_run_folder,
    check_training_memory,
    finish_run,
    split_files,
)
from convnet_from_scratch.data import (
    DirectoryIterator,
    find_classes,
    list_class_files,
)
from convnet_from_scratch.explain import blog_model_template

from .compat import ImageDataGenerator, keras, tf, versions
from .model import _image_shape, build_model
from .transfer import keras_to_model_file

ENGINE = "keras_reference"
RUN_FILES = ("model.npz", "model.keras", "history.json", "learning_curve.png")
STRATEGIES = ("default", "mirrored")


def _link(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        destination.symlink_to(source.resolve())
    except OSError:
        # Some file systems (and Windows without privileges) have no symlinks.
        shutil.copy2(source, destination)


def _link_split(
    data: Path, classes: list[str], files: list[str], destination: Path
) -> None:
    """Link ``files`` (``'class_name/...'`` paths relative to ``data``) into the same
    relative places under ``destination``, a tree ``flow_from_directory`` can read.

    Every class gets its folder, even with no file, so the tree lists all classes.
    """
    for class_name in classes:
        (destination / class_name).mkdir(parents=True, exist_ok=True)
    for relative in files:
        _link(data / relative, destination / relative)


def readable_files(
    folder: Path,
    classes: list[str],
    files: list[str] | None,
    image_size: int,
) -> list[str]:
    """Decode ``files`` once and return the paths the hand-written library can read.

    The decoder is `DirectoryIterator`, the hand-written ``train``'s loader, at
    ``image_size``. It drops each unreadable file with one `UnreadableImageWarning`
    naming its path. ``files`` of None means every image of ``classes`` in
    ``folder``.

    Raises
    ------
    ValueError
        If ``classes`` are not exactly two, or no file is listed or readable. The
        message names ``folder``.
    """
    iterator = DirectoryIterator(
        folder,
        target_size=(image_size, image_size),
        shuffle=False,
        classes=classes,
        files=files,
        cache=False,
    )
    # One pass decodes every file; the batches themselves are not needed.
    for _ in iterator:
        pass
    return iterator.filenames


@contextlib.contextmanager
def split_folders(
    data: Path,
    validation_fraction: float,
    seed: int,
    folds: int | None = None,
    fold: int | None = None,
    *,
    image_size: int | None = None,
):
    """Yield ``(train_dir, validation_dir)``: the photos of ``data`` that the
    hand-written ``train`` would use, linked into a temporary tree.

    A folder of class folders is split by `convnet_from_scratch.cli.split_files`,
    the hold-out split of `split_class_folders` or, with ``folds`` and ``fold``, a
    fold of `fold_class_folders`, as the hand-written ``train`` splits it for the
    same options. A ``data`` folder with ``train/`` and ``validation/`` keeps its
    split. Either way the files are the library's listing: hidden folders and files
    (``.ipynb_checkpoints/``, ``._photo.jpg``) are left out, where
    ``flow_from_directory`` alone would take the first for a class and fail to
    decode the second. The tree is removed on exit.

    With ``image_size``, every listed photo is also decoded at that size by
    `readable_files`, and the ones the library cannot read are left out with a
    warning, so Keras trains on the photos the hand-written ``train`` keeps. Errors
    about classes or missing photos then name ``data``, not the temporary tree.
    Without ``image_size``, the listing is linked undecoded.
    """
    data = Path(data)
    if not data.is_dir():
        raise CommandError(f"Data folder not found: {data}")
    already_split = (data / "train").is_dir() and (data / "validation").is_dir()
    if folds is None and fold is None and already_split:
        classes = find_classes(data / "train")
        parts = {
            part: (
                data / part,
                [
                    path
                    for name in classes
                    for path in list_class_files(data / part, name)
                ],
            )
            for part in ("train", "validation")
        }
    else:
        classes = find_classes(data)
        train_files, validation_files = split_files(
            data, validation_fraction, seed, folds, fold
        )
        parts = {"train": (data, train_files), "validation": (data, validation_files)}
    if image_size is not None:
        parts = {
            part: (folder, readable_files(folder, classes, files, image_size))
            for part, (folder, files) in parts.items()
        }

    with tempfile.TemporaryDirectory(prefix="keras_reference_split_") as workdir:
        root = Path(workdir)
        for part, (folder, files) in parts.items():
            _link_split(folder, classes, files, root / part)
        yield root / "train", root / "validation"


def make_iterators(
    train_dir: Path,
    validation_dir: Path,
    image_size: int,
    batch_size: int,
    seed: int,
    augment: bool = True,
    source: Path | None = None,
):
    """Return the training and validation iterators of the blog's pipeline.

    Training images get the blog's augmentation (unless ``augment`` is false) and are
    rescaled by 1/255. Validation images are only rescaled and not shuffled. Both use
    ``class_mode='binary'`` and, as explicit ``classes``, the visible class folders
    of ``train_dir`` in sorted order, which are the hand-written iterator's classes.
    Error messages name ``source``, the user's data folder, when it is given, and
    the folders themselves otherwise.
    """
    class_names = find_classes(train_dir)
    if len(class_names) != 2:
        raise CommandError(
            f"Expected exactly 2 class folders in {source or train_dir} for binary "
            f"labels. Found {len(class_names)}: {class_names}."
        )
    options = {
        "target_size": (image_size, image_size),
        "batch_size": batch_size,
        "class_mode": "binary",
        "classes": class_names,
        "interpolation": "nearest",
    }
    augmentation = BLOG_AUGMENTATION if augment else {}
    train = ImageDataGenerator(
        **augmentation, rescale=BLOG_RESCALE
    ).flow_from_directory(str(train_dir), shuffle=True, seed=seed, **options)
    validation = ImageDataGenerator(rescale=BLOG_RESCALE).flow_from_directory(
        str(validation_dir), shuffle=False, **options
    )
    for name, iterator in (("training", train), ("validation", validation)):
        if iterator.samples == 0:
            where = source or iterator.directory
            raise CommandError(f"No images found for {name} in {where}.")
    return train, validation


def _strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        # All local GPUs, or the CPU as a single replica when there is none.
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def run_train(args: argparse.Namespace) -> int:
    """Train the blog's model in Keras and write the run files to ``args.out``.

    For reproducible runs this seeds Python's, NumPy's and TensorFlow's global
    generators with ``args.seed`` and turns on TensorFlow's op determinism, both for
    the rest of the process.
    """
    check_run_folder(args.out, args.overwrite, names=RUN_FILES)
    # Reject a too small or too large image size before reading any photo.
    _image_shape(args.image_size)
    template = blog_model_template(args.dropout, args.block_dropout)
    rows = check_image_size(template.layers, (args.image_size, args.image_size))
    check_training_memory(rows, args, cached_images=False)
    # NumPy's global generator is the one ImageDataGenerator draws from.
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    strategy = _strategy(args.strategy)

    split = (args.data, args.validation_fraction, args.seed, args.folds, args.fold)
    with split_folders(*split, image_size=args.image_size) as folders:
        train, validation = make_iterators(
            *folders,
            image_size=args.image_size,
            batch_size=args.batch_size,
            seed=args.seed,
            augment=not args.no_augment,
            source=args.data,
        )
        class_names = list(train.class_indices)
        print(
            f"Training on {train.samples} images, validating on "
            f"{validation.samples}, classes {class_names} (0, 1), "
            f"{strategy.num_replicas_in_sync} replica(s)."
        )
        with strategy.scope():
            model = build_model(
                args.image_size,
                dropout=args.dropout,
                seed=args.seed,
                learning_rate=args.learning_rate,
                dropout_after_blocks=args.block_dropout,
            )
        started = time.perf_counter()
        history = model.fit(
            train,
            epochs=args.epochs,
            validation_data=validation,
            verbose=0 if args.quiet else 2,
        )
        seconds = time.perf_counter() - started

    preprocessing = {
        "image_size": [args.image_size, args.image_size],
        "rescale": BLOG_RESCALE,
    }
    model_files = {
        "model.npz": lambda path: keras_to_model_file(
            model, path, class_names=class_names, preprocessing=preprocessing
        ),
        "model.keras": model.save,
    }
    curves = {
        key: [float(v) for v in values] for key, values in history.history.items()
    }
    finish_run(
        args,
        ENGINE,
        curves,
        train,
        validation,
        seconds,
        model_files,
        strategy=args.strategy,
        replicas=strategy.num_replicas_in_sync,
        **versions(),
    )
    return 0


__all__ = [
    "RUN_FILES",
    "make_iterators",
    "readable_files",
    "run_train",
    "split_folders",
]
