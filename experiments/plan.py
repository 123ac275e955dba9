"""The runs of the experiment: which engine trains what, on which data, and when."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("convnet_from_scratch", "keras_reference")
PARTS = ("blog", "remedies", "kfold")


@dataclass(frozen=True)
class Experiment:
    """One model variant: the dropout options passed to both ``train`` commands."""

    name: str
    title: str
    part: str
    dropout: float = 0.25
    block_dropout: float | None = None


EXPERIMENTS = {
    experiment.name: experiment
    for experiment in (
        Experiment(
            "blog", "the blog's model (dropout 0.25 before the last layer)", "blog"
        ),
        Experiment("dropout_0.5", "dropout 0.5 before the last layer", "remedies", 0.5),
        Experiment(
            "block_dropout_0.25",
            "dropout 0.25 after each max-pool and before the last layer",
            "remedies",
            block_dropout=0.25,
        ),
    )
}


@dataclass(frozen=True)
class Settings:
    """The options every run shares: the blog's, or small ones for tests."""

    epochs: int = 50
    image_size: int = 75
    batch_size: int = 32
    folds: int = 5
    seed: int = 0
    validation_fraction: float = 0.2

    @classmethod
    def quick(cls) -> Settings:
        return cls(epochs=2, image_size=16, folds=2)


@dataclass(frozen=True)
class Run:
    """One ``train`` command: an engine, a dataset, an experiment and maybe a fold."""

    dataset: str
    data: Path
    experiment: Experiment
    engine: str
    settings: Settings
    fold: int | None = None

    @property
    def part(self) -> str:
        return "kfold" if self.fold is not None else self.experiment.part

    @property
    def folder(self) -> Path:
        """The run folder, relative to the runs folder."""
        group = f"kfold_{self.settings.folds}" if self.fold is not None else None
        path = Path(self.dataset) / (group or self.experiment.name) / self.engine
        return path / f"fold_{self.fold}" if self.fold is not None else path

    def expected_meta(self) -> dict:
        """Return the ``meta`` entries that a finished run of this command records."""
        settings = self.settings
        return {
            "engine": self.engine,
            "epochs": settings.epochs,
            "image_size": settings.image_size,
            "batch_size": settings.batch_size,
            "dropout": self.experiment.dropout,
            "block_dropout": self.experiment.block_dropout,
            "seed": settings.seed,
            "folds": settings.folds if self.fold is not None else None,
            "fold": self.fold,
        }

    def command(self, out: Path) -> list[str]:
        """Return the ``train`` command line that writes this run to ``out``."""
        settings = self.settings
        command = [
            sys.executable,
            "-m",
            self.engine,
            "train",
            str(self.data),
            "--out",
            str(out),
            "--epochs",
            str(settings.epochs),
            "--image-size",
            str(settings.image_size),
            "--batch-size",
            str(settings.batch_size),
            "--dropout",
            str(self.experiment.dropout),
            "--seed",
            str(settings.seed),
            "--quiet",
            "--overwrite",
        ]
        if self.experiment.block_dropout is not None:
            command += ["--block-dropout", str(self.experiment.block_dropout)]
        if self.fold is None:
            command += ["--validation-fraction", str(settings.validation_fraction)]
        else:
            command += ["--folds", str(settings.folds), "--fold", str(self.fold)]
        return command


def make_plan(datasets: dict[str, Path], settings: Settings) -> list[Run]:
    """List every run in the order to run them.

    Each dataset in turn gets the blog's settings, then the remedies, then k-fold
    cross-validation of the blog's model, with both engines one after the other
    for each experiment or fold, so that partial results pair up.
    """
    runs = []
    for dataset, data in datasets.items():
        for experiment in EXPERIMENTS.values():
            for engine in ENGINES:
                runs.append(Run(dataset, Path(data), experiment, engine, settings))
        for fold in range(settings.folds):
            for engine in ENGINES:
                runs.append(
                    Run(
                        dataset, Path(data), EXPERIMENTS["blog"], engine, settings, fold
                    )
                )
    return runs
