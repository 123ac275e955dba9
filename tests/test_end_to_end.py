"""The hand-written pipeline on real photos: train, save, load, predict."""

import json
import subprocess
import sys

import numpy as np
import pytest

from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.data import DirectoryIterator, ImageAugmenter, load_image
from convnet_from_scratch.model_file import load_model

from photos import link_subset


def test_training_on_real_photos_lowers_loss(tmp_path):
    data = link_subset(tmp_path / "photos", per_class=24)
    iterator = DirectoryIterator(
        data,
        target_size=(32, 32),
        batch_size=16,
        seed=0,
        augmenter=ImageAugmenter(rescale=1 / 255),
    )
    assert iterator.samples == 48
    model = build_blog_model(32, seed=0)
    history = model.fit(iterator, epochs=8, verbose=0).history
    assert history["loss"][-1] < 0.9 * history["loss"][0]


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "convnet_from_scratch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
    )


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = link_subset(root / "photos", per_class=15)
    out = root / "run"
    result = _run(
        "train", data, "--out", out, "--epochs", 2, "--image-size", 24,
        "--batch-size", 8, "--seed", 1, "--quiet", cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return data, out, result


def test_train_command_writes_run_files(trained_run):
    _, out, result = trained_run
    assert "val_accuracy" in result.stdout
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((out / "history.json").read_text())
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history[key]) == 2, key
    assert history["meta"]["class_names"] == ["danaus_plexippus", "limenitis_archippus"]
    # 15 photos per class, 20% held out per class: 3 + 3 for validation.
    assert history["meta"]["validation_samples"] == 6
    assert history["meta"]["train_samples"] == 24


def test_predict_command_matches_loaded_model(trained_run):
    data, out, _ = trained_run
    photos = sorted((data / "danaus_plexippus").iterdir())[:2]
    photos += sorted((data / "limenitis_archippus").iterdir())[:1]
    result = _run("predict", out / "model.npz", *photos, cwd=out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3

    model = load_model(out / "model.npz")
    images = np.stack([load_image(p, (24, 24)) for p in photos]) / 255.0
    probabilities = model.predict(images.astype(np.float32))[:, 0]
    for line, photo, probability in zip(lines, photos, probabilities, strict=True):
        path, name, shown = line.split("\t")
        assert path == str(photo)
        expected_name = model.class_names[int(probability > 0.5)]
        assert name == expected_name
        expected = probability if probability > 0.5 else 1 - probability
        assert float(shown) == pytest.approx(expected, abs=5e-5)


def test_train_refuses_to_overwrite_a_run(trained_run):
    data, out, _ = trained_run
    result = _run("train", data, "--out", out, "--epochs", 1, cwd=out)
    assert result.returncode == 2
    assert "--overwrite" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "no/such/folder", "--out", "x"], "Data folder not found"),
        (["train", ".", "--out", "x", "--epochs", "0"], "expected a positive int"),
        (["train", ".", "--out", "x", "--dropout", "1.5"], "expected a value in"),
        (["predict", "missing.npz", "a.jpg"], "Model file not found"),
        (["summary", "--image-size", "1"], "--image-size 1 is too small"),
        (["predict"], "the following arguments are required"),
    ],
)
def test_bad_arguments_give_one_line_errors(tmp_path, args, message):
    result = _run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_on_unreadable_image(trained_run, tmp_path):
    _, out, _ = trained_run
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = _run("predict", out / "model.npz", broken, cwd=tmp_path)
    assert result.returncode == 2
    assert "broken.jpg" in result.stderr
    assert "Traceback" not in result.stderr


def test_summary_command_prints_blog_table(tmp_path):
    result = _run("summary", "--image-size", 75, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(None, 18, 18, 64)" in result.stdout
    assert "Total params: 1,335,905" in result.stdout


def test_train_rejects_unwritable_out_before_training(tmp_path):
    data = link_subset(tmp_path / "photos", per_class=3)
    (tmp_path / "a_file").write_text("")
    result = _run("train", data, "--out", tmp_path / "a_file" / "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot be written" in result.stderr
    assert "Epoch" not in result.stderr
    assert "Traceback" not in result.stderr
