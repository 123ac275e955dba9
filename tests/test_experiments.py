"""`python -m experiments`: the quick mode on a few real photos, and its report.

The smoke test links four photos per class from ``BUTTERFLY_DATA`` into ``tmp_path``
and runs every part of the quick plan, both engines as subprocesses. Then it reads
the numbers back from ``results.md``, and each must equal the one computed here from
the run's ``history.json``.
"""

import json
import re
import statistics
from pathlib import Path

import pytest

from experiments import EXPERIMENTS, Settings, make_plan
from experiments.cli import main
from experiments.runner import is_finished

from photos import link_subset

PHOTOS_PER_CLASS = 4


def table_rows(text: str) -> list[list[str]]:
    """Return the cells of every Markdown table row in ``text``, header rows too."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


def section(text: str, heading: str) -> str:
    """Return the text under ``heading`` up to the next heading of any level."""
    start = text.index(heading + "\n")
    following = re.search(r"^#", text[start + len(heading) :], re.M)
    end = start + len(heading) + following.start() if following else len(text)
    return text[start:end]


def read_history(runs_dir: Path, run) -> dict:
    return json.loads((runs_dir / run.folder / "history.json").read_text())


def expected_cells(history: dict) -> list[str]:
    """The numbers a results row must show, computed without the report's code."""
    accuracy, val_accuracy = history["accuracy"], history["val_accuracy"]
    best = max(val_accuracy)
    last = val_accuracy[-10:]
    return [
        f"{accuracy[-1]:.4f}",
        f"{max(accuracy):.4f}",
        f"{val_accuracy[-1]:.4f}",
        f"{best:.4f} ({val_accuracy.index(best) + 1})",
        f"{statistics.mean(last):.4f} ± {statistics.pstdev(last):.4f}",
    ]


@pytest.fixture(scope="module")
def quick_experiment(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiment")
    data = link_subset(root / "photos", PHOTOS_PER_CLASS)
    arguments = ["--quick", "--runs", str(root / "runs"), "--docs", str(root / "docs")]
    arguments += ["--dataset", f"subset={data}"]

    status = main(arguments)

    plan = make_plan({"subset": data}, Settings.quick())
    return status, root, plan, arguments


def test_quick_run_finishes_every_run(quick_experiment):
    status, root, plan, _ = quick_experiment

    assert status == 0
    assert len(plan) == 2 * (len(EXPERIMENTS) + Settings.quick().folds)
    for run in plan:
        assert is_finished(run, root / "runs"), f"{run.folder} did not finish"
        meta = read_history(root / "runs", run)["meta"]
        assert meta["epochs"] == 2
        assert meta["image_size"] == 16
    text = (root / "docs" / "results.md").read_text()
    assert "Every planned run has finished." in text


def test_experiment_tables_equal_histories(quick_experiment):
    _, root, plan, _ = quick_experiment
    text = (root / "docs" / "results.md").read_text()
    rows = table_rows(section(text, "### Remedies for overfitting"))

    for run in plan:
        if run.fold is not None:
            continue
        expected = expected_cells(read_history(root / "runs", run))
        matches = [row for row in rows if row[:2] == [run.experiment.name, run.engine]]
        assert len(matches) == 1, f"no single row for {run.folder}: {rows}"
        assert matches[0][2:7] == expected, run.folder


def test_blog_table_lists_blog_numbers(quick_experiment):
    _, root, plan, _ = quick_experiment
    text = (root / "docs" / "results.md").read_text()
    rows = table_rows(section(text, "### The blog's model and settings"))

    blog_rows = [row for row in rows if row[1] == "the blog (Keras)"]
    assert [row[2] for row in blog_rows] == ["0.8091"]
    assert [row[4] for row in blog_rows] == ["0.7359"]
    for run in plan[:2]:
        expected = expected_cells(read_history(root / "runs", run))
        assert [row[2:7] for row in rows if row[1] == run.engine] == [expected]


def test_fold_table_equals_histories(quick_experiment):
    _, root, plan, _ = quick_experiment
    text = (root / "docs" / "results.md").read_text()
    rows = table_rows(section(text, "### 2-fold cross-validation"))

    for engine in ("convnet_from_scratch", "keras_reference"):
        runs = [run for run in plan if run.engine == engine and run.fold is not None]
        finals = [read_history(root / "runs", run)["val_accuracy"][-1] for run in runs]
        (row,) = [row for row in rows if row[0] == engine]
        assert row[1:3] == [f"{value:.4f}" for value in finals]
        mean, spread = statistics.mean(finals), statistics.pstdev(finals)
        assert row[3] == f"{mean:.4f} ± {spread:.4f}"
        assert row[4] == f"{min(finals):.4f} to {max(finals):.4f}"


def test_report_links_small_pictures(quick_experiment):
    _, root, _, _ = quick_experiment
    text = (root / "docs" / "results.md").read_text()
    links = re.findall(r"!\[[^]]*\]\((results/[^)]+\.png)\)", text)

    assert len(links) == len(EXPERIMENTS) + 1
    for link in links:
        picture = root / "docs" / link
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", link
        assert picture.stat().st_size < 150_000, link


def test_rewrite_keeps_notes(quick_experiment):
    _, root, _, arguments = quick_experiment
    page = root / "docs" / "results.md"
    before = page.read_text()
    written = before.replace(
        "No findings have been written down for these runs yet.",
        "Both engines end near chance after two epochs.",
    )
    page.write_text(written)

    assert main([*arguments, "--report-only"]) == 0
    assert page.read_text() == written


def test_past_stop_time_starts_nothing(tmp_path):
    data = link_subset(tmp_path / "photos", PHOTOS_PER_CLASS)
    runs, docs = tmp_path / "runs", tmp_path / "docs"
    arguments = ["--quick", "--runs", str(runs), "--docs", str(docs)]

    status = main([*arguments, "--dataset", f"subset={data}", "--stop-at", "00:00"])

    text = (docs / "results.md").read_text()
    assert status == 0
    assert not runs.exists()
    assert "from 0 of 10 planned runs" in text
    assert "- `subset/blog`: 2 not run yet" in text
    assert "- `subset/kfold_2`: 4 not run yet" in text


def test_history_of_other_options_is_not_reused(tmp_path):
    (run,) = [
        run
        for run in make_plan({"subset": tmp_path}, Settings.quick())
        if run.experiment.name == "dropout_0.5" and run.engine == "keras_reference"
    ]
    folder = tmp_path / "runs" / run.folder
    folder.mkdir(parents=True)
    meta = {**run.expected_meta(), "wall_seconds": 1.0}
    history = {"accuracy": [0.5], "val_accuracy": [0.5], "meta": meta}

    (folder / "history.json").write_text(json.dumps(history))
    assert is_finished(run, tmp_path / "runs")
    (folder / "history.json").write_text(
        json.dumps({**history, "meta": {**meta, "dropout": 0.25}})
    )
    assert not is_finished(run, tmp_path / "runs")
