"""Learning-curve plots shared by both engines' training commands."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Files only: the commands run on machines with no display.
import matplotlib.pyplot as plt  # noqa: E402

# Final accuracies after 50 epochs reported by the blog this project grew from.
BLOG_ACCURACY = {"accuracy": 0.8091, "val_accuracy": 0.7359}


def plot_learning_curves(
    histories: dict[str, dict[str, list[float]]],
    path: str | os.PathLike,
    title: str = "Learning curves",
    show_blog: bool = True,
) -> Path:
    """Draw accuracy and loss per epoch for one or more runs into one PNG.

    Parameters
    ----------
    histories : dict of label -> history dict
        Each history has Keras's keys (``loss``, ``accuracy`` and, when validated,
        ``val_loss``, ``val_accuracy``), one value per epoch.
    path : path-like
        Where to write the PNG. A temporary file is renamed into place when complete.
    show_blog : bool, default=True
        Draw the blog's final accuracies as dotted horizontal lines.
    """
    path = Path(path)
    figure, (accuracy_axes, loss_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (label, history) in enumerate(histories.items()):
        colour = colours[index % len(colours)]
        for key, style in (("", "-"), ("val_", "--")):
            split = "validation" if key else "training"
            for axes, metric in ((accuracy_axes, "accuracy"), (loss_axes, "loss")):
                values = history.get(key + metric)
                if not values:
                    continue
                epochs = range(1, len(values) + 1)
                axes.plot(epochs, values, style, color=colour, label=f"{label} {split}")
    if show_blog:
        for key, value in BLOG_ACCURACY.items():
            split = "validation" if key.startswith("val_") else "training"
            accuracy_axes.axhline(
                value, color="grey", linestyle=":", linewidth=1, label=f"blog {split}"
            )
    for axes, metric in ((accuracy_axes, "accuracy"), (loss_axes, "loss")):
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
    accuracy_axes.legend(fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp.png")
    try:
        figure.savefig(temporary, dpi=100)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        temporary.unlink(missing_ok=True)
    return path
