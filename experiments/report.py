"""Build ``results.md`` and its pictures from the runs' ``history.json`` files.

Every number in the tables is read from a history file when the report is written,
so rewriting the report after each run keeps it true to the runs so far. Text
between the notes markers of an existing report is kept, so that findings written
by hand survive a rewrite.
"""

from __future__ import annotations

import datetime
import os
import re
import statistics
from pathlib import Path

from convnet_from_scratch.blog_model import BLOG_RESCALE
from convnet_from_scratch.cli import split_files
from convnet_from_scratch.data import (
    DirectoryIterator,
    ImageAugmenter,
    find_classes,
    list_class_files,
)
from convnet_from_scratch.figures import evaluate_images, format_confusion, save_figure
from convnet_from_scratch.model_file import load_model
from convnet_from_scratch.plots import BLOG_ACCURACY, plot_learning_curves

from .plan import ENGINES, EXPERIMENTS, Run, Settings
from .runner import is_finished, read_json

NOTES_START = "<!-- notes:start (kept when the report is rewritten) -->"
NOTES_END = "<!-- notes:end -->"
DEFAULT_NOTES = "No findings have been written down for these runs yet."
# Epochs at the end of a run whose validation accuracy gives its spread.
LAST_EPOCHS = 10
# Learning-curve PNGs are reduced to a palette of this many colours, which keeps
# them well under 100 KB without blurring the lines.
PNG_COLOURS = 64


def summarize_history(history: dict) -> dict:
    """Return the figures the tables show for one run.

    Parameters
    ----------
    history : dict
        A ``history.json`` object: Keras's per-epoch lists and a ``meta`` entry.

    Returns
    -------
    dict
        Final and best training and validation accuracy, the epoch (from 1) of the
        best validation accuracy, the mean and standard deviation of the validation
        accuracy over the last `LAST_EPOCHS` epochs, and the training time in
        seconds that the engine recorded.
    """
    accuracy = history["accuracy"]
    val_accuracy = history["val_accuracy"]
    last = val_accuracy[-LAST_EPOCHS:]
    best_epoch = max(range(len(val_accuracy)), key=val_accuracy.__getitem__)
    return {
        "epochs": len(accuracy),
        "final_accuracy": accuracy[-1],
        "best_accuracy": max(accuracy),
        "final_val_accuracy": val_accuracy[-1],
        "best_val_accuracy": val_accuracy[best_epoch],
        "best_val_epoch": best_epoch + 1,
        "last_val_mean": statistics.fmean(last),
        "last_val_std": statistics.pstdev(last),
        "last_epochs": len(last),
        "fit_seconds": history.get("meta", {}).get("wall_seconds"),
        "validation_samples": history.get("meta", {}).get("validation_samples"),
    }


def run_status(run: Run, runs_dir: Path) -> str:
    """Return ``'finished'``, ``'failed'``, ``'running'`` or ``'not run yet'``."""
    if is_finished(run, runs_dir):
        return "finished"
    folder = runs_dir / run.folder
    record = read_json(folder / "run.json")
    if record is not None and record.get("returncode") != 0:
        return "failed"
    if (folder / "train.log").exists() and record is None:
        return "running"
    return "not run yet"


def number(value: float) -> str:
    return f"{value:.4f}"


def minutes(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 60:.1f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def shrink_png(path: Path) -> None:
    """Reduce a PNG to `PNG_COLOURS` colours in place."""
    from PIL import Image

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=PNG_COLOURS)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    reduced.save(temporary, format="PNG", optimize=True)
    os.replace(temporary, path)


