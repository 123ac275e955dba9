"""Pictures of the model's inputs, filters, feature maps and mistakes, as PNGs.

Each function draws one kind of picture, writes it under a temporary name, renames
it into place, and returns the numbers it drew so that tests can check them. Figure
sizes are fixed per kind (the ``*_SIZE`` constants, in inches at `DPI`), so a PNG's
pixel size does not depend on the data.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Files only: the commands run on machines with no display.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .blog_model import BLOG_AUGMENTATION  # noqa: E402
from .plots import plot_learning_curves  # noqa: E402

DPI = 100
AUGMENT_SIZE = (7.5, 8.0)
FILTERS_SIZE = (8.0, 5.0)
FEATURE_MAPS_SIZE = (8.0, 8.5)
CONFUSION_SIZE = (5.0, 4.5)
MISCLASSIFIED_SIZE = (10.0, 8.0)

# One preview per transform of the blog's augmentation, then all of them together.
PREVIEW_TRANSFORMS = {
    "rotation": {"rotation_range": BLOG_AUGMENTATION["rotation_range"]},
    "width_shift": {"width_shift_range": BLOG_AUGMENTATION["width_shift_range"]},
    "height_shift": {"height_shift_range": BLOG_AUGMENTATION["height_shift_range"]},
    "shear": {"shear_range": BLOG_AUGMENTATION["shear_range"]},
    "zoom": {"zoom_range": BLOG_AUGMENTATION["zoom_range"]},
    "horizontal_flip": {"horizontal_flip": BLOG_AUGMENTATION["horizontal_flip"]},
    "combined": {
        key: value for key, value in BLOG_AUGMENTATION.items() if key != "fill_mode"
    },
}


def write_atomically(path: str | os.PathLike, write) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    The temporary file sits in the same folder, so the rename is atomic and a
    reader never finds half a file. It is removed if ``write`` fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its files are private (0600), and pictures are for
    # sharing, so the file takes the usual permissions from the umask.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def save_figure(figure, path: str | os.PathLike) -> Path:
    """Write ``figure`` to ``path`` as a PNG at `DPI` (atomically), then close it."""
    try:
        return write_atomically(
            path, lambda target: figure.savefig(target, dpi=DPI, format="png")
        )
    finally:
        plt.close(figure)


def _grid_shape(count: int, columns: int) -> tuple[int, int]:
    return math.ceil(count / columns), columns


def _hide_axes(axes_array) -> None:
    for axes in np.ravel(axes_array):
        axes.set_xticks([])
        axes.set_yticks([])


# Augmentation


def _describe_params(params: dict) -> str:
    """Name the parameters that differ from the identity, for a tile title."""
    parts = []
    if params.get("theta"):
        parts.append(f"rot {params['theta']:+.0f}°")
    if params.get("tx"):
        parts.append(f"tx {params['tx']:+.0f}px")
    if params.get("ty"):
        parts.append(f"ty {params['ty']:+.0f}px")
    if params.get("shear"):
        parts.append(f"shear {params['shear']:+.2f}°")
    if params.get("zx", 1.0) != 1.0 or params.get("zy", 1.0) != 1.0:
        parts.append(f"zoom {params['zx']:.2f}x{params['zy']:.2f}")
    if params.get("flip_horizontal"):
        parts.append("flipped")
    if not parts:
        return "unchanged"
    # Two per line keeps the combined transform's titles inside their tiles.
    pairs = [", ".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]
    return "\n".join(pairs)


def augmentation_preview(
    image: np.ndarray,
    out_dir: str | os.PathLike,
    count: int = 8,
    seed: int = 0,
) -> dict[str, tuple[list[dict], np.ndarray]]:
    """Write one PNG per transform: the photo and ``count`` random versions of it.

    The transforms are the blog's (`BLOG_AUGMENTATION`), first one at a time, then
    all together as training applies them. Each picture is drawn with its own
    generator seeded with ``seed``, so the same seed gives the same pictures.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        A photo on the 0..255 scale, as `data.load_image` returns it.
    out_dir : path-like
        Folder for ``augment_<transform>.png``.
    count : int, default=8
        Random versions per transform, at most 15.

    Returns
    -------
    dict of str to (list of dict, ndarray of shape (count, H, W, 3))
        For each transform name, the parameters drawn and the images they gave.
    """
    from .data import ImageAugmenter

    if not 1 <= count <= 15:
        raise ValueError(
            f"Invalid value for argument `count`. Expected 1 to 15. Received {count}."
        )
    out_dir = Path(out_dir)
    results = {}
    for name, options in PREVIEW_TRANSFORMS.items():
        augmenter = ImageAugmenter(**options, fill_mode=BLOG_AUGMENTATION["fill_mode"])
        rng = np.random.default_rng(seed)
        drawn = [augmenter.random_transform(image.shape, rng) for _ in range(count)]
        images = np.stack([augmenter.apply_transform(image, p) for p in drawn])
        results[name] = (drawn, images)

        rows, columns = _grid_shape(count + 1, 4 if count + 1 > 9 else 3)
        figure, axes = plt.subplots(rows, columns, figsize=AUGMENT_SIZE)
        tiles = [("original", image)] + [
            (_describe_params(p), im) for p, im in zip(drawn, images, strict=True)
        ]
        for axis, (title, tile) in zip(np.ravel(axes), tiles, strict=False):
            axis.imshow(np.clip(tile, 0, 255).astype(np.uint8))
            axis.set_title(title, fontsize=7)
        _hide_axes(axes)
        for axis in np.ravel(axes)[len(tiles) :]:
            axis.set_visible(False)
        settings = ", ".join(f"{key}={value}" for key, value in options.items())
        figure.suptitle(f"{name.replace('_', ' ')}: {settings}", wrap=True)
        figure.tight_layout()
        save_figure(figure, out_dir / f"augment_{name}.png")
    return results


# Filters and feature maps


def first_conv_layer(model):
    """Return the model's first Conv2D layer.

    Raises
    ------
    ValueError
        If the model has no Conv2D layer.
    """
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D":
            return layer
    kinds = [type(layer).__name__ for layer in model.layers]
    raise ValueError(f"The model has no Conv2D layer to draw. Its layers: {kinds}.")


def filter_tiles(kernel: np.ndarray) -> np.ndarray:
    """Scale each filter of ``kernel`` to 0..1 on its own, for display as RGB.

    Parameters
    ----------
    kernel : ndarray of shape (f_h, f_w, 3, F)

    Returns
    -------
    ndarray of shape (F, f_h, f_w, 3)
        ``(w - min) / (max - min)`` per filter. A constant filter becomes 0.5.
    """
    tiles = np.moveaxis(np.asarray(kernel, dtype=np.float64), -1, 0)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    span = tiles.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.divide(tiles - low, span, out=np.full_like(tiles, 0.5), where=span > 0)
    return scaled


def plot_filters(model, path: str | os.PathLike) -> np.ndarray:
    """Draw the first convolution layer's filters as small RGB pictures.

    A bright red cell is a weight that responds to red at that position. Each
    filter is scaled on its own, so the pictures compare shapes, not strengths.

    Returns
    -------
    ndarray of shape (F, f_h, f_w, 3)
        The tiles drawn, see `filter_tiles`.
    """
    layer = first_conv_layer(model)
    kernel = layer.params["kernel"]
    if kernel.shape[2] != 3:
        raise ValueError(
            f"Layer {layer.name!r} reads {kernel.shape[2]} channels, but only a "
            "first layer that reads RGB images can be drawn as colour pictures."
        )
    tiles = filter_tiles(kernel)
    rows, columns = _grid_shape(len(tiles), 8)
    figure, axes = plt.subplots(rows, columns, figsize=FILTERS_SIZE, squeeze=False)
    for index, axis in enumerate(np.ravel(axes)):
        if index < len(tiles):
            axis.imshow(tiles[index], interpolation="nearest")
            axis.set_title(str(index), fontsize=7)
        else:
            axis.set_visible(False)
    _hide_axes(axes)
    f_h, f_w = kernel.shape[:2]
    figure.suptitle(
        f"{layer.name}: {len(tiles)} filters of {f_h}x{f_w}x3, each scaled to its "
        "own range"
    )
    save_figure(figure, path)
    return tiles


def feature_maps(
    model,
    image: np.ndarray,
    out_dir: str | os.PathLike,
    channels: int = 16,
) -> list[tuple[str, np.ndarray]]:
    """Run one image through the model layer by layer and draw each spatial output.

    Parameters
    ----------
    model : Sequential
        A built model.
    image : ndarray of shape (H, W, 3)
        The photo, already rescaled as the model expects.
    out_dir : path-like
        Folder for ``NN_<layer>.png``, one per layer whose output is (N, H, W, C).
    channels : int, default=16
        How many channels of each output to draw (the first ones).

    Returns
    -------
    list of (str, ndarray)
        Each layer's name and its output for this image, batch axis included,
        in inference mode.
    """
    out_dir = Path(out_dir)
    x = np.asarray(image, dtype=np.float32)[np.newaxis]
    outputs = []
    for index, layer in enumerate(model.layers, start=1):
        x = layer.forward(x, training=False)
        outputs.append((layer.name, x))
        if x.ndim == 4:
            _plot_channels(
                x[0],
                channels,
                f"{layer.name} ({type(layer).__name__}): output "
                f"{'x'.join(map(str, x.shape[1:]))}, first {min(channels, x.shape[3])} "
                "channels",
                out_dir / f"{index:02d}_{layer.name}.png",
            )
    return outputs


def _plot_channels(volume: np.ndarray, channels: int, title: str, path: Path) -> None:
    shown = min(channels, volume.shape[2])
    columns = math.ceil(math.sqrt(shown))
    rows, columns = _grid_shape(shown, columns)
    figure, axes = plt.subplots(rows, columns, figsize=FEATURE_MAPS_SIZE, squeeze=False)
    for index, axis in enumerate(np.ravel(axes)):
        if index < shown:
            axis.imshow(volume[:, :, index], cmap="viridis", interpolation="nearest")
            axis.set_title(f"channel {index}", fontsize=7)
        else:
            axis.set_visible(False)
    _hide_axes(axes)
    figure.suptitle(title, fontsize=10)
    save_figure(figure, path)


# Learning curves


HISTORY_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def read_history(path: str | os.PathLike) -> tuple[str, dict]:
    """Read and check a run's ``history.json`` (or the file in a run folder).

    Returns
    -------
    label : str
        The engine named in the file's ``meta`` entry, else the run folder's name.
    history : dict
        Keras's keys (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``).

    Raises
    ------
    ValueError
        If the file is missing, is not JSON, or is not an object whose metrics are
        lists of numbers, at least one of them non-empty. The message names the
        file and the first problem found.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "history.json"
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"History file not found: {path}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"Invalid history file {path}: {error}") from None
    problem = _history_problem(content)
    if problem is not None:
        raise ValueError(f"Invalid history file {path}: {problem}.")
    meta = content.pop("meta", {})
    return meta.get("engine", path.parent.name), content


