"""The benchmark runner end to end on tiny workloads, and its ratio arithmetic.

Nothing here checks a timing: the runner must produce its table, JSON and plot,
with one row per engine and workload, and pair each engine with Keras by repeat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.report import summarise
from benchmarks.runner import main, parse_args

REPO = Path(__file__).resolve().parent.parent
PHOTOS = Path(
    os.environ.get(
        "BUTTERFLY_DATA", REPO.parent / "shared" / "data" / "monarch_viceroy"
    )
).resolve()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [
        sys.executable,
        "-m",
        "benchmarks",
        "--engines=numba,keras",
        "--sizes=12",
        "--batch-sizes=4",
        "--repeats=1",
        "--min-seconds=0",
        "--batches=2",
        "--epochs=2",
        "--pipeline-size=12",
        "--no-compile",
        f"--data={PHOTOS}",
        f"--out={out}",
    ]
    completed = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return out


def test_runner_writes_table_json_and_plot(tiny_run):
    table = (tiny_run / "benchmarks.md").read_text()
    assert "| 12 | 4 | numba |" in table
    assert "| 12 | 4 | keras |" in table
    assert "| pipeline | 12 | numba | cache |" in table
    assert "| epoch | 12 | keras |" in table
    assert (tiny_run / "benchmarks.png").read_bytes()[:4] == b"\x89PNG"


def test_runner_json_has_every_measurement(tiny_run):
    document = json.loads((tiny_run / "benchmarks.json").read_text())
    summary = document["summary"]
    assert summary["errors"] == []
    assert summary["matmul_gflops"] > 0
    measured = {
        (row["workload"], row["engine"], row["label"]) for row in summary["rows"]
    }
    assert measured == {
        ("model", "numba", ""),
        ("model", "keras", ""),
        ("pipeline", "numba", "cache"),
        ("pipeline", "numba", "no cache"),
        ("pipeline", "keras", ""),
        ("epoch", "numba", "cache"),
        ("epoch", "keras", ""),
    }
    numba_model = next(
        row
        for row in summary["rows"]
        if row["workload"] == "model" and row["engine"] == "numba"
    )
    assert numba_model["train"]["median"] > 0
    assert numba_model["peak_mb"]["median"] > 0
    assert numba_model["train_vs_keras"]["n"] == 1


def _model_result(engine, repeat, step_seconds, peak_mb):
    spec = {
        "engine": engine,
        "workload": "model",
        "image_size": 12,
        "batch_size": 4,
        "label": "",
    }
    timings = {"first": 1.0, "steady": [step_seconds] * 3}
    return {
        "spec": spec,
        "repeat": repeat,
        "train": timings,
        "train_images": 4,
        "predict": timings,
        "predict_images": 8,
        "peak_rss_train_mb": peak_mb,
    }


def test_ratios_pair_engines_within_repeat():
    # Repeat 0: numba twice as fast as Keras; repeat 1: four times. A ratio of
    # medians would give 8 / 3 (about 2.67), not 3.
    results = [
        _model_result("keras", 0, 0.2, 800.0),
        _model_result("numba", 0, 0.1, 200.0),
        _model_result("keras", 1, 0.4, 800.0),
        _model_result("numba", 1, 0.1, 400.0),
    ]
    matmul = [{"spec": {"threads": 2}, "gflops": 100.0}]
    summary = summarise(results, matmul, [])
    row = next(r for r in summary["rows"] if r["engine"] == "numba")
    assert row["train_vs_keras"]["median"] == pytest.approx(3.0)
    assert row["train_vs_keras"]["min"] == pytest.approx(2.0)
    assert row["train_vs_keras"]["max"] == pytest.approx(4.0)
    assert row["peak_mb_vs_keras"]["median"] == pytest.approx(0.375)
    assert row["train"]["median"] == pytest.approx(40.0)


def test_failed_worker_is_reported_not_summarised():
    failed = {"spec": _model_result("keras", 0, 1.0, 1.0)["spec"], "error": "boom"}
    summary = summarise([failed, _model_result("numba", 0, 0.1, 1.0)], [], [])
    assert [item["error"] for item in summary["errors"]] == ["boom"]
    row = summary["rows"][0]
    assert row["engine"] == "numba"
    assert "train_vs_keras" not in row
    assert summary["matmul_gflops"] is None


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_repeats_must_be_positive(capsys, value):
    with pytest.raises(SystemExit) as raised:
        parse_args(["--repeats", value])
    assert raised.value.code == 2
    assert "argument --repeats: expected a positive integer" in capsys.readouterr().err


def test_out_that_is_a_file_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(SystemExit) as raised:
        main(["--out", str(afile), "--workloads", "model", "--no-compile"])
    message = str(raised.value.code)
    assert message.startswith(f"Cannot use --out {afile} as the output folder")
    assert afile.read_text() == "not a folder"
