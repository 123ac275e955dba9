"""Command line: ``python -m convnet_from_scratch train | predict | summary``.

Every command ends with a one-line error and exit status 2 on bad arguments or bad
files, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .blog_model import BLOG_AUGMENTATION, BLOG_RESCALE, build_blog_model
from .model_file import ModelFileError, load_model
from .plots import BLOG_ACCURACY, plot_learning_curves

PROGRAM = "convnet_from_scratch"
RUN_FILES = ("model.npz", "history.json", "learning_curve.png")

log = logging.getLogger(PROGRAM)


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _parse_int(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def positive_int(text: str) -> int:
    """Parse an option that takes an int of 1 or more, such as --batch-size."""
    return _parse_int(text, 1, "a positive int")


def non_negative_int(text: str) -> int:
    """Parse an option that takes an int of 0 or more, such as --seed."""
    return _parse_int(text, 0, "a non-negative int")


def open_fraction(text: str) -> float:
    """Parse an option that takes a number strictly between 0 and 1."""
    value = _parse_float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a value in (0, 1), got {value}")
    return value


def _rate(text: str) -> float:
    value = _parse_float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a value in [0, 1), got {value}")
    return value


def _learning_rate(text: str) -> float:
    value = _parse_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


# train


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that both engines' `train` commands share."""
    parser.add_argument(
        "data",
        type=Path,
        help="folder with train/ and validation/ class folders, or a folder of class "
        "folders to split",
    )
    parser.add_argument("--out", type=Path, required=True, help="run folder to write")
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=50,
        help="passes over the training images (default: 50)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=32,
        help="images per gradient step (default: 32)",
    )
    parser.add_argument(
        "--image-size",
        type=positive_int,
        default=75,
        help="images are resized to this square side, in pixels (default: 75)",
    )
    parser.add_argument(
        "--learning-rate",
        type=_learning_rate,
        default=1e-3,
        help="RMSprop's learning rate (default: 0.001)",
    )
    parser.add_argument(
        "--dropout", type=_rate, default=0.25, help="dropout rate (default: 0.25)"
    )
    parser.add_argument(
        "--block-dropout",
        type=_rate,
        default=None,
        metavar="RATE",
        help="add a dropout layer of this rate after each max-pool layer "
        "(default: none)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the split, weights, shuffling and augmentation (default: 0)",
    )
    parser.add_argument(
        "--validation-fraction",
        type=open_fraction,
        default=0.2,
        help="share of each class held out when DATA has no train/ and validation/ "
        "folders (default: 0.2)",
    )
    parser.add_argument(
        "--folds",
        type=positive_int,
        default=None,
        metavar="K",
        help="split a folder of class folders into K stratified folds (seeded by "
        "--seed) and validate on fold --fold instead of a --validation-fraction",
    )
    parser.add_argument(
        "--fold",
        type=int,
        default=None,
        metavar="I",
        help="the fold to validate on with --folds, from 0 to K-1",
    )
    parser.add_argument(
        "--no-augment",
        action="store_true",
        help="train on rescaled images only, without the blog's augmentation",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the files of an earlier run in --out",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print no progress bars or INFO lines"
    )


def check_run_folder(out: Path, overwrite: bool, names=RUN_FILES) -> None:
    """Reject an unwritable --out, or one with an earlier run's files."""
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a folder.")
    existing = [name for name in names if (out / name).exists()]
    if existing and not overwrite:
        raise CommandError(
            f"{out} already contains {', '.join(existing)} from an earlier run. "
            "Choose another --out or pass --overwrite."
        )

    # Find an unwritable folder now, not after hours of training. Folders made for
    # the check are removed again, so a run that fails later leaves none behind.
    created = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise CommandError(
            f"--out {out} cannot be written ({error.strerror}). Choose a folder you "
            "can write to."
        ) from None
    finally:
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()


def check_image_size(
    layers, size: tuple[int, int], option: str = "--image-size"
) -> list:
    """Return `explain.layer_shapes` of ``layers`` for ``size`` RGB images.

    Raises
    ------
    CommandError
        If ``size`` is below the smallest side the layers accept. The message names
        ``option`` and that minimum.
    """
    from .explain import layer_shapes, minimum_image_size

    minimum = minimum_image_size(layers)
    if min(size) < minimum:
        size_text = size[0] if size[0] == size[1] else f"{size[0]}x{size[1]}"
        raise CommandError(
            f"{option} {size_text} is too small: the blog's model needs images of at "
            f"least {minimum}x{minimum} pixels."
        )
    return layer_shapes(layers, (*size, 3))