def _history_problem(content: object) -> str | None:
    """Return what makes ``content`` an invalid history, or None if it is valid."""
    if not isinstance(content, dict):
        return (
            'expected a JSON object of per-epoch lists such as "loss", found '
            f"a JSON {type(content).__name__}"
        )
    if not isinstance(content.get("meta", {}), dict):
        return '"meta" must be a JSON object'
    for key in HISTORY_METRICS:
        values = content.get(key, [])
        if not isinstance(values, list):
            return f'"{key}" must be a list of numbers, found {values!r}'
        for epoch, value in enumerate(values, start=1):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f'"{key}" has {json.dumps(value)} at epoch {epoch}, not a number'
    if not any(content.get(key) for key in HISTORY_METRICS):
        return f"no values for any of {', '.join(HISTORY_METRICS)}"
    return None


def compare_learning_curves(
    runs: list[str | os.PathLike], path: str | os.PathLike
) -> dict[str, dict]:
    """Draw the learning curves of several runs, such as both engines, in one PNG.

    Returns
    -------
    dict of str to dict
        The histories drawn, by label. A second run of the same engine is labelled
        with its folder name too.
    """
    histories = {}
    for run in runs:
        label, history = read_history(run)
        if label in histories:
            label = f"{label} ({Path(run).resolve().name})"
        histories[label] = history
    plot_learning_curves(histories, path, title="Learning curves")
    return histories


