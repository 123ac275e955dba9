"""Saving a run folder: all of a run's files are replaced together, or none."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from convnet_from_scratch import cli

from photos import link_subset

NAMES = ("model.npz", "history.json", "learning_curve.png")


def _earlier_run(out):
    out.mkdir()
    for name in NAMES:
        (out / name).write_text(f"earlier {name}")


def _writer(text):
    return lambda path: path.write_text(text)


def _interrupt(path):
    raise KeyboardInterrupt


def _contents(out):
    return {path.name: path.read_text() for path in out.iterdir()}


def test_save_run_interrupted_keeps_earlier_run(tmp_path, capsys):
    out = tmp_path / "run"
    _earlier_run(out)
    writers = {
        "model.npz": _writer("new model"),
        "history.json": _writer("new history"),
        "learning_curve.png": _interrupt,
    }
    with pytest.raises(KeyboardInterrupt):
        cli.save_run(out, writers)
    assert _contents(out) == {name: f"earlier {name}" for name in NAMES}
    assert "no file in" in capsys.readouterr().err


def test_save_run_interrupted_new_folder_empty(tmp_path):
    out = tmp_path / "run"
    writers = {"model.npz": _writer("new model"), "history.json": _interrupt}
    with pytest.raises(KeyboardInterrupt):
        cli.save_run(out, writers)
    assert list(out.iterdir()) == []


def _interrupted_import(path):
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        raise ImportError("initialization failed") from None


def test_save_run_interrupted_import_is_interrupt(tmp_path, capsys):
    out = tmp_path / "run"
    _earlier_run(out)
    writers = {"model.npz": _writer("new model"), "history.json": _interrupted_import}
    with pytest.raises(KeyboardInterrupt):
        cli.save_run(out, writers)
    assert _contents(out) == {name: f"earlier {name}" for name in NAMES}
    assert "no file in" in capsys.readouterr().err


def test_save_run_failed_move_restores_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    _earlier_run(out)
    real_replace = os.replace
    failed = []

    def replace(source, destination):
        staged = "learning_curve.png" in str(source) and "previous" not in str(source)
        if staged and not failed:
            failed.append(True)
            raise OSError(28, "No space left on device")
        real_replace(source, destination)

    monkeypatch.setattr(cli.os, "replace", replace)
    writers = {name: _writer(f"new {name}") for name in NAMES}
    with pytest.raises(OSError, match="No space"):
        cli.save_run(out, writers)
    assert failed == [True]
    assert _contents(out) == {name: f"earlier {name}" for name in NAMES}


def test_save_run_defers_ctrl_c_while_moving(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _earlier_run(out)
    real_replace = os.replace
    signalled = []

    def replace(source, destination):
        if not signalled:
            signalled.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        real_replace(source, destination)

    monkeypatch.setattr(cli.os, "replace", replace)
    writers = {name: _writer(f"new {name}") for name in NAMES}
    with pytest.raises(KeyboardInterrupt):
        cli.save_run(out, writers)
    assert signalled == [True]
    assert _contents(out) == {name: f"new {name}" for name in NAMES}
    assert "contains the complete new run" in capsys.readouterr().err


def test_save_run_returns_replaced_names(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "history.json").write_text("earlier")
    writers = {name: _writer(f"new {name}") for name in NAMES}
    assert cli.save_run(out, writers) == ["history.json"]
    assert _contents(out) == {name: f"new {name}" for name in NAMES}


def _arguments(out):
    return argparse.Namespace(
        out=out,
        image_size=24,
        epochs=1,
        batch_size=8,
        learning_rate=1e-3,
        dropout=0.25,
        block_dropout=None,
        seed=0,
        validation_fraction=0.2,
        folds=None,
        fold=None,
        no_augment=False,
    )


def test_finish_run_names_replaced_files(tmp_path, capsys):
    out = tmp_path / "run"
    _earlier_run(out)
    history = {
        "loss": [0.7],
        "accuracy": [0.5],
        "val_loss": [0.6],
        "val_accuracy": [0.6],
    }
    iterator = SimpleNamespace(class_indices={"a": 0, "b": 1}, samples=4)
    cli.finish_run(
        _arguments(out),
        "test_engine",
        history,
        iterator,
        iterator,
        1.0,
        {"model.npz": _writer("new model")},
    )
    printed = capsys.readouterr().out
    assert "Replaced the earlier run's model.npz, history.json" in printed
    assert (out / "model.npz").read_text() == "new model"
    assert json.loads((out / "history.json").read_text())["loss"] == [0.7]
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(path.name for path in out.iterdir()) == sorted(NAMES)


def test_train_interrupted_while_saving(tmp_path):
    data = link_subset(tmp_path / "photos", per_class=4)
    out = tmp_path / "run"
    _earlier_run(out)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "convnet_from_scratch", "train", data,
            "--out", out, "--epochs", "1", "--image-size", "8",
            "--batch-size", "4", "--quiet", "--overwrite",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    # Send Ctrl-C as soon as the model file is staged, as a user pressing it while
    # the learning curve is drawn would.
    while process.poll() is None and not list(out.glob(".saving-*/model.npz")):
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=600)

    assert process.returncode in (0, 130), err
    contents = _contents(out)
    assert sorted(contents) == sorted(NAMES)
    earlier = [name for name in NAMES if contents[name] == f"earlier {name}"]
    assert earlier in ([], list(NAMES)), err
    if process.returncode == 130:
        assert "Interrupted while saving" in err