def _memory_bytes() -> int | None:
    """Return the physical memory of this machine in bytes, or None if unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # No sysconf on Windows.
        return None


def _format_bytes(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def estimate_training_bytes(rows: list, images: int) -> int:
    """Estimate the memory of the weights and the image cache in bytes.

    Four float32 copies of the parameters (weights, gradients, RMSprop's mean
    squares and one update temporary), almost all of them in the first dense layer
    for large images, plus the uint8 cache of ``images`` decoded images.

    NOTE: this is an estimate from the shapes alone, and a lower bound. It leaves
    out the layer outputs of a batch, the kernels' scratch arrays and Python's own
    use, so training may need several times more.
    """
    parameters = sum(row.params for row in rows)
    cache = images * math.prod(rows[0].input_shape)
    return 4 * 4 * parameters + cache


def _count_images(data: Path) -> int:
    from .data import IMAGE_EXTENSIONS

    return sum(
        1
        for path in data.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()
    )


def check_training_memory(
    rows: list, args: argparse.Namespace, cached_images: bool = True
) -> None:
    """Reject an ``args.image_size`` whose training clearly cannot fit in memory.

    Only sizes whose `estimate_training_bytes` exceeds the machine's physical memory
    are rejected, so a size that passes may still run out of memory. Without
    ``cached_images`` (Keras reads each batch from disk) only the weights count.
    """
    memory = _memory_bytes()
    if memory is None or not args.data.is_dir():
        return
    images = _count_images(args.data) if cached_images else 0
    needed = estimate_training_bytes(rows, images)
    if needed > memory:
        contents = "the weights"
        if images:
            contents = f"the weights and {images} image files"
        raise CommandError(
            f"--image-size {args.image_size} needs an estimated "
            f"{_format_bytes(needed)} of memory for {contents}, more than the "
            f"{_format_bytes(memory)} of this machine. Choose a smaller --image-size."
        )


def split_files(
    data: Path,
    validation_fraction: float,
    seed: int,
    folds: int | None = None,
    fold: int | None = None,
) -> tuple[list[str], list[str]]:
    """Split a folder of class folders into training and validation files.

    Without ``folds`` and ``fold`` this is the hold-out split of
    `split_class_folders`, otherwise fold ``fold`` of `fold_class_folders`. Both
    engines' ``train`` commands split through here, so they validate on the same
    photos for the same options.

    Returns
    -------
    train_files, validation_files : list of str
        Paths relative to ``data``, such as ``'class_name/photo.jpg'``.

    Raises
    ------
    CommandError
        If only one of ``folds`` and ``fold`` is given, ``fold`` is out of range,
        or ``data`` is already split into ``train/`` and ``validation/``.
    """
    from .data import fold_class_folders, split_class_folders

    if folds is None and fold is None:
        return split_class_folders(data, validation_fraction, seed)
    if folds is None or fold is None:
        raise CommandError("--folds and --fold must be given together.")
    if folds < 2 or not 0 <= fold < folds:
        raise CommandError(
            f"--folds must be at least 2 and --fold from 0 to --folds minus 1. "
            f"Received --folds {folds} --fold {fold}."
        )
    if (data / "train").is_dir() and (data / "validation").is_dir():
        raise CommandError(
            f"{data} is already split into train/ and validation/, so it cannot be "
            "split into folds. Pass the folder of class folders instead."
        )
    return fold_class_folders(data, folds, fold, seed)


def split_meta(args: argparse.Namespace) -> dict:
    """Return the ``meta`` entries of history.json that name the split."""
    if args.folds is None:
        return {"validation_fraction": args.validation_fraction}
    return {"folds": args.folds, "fold": args.fold}


def make_iterators(args: argparse.Namespace, augment: bool):
    """Build the training and validation iterators for ``args.data``."""
    from .data import DirectoryIterator, ImageAugmenter

    data = args.data
    if not data.is_dir():
        raise CommandError(f"Data folder not found: {data}")
    size = (args.image_size, args.image_size)
    train_augmenter = ImageAugmenter(
        **(BLOG_AUGMENTATION if augment else {}), rescale=BLOG_RESCALE
    )
    validation_augmenter = ImageAugmenter(rescale=BLOG_RESCALE)
    common = {"target_size": size, "batch_size": args.batch_size}
    if (
        args.folds is None
        and (data / "train").is_dir()
        and (data / "validation").is_dir()
    ):
        train = DirectoryIterator(
            data / "train",
            augmenter=train_augmenter,
            shuffle=True,
            seed=args.seed,
            **common,
        )
        validation = DirectoryIterator(
            data / "validation",
            augmenter=validation_augmenter,
            shuffle=False,
            classes=list(train.class_indices),
            **common,
        )
        return train, validation
    train_files, validation_files = split_files(
        data, args.validation_fraction, args.seed, args.folds, args.fold
    )
    train = DirectoryIterator(
        data,
        files=train_files,
        augmenter=train_augmenter,
        shuffle=True,
        seed=args.seed,
        **common,
    )
    validation = DirectoryIterator(
        data,
        files=validation_files,
        augmenter=validation_augmenter,
        shuffle=False,
        classes=list(train.class_indices),
        **common,
    )
    return train, validation


def write_history(path: Path, history: dict, meta: dict) -> None:
    """Write ``history.json``: Keras's per-epoch keys plus a ``meta`` entry."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps({**history, "meta": meta}, indent=2) + "\n")
    os.replace(temporary, path)