class Report:
    """The runs of one plan, their histories and the report's sections."""

    def __init__(
        self,
        runs: list[Run],
        runs_dir: Path,
        docs_dir: Path,
        settings: Settings,
        command: str,
    ) -> None:
        self.runs = runs
        self.runs_dir = Path(runs_dir)
        self.docs_dir = Path(docs_dir)
        self.pictures = self.docs_dir / "results"
        self.settings = settings
        self.command = command
        self.index = {
            (run.dataset, run.experiment.name, run.engine, run.fold): run
            for run in runs
        }
        self.status = {run: run_status(run, self.runs_dir) for run in runs}
        self.histories = {
            run: read_json(self.runs_dir / run.folder / "history.json")
            for run in runs
            if self.status[run] == "finished"
        }
        self.summaries = {
            run: summarize_history(history) for run, history in self.histories.items()
        }

    def find(self, dataset: str, experiment: str, engine: str, fold=None) -> Run:
        """Return the planned run of these names; KeyError if it is not planned."""
        return self.index[dataset, experiment, engine, fold]

    def datasets(self) -> dict[str, Path]:
        return {run.dataset: run.data for run in self.runs}

    # Pictures

    def plot_experiment(self, dataset: str, experiment: str) -> str | None:
        """Draw both engines' learning curves of one experiment; return the link."""
        histories = {}
        for engine in ENGINES:
            run = self.find(dataset, experiment, engine)
            if run in self.histories:
                curves = dict(self.histories[run])
                curves.pop("meta", None)
                histories[engine] = curves
        if not histories:
            return None
        name = f"{dataset}_{experiment}.png"
        title = f"{dataset}: {EXPERIMENTS[experiment].title}"
        plot_learning_curves(histories, self.pictures / name, title=title)
        shrink_png(self.pictures / name)
        return f"results/{name}"

    def plot_folds(self, dataset: str) -> str | None:
        """Draw each engine's validation accuracy per epoch over the folds."""
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(8, 4))
        drawn = False
        for engine in ENGINES:
            curves = [
                self.histories[run]["val_accuracy"]
                for run in self.fold_runs(dataset, engine)
                if run in self.histories
            ]
            if not curves:
                continue
            drawn = True
            length = min(len(curve) for curve in curves)
            epochs = range(1, length + 1)
            by_epoch = [[curve[i] for curve in curves] for i in range(length)]
            means = [statistics.fmean(values) for values in by_epoch]
            line = axes.plot(epochs, means, label=f"{engine}, mean of {len(curves)}")
            axes.fill_between(
                epochs,
                [min(values) for values in by_epoch],
                [max(values) for values in by_epoch],
                color=line[0].get_color(),
                alpha=0.2,
                label=f"{engine}, lowest to highest fold",
            )
        if not drawn:
            plt.close(figure)
            return None
        axes.axhline(
            BLOG_ACCURACY["val_accuracy"],
            color="grey",
            linestyle=":",
            label="the blog, final",
        )
        axes.set_xlabel("epoch")
        axes.set_ylabel("validation accuracy")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        axes.set_title(f"{dataset}: {self.settings.folds}-fold cross-validation")
        figure.tight_layout()
        name = f"{dataset}_kfold.png"
        save_figure(figure, self.pictures / name)
        shrink_png(self.pictures / name)
        return f"results/{name}"

    # Tables

    def confusion(self, run: Run) -> str | None:
        """Return the confusion matrix of a finished run's model on its validation set.

        Both engines write ``model.npz`` in the hand-written library's format, so
        the hand-written library predicts for both. NOTE: for a Keras run its
        predictions agree with Keras's to about 1e-5, so a photo right at p = 0.5
        could land on the other side.
        """
        if run not in self.histories:
            return None
        settings = self.settings
        meta = self.histories[run]["meta"]
        _, validation_files = split_files(
            run.data,
            settings.validation_fraction,
            settings.seed,
            settings.folds if run.fold is not None else None,
            run.fold,
        )
        iterator = DirectoryIterator(
            run.data,
            target_size=(settings.image_size, settings.image_size),
            batch_size=settings.batch_size,
            shuffle=False,
            augmenter=ImageAugmenter(rescale=BLOG_RESCALE),
            classes=meta["class_names"],
            files=validation_files,
        )
        model = load_model(self.runs_dir / run.folder / "model.npz")
        return format_confusion(evaluate_images(model, iterator))

    def cells(self, run: Run) -> list[str] | None:
        summary = self.summaries.get(run)
        if summary is None:
            return None
        return [
            number(summary["final_accuracy"]),
            number(summary["best_accuracy"]),
            number(summary["final_val_accuracy"]),
            f"{number(summary['best_val_accuracy'])} ({summary['best_val_epoch']})",
            f"{number(summary['last_val_mean'])} ± {number(summary['last_val_std'])}",
            minutes(summary["fit_seconds"]),
        ]

    def experiment_table(self, dataset: str, experiments: list[str]) -> str:
        header = [
            "model",
            "engine",
            "training accuracy, final",
            "training accuracy, best",
            "validation accuracy, final",
            "validation accuracy, best (epoch)",
            f"validation accuracy, last {LAST_EPOCHS} epochs (mean ± sd)",
            "training time (min)",
        ]
        rows = []
        for experiment in experiments:
            for engine in ENGINES:
                run = self.find(dataset, experiment, engine)
                cells = self.cells(run) or [self.status[run]] + [""] * 5
                rows.append([experiment, engine, *cells])
        if "blog" in experiments:
            blog = [BLOG_ACCURACY["accuracy"], BLOG_ACCURACY["val_accuracy"]]
            rows.append(
                ["blog", "the blog (Keras)", number(blog[0]), "", number(blog[1])]
                + [""] * 3
            )
        return table(header, rows)

    def fold_runs(self, dataset: str, engine: str) -> list[Run]:
        return [
            self.find(dataset, "blog", engine, fold)
            for fold in range(self.settings.folds)
        ]

    def fold_table(self, dataset: str) -> str:
        folds = range(self.settings.folds)
        header = ["engine", *(f"fold {fold}" for fold in folds)]
        header += [
            "mean ± sd",
            "lowest to highest",
            "best per fold, mean",
            "training accuracy, final, mean",
            "wall time (min)",
        ]
        rows = []
        for engine in ENGINES:
            runs = self.fold_runs(dataset, engine)
            row = [engine]
            finals, bests, trains, seconds = [], [], [], 0.0
            for run in runs:
                summary = self.summaries.get(run)
                if summary is None:
                    row.append(self.status[run])
                    continue
                row.append(number(summary["final_val_accuracy"]))
                finals.append(summary["final_val_accuracy"])
                bests.append(summary["best_val_accuracy"])
                trains.append(summary["final_accuracy"])
                seconds += self.wall_seconds(run)
            if finals:
                row += [
                    f"{number(statistics.fmean(finals))} ± "
                    f"{number(statistics.pstdev(finals))}"
                    + (f" ({len(finals)} folds)" if len(finals) < len(runs) else ""),
                    f"{number(min(finals))} to {number(max(finals))}",
                    number(statistics.fmean(bests)),
                    number(statistics.fmean(trains)),
                    minutes(seconds),
                ]
            else:
                row += [""] * 5
            rows.append(row)
        return table(header, rows)

    def wall_seconds(self, run: Run) -> float:
        """Return the run's process wall time, or its training time if unrecorded."""
        record = read_json(self.runs_dir / run.folder / "run.json")
        if record is not None and record.get("returncode") == 0:
            return record["wall_seconds"]
        return self.summaries[run]["fit_seconds"] or 0.0

    # The document

    def describe_dataset(self, dataset: str, data: Path) -> str:
        try:
            counts = {
                name: len(list_class_files(data, name)) for name in find_classes(data)
            }
        except OSError:
            return f"The photos of `{dataset}` were not found in {data}."
        classes = ", ".join(f"{name} ({count})" for name, count in counts.items())
        shapes = self.image_shapes(data, counts)
        samples = {
            summary["validation_samples"]
            for run, summary in self.summaries.items()
            if run.dataset == dataset and run.fold is None
        }
        held_out = (
            f" The hold-out split validates on {samples.pop()} of them."
            if len(samples) == 1
            else ""
        )
        return f"{sum(counts.values())} photos: {classes}.{held_out} {shapes}"

    def image_shapes(self, data: Path, counts: dict[str, int]) -> str:
        """Say how many photos are not square, and what resizing does to them."""
        from PIL import Image

        sizes = []
        for name in counts:
            for relative in list_class_files(data, name):
                with Image.open(data / relative) as image:
                    sizes.append(image.size)
        oblong = sum(width != height for width, height in sizes)
        side = self.settings.image_size
        if not oblong:
            return "All of them are square."
        return (
            f"{oblong} of them are not square (widths {min(w for w, _ in sizes)} to "
            f"{max(w for w, _ in sizes)}, heights {min(h for _, h in sizes)} to "
            f"{max(h for _, h in sizes)} pixels). Both engines resize every photo "
            f"to {side}x{side} without keeping its aspect ratio, as "
            "flow_from_directory does, which stretches those photos along one axis."
        )

    def run_log(self) -> str:
        """Tabulate when each finished run started, on what code, for how long."""
        rows = []
        for run in self.runs:
            if run not in self.summaries:
                continue
            record = read_json(self.runs_dir / run.folder / "run.json") or {}
            rows.append(
                [
                    f"`{run.folder}`",
                    record.get("started", "not recorded"),
                    record.get("source") or "not recorded",
                    minutes(record.get("wall_seconds")),
                    minutes(self.summaries[run]["fit_seconds"]),
                ]
            )
        header = ["run", "started", "commit", "wall time (min)", "training (min)"]
        return table(header, rows)

    def not_run(self) -> list[str]:
        """List the unfinished runs by dataset and experiment, with their status."""
        groups: dict[str, dict[str, int]] = {}
        for run in self.runs:
            status = self.status[run]
            if status != "finished":
                group = groups.setdefault("/".join(run.folder.parts[:2]), {})
                group[status] = group.get(status, 0) + 1
        return [
            f"- `{name}`: "
            + ", ".join(f"{count} {status}" for status, count in counts.items())
            for name, counts in groups.items()
        ]

    def render(self, notes: str) -> str:
        settings = self.settings
        finished = sum(status == "finished" for status in self.status.values())
        today = datetime.date.today().isoformat()
        lines = [
            "# Results: the blog's experiment on real photos, in both engines",
            "",
            f"Written by `python -m experiments` on {today} from {finished} of "
            f"{len(self.runs)} planned runs. To rerun any missing runs and rebuild "
            "this page and its pictures, from the repository root:",
            "",
            "```",
            self.command,
            "```",
            "",
            "Finished runs are reused. The run folders are kept outside the "
            "repository, so on a machine without them this command trains all "
            f"{len(self.runs)} runs again; `--report-only` rebuilds the page from "
            "the run folders it finds without training. Each run's folder holds its "
            "`history.json`, and the runs that the runner started also hold their "
            "`train.log` and their command in `run.json`.",
            "",
            f"Every run trains on {settings.image_size}x{settings.image_size} "
            f"images in batches of {settings.batch_size} for {settings.epochs} "
            "epochs with RMSprop (learning rate 0.001). Training images get the "
            "blog's augmentation (rotation 40, shifts 0.2, shear 0.2, zoom 0.2, "
            "horizontal flip), and all images are rescaled by 1/255. Seed "
            f"{settings.seed} draws the split, the weights and the augmentation. "
            "The hold-out split keeps "
            f"{settings.validation_fraction:.0%} of each class for validation; "
            f"k-fold cross-validation uses {settings.folds} stratified folds of the "
            "same seed. Both engines split through the same function, so they "
            "validate on the same photos.",
            "",
            *self.render_uncertainty(),
            "",
            "## Findings",
            "",
            NOTES_START,
            notes,
            NOTES_END,
        ]
        for dataset, data in self.datasets().items():
            lines += self.render_dataset(dataset, data)
        missing = self.not_run()
        lines += ["", "## Runs not finished", ""]
        lines += missing or ["Every planned run has finished."]
        lines += [
            "",
            "## Run log",
            "",
            "The commit is the repository's HEAD when the run started, with "
            "`+changes` when files differed from it. Runs started by hand, not by "
            "the runner, have no record. The training time is the engine's time in "
            "fit; the wall time adds the start-up of the process.",
            "",
            self.run_log(),
        ]
        return "\n".join(lines) + "\n"

    def render_uncertainty(self) -> list[str]:
        """Say how far apart two runs could land by chance, from the runs so far."""
        lines = ["", "## How far to trust one run", ""]
        for dataset in self.datasets():
            held_out = [
                summary
                for run, summary in self.summaries.items()
                if run.dataset == dataset
                and run.fold is None
                and summary["validation_samples"]
            ]
            if not held_out:
                continue
            samples = min(summary["validation_samples"] for summary in held_out)
            accuracy = statistics.fmean(s["final_val_accuracy"] for s in held_out)
            error = (accuracy * (1 - accuracy) / samples) ** 0.5
            lines.append(
                f"- {dataset}: a hold-out run validates on {samples} photos, so one "
                f"photo moves the validation accuracy by {100 / samples:.1f} "
                "percentage points. At the mean final validation accuracy of its "
                f"runs, {accuracy:.2f}, an accuracy measured on {samples} photos has "
                f"a binomial standard error of {100 * error:.1f} points."
            )
        if len(lines) == 3:
            return lines + ["No hold-out run has finished yet."]
        return lines + [
            "",
            "So a single run with another seed (another split, other initial "
            "weights, other augmentation) can land several points higher or lower, "
            "and a difference of a few points between two single runs means little. "
            f"The tables give two spreads measured here: over the last {LAST_EPOCHS} "
            "epochs of each run, and over the folds of the cross-validation. Every "
            f"run used seed {self.settings.seed}, so the spread over seeds alone "
            "was not measured; the folds vary the split as well.",
        ]

    def render_dataset(self, dataset: str, data: Path) -> list[str]:
        remedies = [e.name for e in EXPERIMENTS.values() if e.part == "remedies"]
        lines = ["", f"## {dataset}", "", self.describe_dataset(dataset, data)]
        lines += ["", "### The blog's model and settings", ""]
        lines += [self.experiment_table(dataset, ["blog"])]
        link = self.plot_experiment(dataset, "blog")
        if link:
            lines += ["", f"![Learning curves of both engines]({link})"]
        for engine in ENGINES:
            matrix = self.confusion(self.find(dataset, "blog", engine))
            if matrix:
                lines += [
                    "",
                    f"Validation photos by true and predicted class, {engine}'s "
                    "final model:",
                    "",
                    "```",
                    matrix,
                    "```",
                ]
        lines += ["", "### Remedies for overfitting", ""]
        lines += [self.experiment_table(dataset, ["blog", *remedies])]
        for experiment in remedies:
            link = self.plot_experiment(dataset, experiment)
            if link:
                lines += ["", f"![{EXPERIMENTS[experiment].title}]({link})"]
        lines += ["", f"### {self.settings.folds}-fold cross-validation", ""]
        lines += [
            "Validation accuracy after the last epoch of each fold, the blog's "
            "model. The spread is the population standard deviation over the "
            "folds; the wall time adds up the folds' processes.",
            "",
            self.fold_table(dataset),
        ]
        link = self.plot_folds(dataset)
        if link:
            lines += ["", f"![Validation accuracy over the folds]({link})"]
        return lines


def read_notes(path: Path) -> str:
    """Return the text between the notes markers of an existing report."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return DEFAULT_NOTES
    match = re.search(
        re.escape(NOTES_START) + r"\n(.*?)\n?" + re.escape(NOTES_END), text, re.S
    )
    return match.group(1).strip() if match else DEFAULT_NOTES


def write_report(
    runs: list[Run],
    runs_dir: Path,
    docs_dir: Path,
    settings: Settings,
    command: str,
) -> Path:
    """Write ``results.md`` and ``results/*.png`` under ``docs_dir``.

    Returns the path of ``results.md``.
    """
    report = Report(runs, runs_dir, docs_dir, settings, command)
    path = Path(docs_dir) / "results.md"
    text = report.render(read_notes(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
    return path
