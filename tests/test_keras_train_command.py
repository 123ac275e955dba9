"""``python -m keras_reference train``: run files, data layouts, strategies, errors.

The runs here are one or two epochs on a few real photos at 8x8 pixels: enough to
exercise the whole pipeline (split, ImageDataGenerator, flow_from_directory,
model.fit, weight transfer, plots) in seconds. The photos come from
``BUTTERFLY_DATA`` (or ``../shared/data/monarch_viceroy``); the tests fail, never
skip, when neither exists.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convnet_from_scratch import cli as library_cli
from convnet_from_scratch.data import (
    UnreadableImageWarning,
    fold_class_folders,
    split_class_folders,
)
from convnet_from_scratch.model_file import load_model
from keras_reference import keras
from keras_reference.cli import main
from keras_reference.train import RUN_FILES, split_folders

from photos import REPOSITORY, link_subset

HISTORY_KEYS = {"loss", "accuracy", "val_loss", "val_accuracy"}

# Keras 3.15 calls deprecated SciPy and NumPy interfaces on every image and batch.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Please import `affine_transform`:DeprecationWarning"
    ),
    pytest.mark.filterwarnings(
        "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
    ),
]


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder of two class folders with six real photos each."""
    return link_subset(tmp_path / "photos", per_class=6)


def train(data, out, *options) -> int:
    argv = ["train", str(data), "--out", str(out), "--image-size", "8", "--quiet"]
    return main([*argv, "--batch-size", "4", *options])


def read_history(out: Path) -> dict:
    return json.loads((out / "history.json").read_text())