@contextlib.contextmanager
def _sigint_deferred():
    """Hold back Ctrl-C until the block ends, then raise KeyboardInterrupt."""
    received = []
    try:
        previous = signal.signal(
            signal.SIGINT, lambda signum, frame: received.append(signum)
        )
    except ValueError:  # Only the main thread may set signal handlers.
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _swap_in(staging: Path, out: Path, names: list[str]) -> list[str]:
    """Move the staged files into ``out``, all of them or none.

    Each earlier file is first moved aside into ``staging``, so that a failed move
    can put it back. Returns the names that replaced an earlier file.
    """
    previous = staging / "previous"
    previous.mkdir()
    moved_aside, moved_in = [], []
    try:
        for name in names:
            if (out / name).exists():
                os.replace(out / name, previous / name)
                moved_aside.append(name)
            os.replace(staging / name, out / name)
            moved_in.append(name)
    except BaseException:
        for name in moved_in:
            (out / name).unlink(missing_ok=True)
        for name in moved_aside:
            os.replace(previous / name, out / name)
        raise
    return moved_aside


def save_run(out: Path, writers: dict[str, Callable[[Path], object]]) -> list[str]:
    """Write a run's files into ``out`` so that ``out`` never mixes two runs.

    Every file is first written into a staging folder inside ``out``. Only when all
    are complete are they renamed into place, with Ctrl-C held back during the
    renames, so an interruption leaves either the earlier files or the new ones.

    Parameters
    ----------
    out : Path
        The run folder. It is created if missing.
    writers : dict of str to callable
        For each file name, a function that writes that file to the path it is
        given.

    Returns
    -------
    list of str
        The names that replaced a file of an earlier run.
    """
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=out))
    replaced = None
    try:
        for name, write in writers.items():
            write(staging / name)
        with _sigint_deferred():
            replaced = _swap_in(staging, out, list(writers))
    except Exception as error:
        # Ctrl-C during a module's first import, which can happen while the curve is
        # drawn, surfaces as an ImportError whose context is the interrupt.
        if not isinstance(error.__context__, KeyboardInterrupt):
            raise
        print(
            f"Interrupted while saving: no file in {out} was replaced.", file=sys.stderr
        )
        raise KeyboardInterrupt from error
    except KeyboardInterrupt:
        if replaced is None:
            outcome = f"no file in {out} was replaced"
        else:
            outcome = f"{out} contains the complete new run"
        print(f"Interrupted while saving: {outcome}.", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return replaced


def finish_run(
    args: argparse.Namespace,
    engine: str,
    history: dict[str, list[float]],
    train,
    validation,
    seconds: float,
    model_files: dict[str, Callable[[Path], object]],
    **extra_meta,
) -> None:
    """Save the run files, then print the final metrics.

    Both engines' `train` commands end here, so their run folders and closing lines
    can be compared file by file. ``model_files`` maps each model file name to a
    function that writes it to a given path. ``history.json`` and
    ``learning_curve.png`` follow, and `save_run` moves them all into ``args.out``
    together. ``extra_meta`` adds engine-specific entries to ``history.json``.
    """
    meta = {
        "engine": engine,
        "image_size": args.image_size,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "dropout": args.dropout,
        "block_dropout": args.block_dropout,
        "seed": args.seed,
        **split_meta(args),
        "augment": not args.no_augment,
        "class_names": list(train.class_indices),
        "train_samples": train.samples,
        "validation_samples": validation.samples,
        "wall_seconds": round(seconds, 1),
        **extra_meta,
    }
    title = f"{engine}, {args.image_size}x{args.image_size}, {args.epochs} epochs"
    writers = {
        **model_files,
        "history.json": lambda path: write_history(path, history, meta),
        "learning_curve.png": lambda path: plot_learning_curves(
            {engine: history}, path, title=title
        ),
    }
    replaced = save_run(args.out, writers)

    last = {key: values[-1] for key, values in history.items()}
    print(
        f"Finished {args.epochs} epochs in {seconds:.0f} s: "
        f"loss {last['loss']:.4f}, accuracy {last['accuracy']:.4f}, "
        f"val_loss {last['val_loss']:.4f}, val_accuracy {last['val_accuracy']:.4f} "
        f"(the blog: accuracy {BLOG_ACCURACY['accuracy']}, "
        f"val_accuracy {BLOG_ACCURACY['val_accuracy']})."
    )
    print(f"Wrote {', '.join(str(args.out / name) for name in writers)}")
    if replaced:
        print(f"Replaced the earlier run's {', '.join(replaced)}")


def run_train(args: argparse.Namespace) -> int:
    from .explain import blog_model_template

    # Check the size on the shapes alone, before any photo is decoded.
    template = blog_model_template(args.dropout, args.block_dropout)
    rows = check_image_size(template.layers, (args.image_size, args.image_size))
    check_training_memory(rows, args)
    check_run_folder(args.out, args.overwrite)
    train, validation = make_iterators(args, augment=not args.no_augment)
    class_names = list(train.class_indices)
    print(
        f"Training on {train.samples} images, validating on {validation.samples}, "
        f"classes {class_names} (0, 1)."
    )

    model = build_blog_model(
        args.image_size,
        dropout=args.dropout,
        seed=args.seed,
        learning_rate=args.learning_rate,
        dropout_after_blocks=args.block_dropout,
    )
    model.class_names = class_names
    model.preprocessing = {
        "image_size": [args.image_size, args.image_size],
        "rescale": BLOG_RESCALE,
    }

    started = time.perf_counter()
    history = model.fit(
        train,
        epochs=args.epochs,
        validation_data=validation,
        verbose=0 if args.quiet else 1,
    )
    seconds = time.perf_counter() - started

    model_files = {"model.npz": model.save}
    finish_run(args, PROGRAM, history.history, train, validation, seconds, model_files)
    return 0


# predict


def run_predict(args: argparse.Namespace) -> int:
    """Print the class and confidence of each readable photo.

    An unreadable photo gets one warning line on stderr and no result. The command
    then still prints the other results, and exits with status 2 at the end.
    """
    from .data import UnreadableImageError, load_image

    model = load_model(args.model)
    size = tuple(model.preprocessing.get("image_size", model.input_shape[:2]))
    rescale = model.preprocessing.get("rescale", BLOG_RESCALE)
    names = model.class_names or ["class 0", "class 1"]
    paths, images = [], []
    for path in args.images:
        try:
            images.append(load_image(path, size))
        except UnreadableImageError as error:
            print(f"warning: {error}", file=sys.stderr)
            continue
        paths.append(path)

    if images:
        batch = (np.stack(images) * rescale).astype(np.float32)
        probabilities = model.predict(batch)[:, 0]
        for path, probability in zip(paths, probabilities, strict=True):
            index = int(probability > 0.5)
            confidence = probability if index else 1.0 - probability
            print(f"{path}\t{names[index]}\t{confidence:.4f}")
    unreadable = len(args.images) - len(paths)
    if unreadable:
        raise CommandError(
            f"{unreadable} of {len(args.images)} images could not be read, so they "
            "have no result."
        )
    return 0


# summary


def run_summary(args: argparse.Namespace) -> int:
    if args.model is not None:
        print(load_model(args.model).summary())
        return 0
    from .explain import blog_model_template, format_summary

    template = blog_model_template(args.dropout)
    rows = check_image_size(template.layers, (args.image_size, args.image_size))
    print(format_summary(template.name, rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROGRAM}",
        description="Train and use a convnet written by hand in NumPy and Numba.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train the blog's model on a folder of class folders"
    )
    add_train_arguments(train)
    train.set_defaults(run=run_train)

    predict = commands.add_parser("predict", help="classify images with a model file")
    predict.add_argument("model", type=Path, help="model.npz written by train")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    predict.set_defaults(run=run_predict)

    summary = commands.add_parser(
        "summary", help="print the layer table of the default model or a model file"
    )
    summary.add_argument(
        "--image-size",
        type=positive_int,
        default=75,
        help="square side of the input images, in pixels (default: 75)",
    )
    summary.add_argument(
        "--dropout", type=_rate, default=0.25, help="dropout rate (default: 0.25)"
    )
    summary.add_argument("--model", type=Path, help="describe this model file instead")
    summary.set_defaults(run=run_summary)

    from .teach import add_teaching_commands

    add_teaching_commands(commands)
    return parser


@contextlib.contextmanager
def one_line_warnings(prefix: str):
    """Print each warning in the block as one line, ``PREFIX: warning: MESSAGE``.

    Python's default format adds the file, line number, category and source line,
    which mean nothing to a user of the command line.
    """

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prefix}: warning: {message}", file=file or sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    prefix = f"{parser.prog} {args.command}"
    try:
        with one_line_warnings(prefix):
            return args.run(args)
    except (CommandError, ModelFileError, ValueError, OSError) as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"{prefix}: error: out of memory. Try a smaller --image-size or "
            "--batch-size.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
