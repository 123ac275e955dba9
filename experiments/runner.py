"""Run the planned ``train`` commands one at a time, resuming where a run finished."""

from __future__ import annotations

import datetime
import json
import logging
import os
import subprocess
import time
from pathlib import Path

from .plan import Run

log = logging.getLogger(__name__)


def read_json(path: Path) -> dict | None:
    """Return the JSON object in ``path``, or None if it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_finished(run: Run, runs_dir: Path) -> bool:
    """Tell whether ``runs_dir`` contains a history of exactly this run.

    Older histories lack the entries of options added later (``block_dropout``,
    ``folds``, ``fold``), which then count as unset.
    """
    history = read_json(runs_dir / run.folder / "history.json")
    if history is None or "val_accuracy" not in history:
        return False
    meta = history.get("meta", {})
    return all(meta.get(key) == value for key, value in run.expected_meta().items())


def source_version() -> str | None:
    """Return the repository's commit, with ``+changes`` if the tree differs from it.

    The engines may change between runs of a long experiment, so each run records
    the code it ran. Returns None outside a git checkout.
    """
    repository = Path(__file__).resolve().parent.parent

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments],
            cwd=repository,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if changed else "")


def execute(run: Run, runs_dir: Path) -> dict:
    """Run one ``train`` command and record how it went in ``run.json``.

    The command's output goes to ``train.log`` in the run folder.
    """
    out = runs_dir / run.folder
    out.mkdir(parents=True, exist_ok=True)
    command = run.command(out)
    source = source_version()
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.time()
    log.info("Starting %s", run.folder)
    with open(out / "train.log", "w") as output:
        completed = subprocess.run(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    record = {
        "command": command,
        "source": source,
        "returncode": completed.returncode,
        "started": datetime.datetime.fromtimestamp(started).isoformat(
            timespec="seconds"
        ),
        "wall_seconds": round(time.time() - started, 1),
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    if completed.returncode != 0:
        log.error(
            "%s failed with exit status %d; see %s",
            run.folder,
            completed.returncode,
            out / "train.log",
        )
    else:
        log.info("Finished %s in %.0f s", run.folder, record["wall_seconds"])
    return record


def run_plan(
    runs: list[Run],
    runs_dir: Path,
    parts: tuple[str, ...],
    stop_at: datetime.datetime | None = None,
    after_each=None,
) -> dict[Run, str]:
    """Run every unfinished run of ``parts``, in order, until ``stop_at``.

    Parameters
    ----------
    runs : list of Run
        The plan, in the order to run it.
    runs_dir : Path
        Folder under which each run writes its own folder.
    parts : tuple of str
        The parts to run (``'blog'``, ``'remedies'``, ``'kfold'``). Runs of other
        parts are only collected.
    stop_at : datetime, optional
        No run starts after this time; the ones left are reported as not run.
    after_each : callable, optional
        Called with no arguments after each run, to rewrite the report.

    Returns
    -------
    dict of Run to str
        ``'finished'``, ``'failed'`` or ``'not run'`` for each run.
    """
    status = {}
    for run in runs:
        if is_finished(run, runs_dir):
            status[run] = "finished"
            continue
        if run.part not in parts:
            status[run] = "not run"
            continue
        if stop_at is not None and datetime.datetime.now() >= stop_at:
            log.info("Not starting %s: past %s", run.folder, stop_at.isoformat())
            status[run] = "not run"
            continue
        record = execute(run, runs_dir)
        finished = record["returncode"] == 0 and is_finished(run, runs_dir)
        status[run] = "finished" if finished else "failed"
        if after_each is not None:
            after_each()
    return status
