"""Command line: ``python -m experiments [--quick] [--runs DIR] [--docs DIR] ...``."""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shlex
import sys
from pathlib import Path

from .plan import PARTS, Settings, make_plan
from .report import write_report
from .runner import run_plan

PROGRAM = "python -m experiments"
REPOSITORY = Path(__file__).resolve().parent.parent

log = logging.getLogger("experiments")


def default_datasets() -> dict[str, Path]:
    """Return ``BUTTERFLY_DATA`` and the Leeds pair, both beside the repository."""
    shared = REPOSITORY.parent / "shared" / "data"
    butterflies = Path(os.environ.get("BUTTERFLY_DATA", shared / "monarch_viceroy"))
    butterflies = butterflies.resolve()
    return {
        butterflies.name: butterflies,
        "leeds_butterflies": shared / "leeds_butterflies",
    }


def _dataset(text: str) -> tuple[str, Path]:
    name, separator, path = text.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=FOLDER, got {text!r}")
    return name, Path(path)


def _parts(text: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(PARTS)}, got {text!r}"
        )
    return parts


def _clock_time(text: str) -> datetime.datetime:
    try:
        clock = datetime.datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HH:MM, got {text!r}") from None
    return datetime.datetime.combine(datetime.date.today(), clock)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Train the blog's model with both engines on real photos (the "
        "blog's settings, its remedies for overfitting, k-fold cross-validation) "
        "and write docs/results.md from the runs.",
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=REPOSITORY.parent / "experiment_runs",
        help="folder for the run folders, kept outside the repository "
        "(default: experiment_runs beside the repository)",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=REPOSITORY / "docs",
        help="folder for results.md and results/*.png (default: the repository's "
        "docs/)",
    )
    parser.add_argument(
        "--dataset",
        type=_dataset,
        action="append",
        metavar="NAME=FOLDER",
        help="a folder of two class folders; repeat for more datasets (default: "
        "$BUTTERFLY_DATA and leeds_butterflies, both from ../shared/data)",
    )
    parser.add_argument(
        "--parts",
        type=_parts,
        default=PARTS,
        help=f"comma-separated parts to run: {', '.join(PARTS)} (default: all). "
        "Runs of the other parts are only collected into the report.",
    )
    parser.add_argument(
        "--stop-at",
        type=_clock_time,
        metavar="HH:MM",
        help="start no run after this time today; the report lists what is left",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the report from the finished runs without training",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 epochs, 2 folds and 16x16 images, for tests",
    )
    return parser


def regenerate_command(args: argparse.Namespace) -> str:
    """Return the shell command that reruns this experiment, for the report."""
    words = ["nice", "-n", "10", "python", "-m", "experiments"]
    if args.quick:
        words.append("--quick")
    words += ["--runs", os.path.relpath(args.runs)]
    if args.docs.resolve() != (REPOSITORY / "docs").resolve():
        words += ["--docs", os.path.relpath(args.docs)]
    for name, folder in args.dataset or []:
        words += ["--dataset", f"{name}={os.path.relpath(folder)}"]
    return shlex.join(words)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    datasets = dict(args.dataset) if args.dataset else default_datasets()
    missing = [str(folder) for folder in datasets.values() if not folder.is_dir()]
    if missing:
        print(
            f"{PROGRAM}: error: data folder not found: {', '.join(missing)}",
            file=sys.stderr,
        )
        return 2
    settings = Settings.quick() if args.quick else Settings()
    runs = make_plan(datasets, settings)
    command = regenerate_command(args)

    def report() -> None:
        path = write_report(runs, args.runs, args.docs, settings, command)
        log.info("Wrote %s", path)

    if not args.report_only:
        status = run_plan(
            runs, args.runs, args.parts, stop_at=args.stop_at, after_each=report
        )
        failed = [str(run.folder) for run, state in status.items() if state == "failed"]
        if failed:
            log.error("Failed runs: %s", ", ".join(failed))
            report()
            return 1
    report()
    return 0