def test_train_writes_run_files(photos, tmp_path):
    out = tmp_path / "run"
    code = train(
        photos, out, "--epochs", "2", "--seed", "1", "--validation-fraction", "0.34"
    )
    assert code == 0
    for name in RUN_FILES:
        assert (out / name).is_file(), name

    history = read_history(out)
    assert set(history) == HISTORY_KEYS | {"meta"}
    for key in HISTORY_KEYS:
        assert len(history[key]) == 2, key
    meta = history["meta"]
    class_names = sorted(p.name for p in photos.iterdir())
    assert meta["engine"] == "keras_reference"
    assert meta["image_size"] == 8
    assert meta["epochs"] == 2
    assert meta["batch_size"] == 4
    assert meta["seed"] == 1
    assert meta["class_names"] == class_names
    _, validation_files = split_class_folders(photos, 0.34, 1)
    assert meta["validation_samples"] == len(validation_files)
    assert meta["train_samples"] + meta["validation_samples"] == 12
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # model.npz (through the weight transfer) and model.keras hold one model.
    ours = load_model(out / "model.npz")
    assert ours.class_names == class_names
    assert ours.preprocessing["image_size"] == [8, 8]
    theirs = keras.saving.load_model(out / "model.keras")
    x = np.random.default_rng(0).uniform(0, 1, (5, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-7
    )


def linked_files(folder: Path, source: Path) -> list[str]:
    """Return the files under ``folder``, checking each links to the same place in
    ``source``."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        assert path.resolve() == (source / relative).resolve(), relative
        found.append(str(relative))
    return found


@pytest.mark.parametrize("folds", [None, 3])
def test_split_matches_library_split(photos, folds):
    if folds is None:
        train_files, validation_files = split_class_folders(photos, 0.3, 7)
        split = split_folders(photos, 0.3, 7)
    else:
        train_files, validation_files = fold_class_folders(photos, folds, 1, 7)
        split = split_folders(photos, 0.3, 7, folds=folds, fold=1)
    with split as (train_dir, validation_dir):
        assert linked_files(train_dir, photos) == sorted(train_files)
        assert linked_files(validation_dir, photos) == sorted(validation_files)
    assert not train_dir.exists(), "the temporary tree must be removed"


def test_train_reads_train_and_validation_folders(photos, tmp_path):
    data = tmp_path / "split"
    for part, start, stop in (("train", 0, 4), ("validation", 4, 6)):
        for class_folder in sorted(photos.iterdir()):
            target = data / part / class_folder.name
            target.mkdir(parents=True)
            for photo in sorted(class_folder.iterdir())[start:stop]:
                (target / photo.name).symlink_to(photo.resolve())
            # Files that flow_from_directory alone would list and fail to decode,
            # and a hidden folder it would take for a third class.
            (target / "._photo.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
            (target / ".DS_Store").write_bytes(b"\x00")
        (data / part / ".ipynb_checkpoints").mkdir()
    with split_folders(data, 0.2, 0) as (train_dir, validation_dir):
        assert len(linked_files(train_dir, data / "train")) == 8
        assert len(linked_files(validation_dir, data / "validation")) == 4

    out = tmp_path / "run"
    assert train(data, out, "--epochs", "1") == 0
    meta = read_history(out)["meta"]
    assert meta["train_samples"] == 8
    assert meta["validation_samples"] == 4


def add_unreadable_files(photos: Path) -> list[Path]:
    """Add a text file named like a photo and a JPEG cut in half; return both."""
    first, second = sorted(p for p in photos.iterdir() if p.is_dir())
    text_file = first / "x.jpg"
    text_file.write_text("not an image\n")
    whole = sorted(second.glob("*.jpg"))[0].read_bytes()
    truncated = second / "truncated.jpg"
    truncated.write_bytes(whole[: len(whole) // 2])
    return [text_file, truncated]


def test_split_keeps_the_photos_the_library_reads(photos, tmp_path):
    unreadable = add_unreadable_files(photos)
    argv = ["train", str(photos), "--out", str(tmp_path / "run"), "--image-size", "8"]
    args = library_cli.build_parser().parse_args(argv)
    with pytest.warns(UnreadableImageWarning):
        train_iterator, validation_iterator = library_cli.make_iterators(
            args, augment=False
        )

    with (
        pytest.warns(UnreadableImageWarning) as warned,
        split_folders(photos, 0.2, 0, image_size=8) as (train_dir, validation_dir),
    ):
        assert linked_files(train_dir, photos) == sorted(train_iterator.filenames)
        assert linked_files(validation_dir, photos) == sorted(
            validation_iterator.filenames
        )
    messages = [str(warning.message) for warning in warned]
    for path in unreadable:
        assert sum(str(path) in message for message in messages) == 1, messages


def test_train_drops_unreadable_photos(photos, tmp_path, capsys):
    unreadable = add_unreadable_files(photos)
    out = tmp_path / "run"

    assert train(photos, out, "--epochs", "1") == 0

    lines = capsys.readouterr().err.splitlines()
    for path in unreadable:
        naming = [line for line in lines if str(path) in line]
        assert len(naming) == 1, lines
        assert naming[0].startswith(
            "python -m keras_reference train: warning: Skipping Cannot read image "
        )
    meta = read_history(out)["meta"]
    assert meta["train_samples"] + meta["validation_samples"] == 12


def test_one_class_error_names_data_folder(tmp_path, capsys):
    photos = link_subset(tmp_path / "photos", per_class=6)
    for extra in sorted(p for p in photos.iterdir() if p.is_dir())[1:]:
        for photo in extra.iterdir():
            photo.unlink()
        extra.rmdir()

    assert train(photos, tmp_path / "run", "--epochs", "1") == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"class folders in {photos}." in lines[0]
    assert "keras_reference_split_" not in lines[0]


def test_mirrored_strategy_runs_on_one_replica(photos, tmp_path):
    out = tmp_path / "run"
    assert train(photos, out, "--epochs", "1", "--strategy", "mirrored") == 0
    meta = read_history(out)["meta"]
    assert meta["strategy"] == "mirrored"
    assert meta["replicas"] == 1


def test_same_seed_gives_same_run(photos, tmp_path):
    runs = [tmp_path / "first", tmp_path / "second"]
    for out in runs:
        assert train(photos, out, "--epochs", "1", "--seed", "5") == 0
    first, second = (read_history(out) for out in runs)
    for key in HISTORY_KEYS:
        assert first[key] == second[key], key
    weights = [load_model(out / "model.npz").get_weights() for out in runs]
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--epochs", "0"], "--epochs: expected a positive int"),
        (["--validation-fraction", "1.5"], "--validation-fraction"),
        (["--strategy", "tpu"], "--strategy: invalid choice"),
        (["--image-size", "big"], "--image-size"),
    ],
    ids=["zero epochs", "fraction", "strategy", "image size"],
)
def test_bad_option_is_one_line_exit_2(photos, tmp_path, capsys, options, message):
    with pytest.raises(SystemExit) as exit_info:
        train(photos, tmp_path / "run", *options)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "error:" in lines[0]
    assert message in lines[0]


def test_bad_data_is_one_line_exit_2(tmp_path, capsys):
    assert train(tmp_path / "missing", tmp_path / "run") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"python -m keras_reference train: error: Data folder not found: "
        f"{tmp_path / 'missing'}"
    ]


def test_too_small_image_is_one_line_exit_2(photos, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", str(photos), "--out", str(out), "--image-size", "5"])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "at least 6x6 pixels" in lines[0]


def test_huge_image_is_one_line_exit_2(photos, tmp_path, capsys):
    # The first dense layer alone would have 2.6e12 weights at 100000x100000.
    out = tmp_path / "run"
    code = main(["train", str(photos), "--out", str(out), "--image-size", "100000"])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "--image-size 100000 needs an estimated" in lines[0]
    assert "for the weights, more than" in lines[0]


def test_earlier_run_is_kept(photos, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "history.json").write_text("{}")
    assert train(photos, out) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "history.json").read_text() == "{}"


def test_module_entry_point_reports_usage_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "keras_reference", "train", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m keras_reference train: error: the following arguments are "
        "required: --out"
    ]