# Confusion matrix


@dataclass(frozen=True)
class Evaluation:
    """Predictions of a model on labelled images.

    Attributes
    ----------
    matrix : ndarray of shape (2, 2), int
        ``matrix[true, predicted]`` counts.
    probabilities : ndarray of shape (N,)
        Probability of class 1 for each image.
    labels : ndarray of shape (N,), int
    paths : list of str
        The image files, in the order of ``labels``.
    class_names : list of str
    """

    matrix: np.ndarray
    probabilities: np.ndarray
    labels: np.ndarray
    paths: list[str]
    class_names: list[str]

    @property
    def predicted(self) -> np.ndarray:
        # As Keras 3's binary accuracy, which counts exactly 0.5 as class 0.
        return (self.probabilities > 0.5).astype(int)

    @property
    def misclassified(self) -> np.ndarray:
        """Indices of the images whose prediction differs from the label."""
        return np.flatnonzero(self.predicted != self.labels)


def evaluate_images(model, iterator) -> Evaluation:
    """Predict every image of an unshuffled iterator and count the outcomes.

    Parameters
    ----------
    model : Sequential
    iterator : DirectoryIterator
        Must not shuffle, so batches come in the order of ``iterator.filenames``.
    """
    if iterator.shuffle:
        raise ValueError(
            "Invalid value for argument `iterator`. Expected one built with "
            "shuffle=False, so that predictions line up with iterator.filenames."
        )
    probabilities = [model.predict(x)[:, 0] for x, _ in iterator]
    probabilities = np.concatenate(probabilities)
    labels = np.asarray(iterator.classes, dtype=int)
    predicted = (probabilities > 0.5).astype(int)
    matrix = np.zeros((2, 2), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return Evaluation(
        matrix=matrix,
        probabilities=probabilities,
        labels=labels,
        paths=list(iterator.filepaths),
        class_names=list(iterator.class_indices),
    )


def format_confusion(evaluation: Evaluation) -> str:
    """Return the confusion matrix and the accuracy as a small text table."""
    names = evaluation.class_names
    matrix = evaluation.matrix
    width = max(len(name) for name in names) + 2
    corner = "true / predicted"
    first = max(width, len(corner) + 2)
    lines = [corner.ljust(first) + "".join(name.rjust(width) for name in names)]
    for name, row in zip(names, matrix, strict=True):
        lines.append(name.ljust(first) + "".join(str(n).rjust(width) for n in row))
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    lines.append(
        f"accuracy {accuracy:.4f} on {matrix.sum()} images, "
        f"{len(evaluation.misclassified)} misclassified"
    )
    return "\n".join(lines)


def plot_confusion(evaluation: Evaluation, path: str | os.PathLike) -> Path:
    """Draw the 2x2 confusion matrix with counts and row percentages."""
    matrix = evaluation.matrix
    names = evaluation.class_names
    figure, axes = plt.subplots(figsize=CONFUSION_SIZE)
    axes.imshow(matrix, cmap="Blues", vmin=0)
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(
            col, row, f"{count}\n{shares[row, col]:.0%}", ha="center", va="center",
            color=colour,
        )  # fmt: skip
    axes.set_xticks([0, 1], names)
    axes.set_yticks([0, 1], names, rotation=90, va="center")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axes.set_title(f"{matrix.sum()} images, accuracy {accuracy:.4f}")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_misclassified(
    evaluation: Evaluation, path: str | os.PathLike, limit: int = 24
) -> list[int]:
    """Draw up to ``limit`` misclassified photos, the most confident mistakes first.

    Returns
    -------
    list of int
        Indices, into ``evaluation.paths``, of the photos drawn.
    """
    from .data import load_image

    wrong = evaluation.misclassified
    confidence = np.abs(evaluation.probabilities[wrong] - 0.5)
    shown = [int(i) for i in wrong[np.argsort(-confidence, kind="stable")][:limit]]
    columns = 6
    rows = max(math.ceil(len(shown) / columns), 1)
    figure, axes = plt.subplots(
        rows, columns, figsize=MISCLASSIFIED_SIZE, squeeze=False
    )
    names = evaluation.class_names
    for axis, index in zip(np.ravel(axes), shown, strict=False):
        axis.imshow(load_image(evaluation.paths[index], (128, 128)).astype(np.uint8))
        probability = evaluation.probabilities[index]
        true_name = names[evaluation.labels[index]]
        axis.set_title(
            f"{Path(evaluation.paths[index]).name}\ntrue {true_name}"
            f"\np({names[1]}) = {probability:.2f}",
            fontsize=6,
        )
    for axis in np.ravel(axes)[len(shown) :]:
        axis.set_visible(False)
    _hide_axes(axes)
    total = len(evaluation.labels)
    figure.suptitle(
        f"{len(wrong)} of {total} validation photos misclassified"
        + (
            f", the {len(shown)} most confident shown"
            if len(wrong) > len(shown)
            else ""
        )
    )
    if not shown:
        figure.text(0.5, 0.5, "No photo was misclassified.", ha="center")
    save_figure(figure, path)
    return shown
