"""One-line errors that name the option, given before any photo is loaded."""

import subprocess
import sys

import pytest

from convnet_from_scratch import cli
from convnet_from_scratch.blog_model import build_blog_model

from photos import butterfly_data, link_subset


def run(capsys, *argv):
    """Run the command line in this process; return (status, stdout, stderr)."""
    try:
        status = cli.main([str(arg) for arg in argv])
    except SystemExit as error:  # argparse exits on its own errors
        status = error.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def no_photo_loading(monkeypatch):
    """Make loading photos fail the test, to show that a check comes first."""

    def load(*args, **kwargs):
        raise AssertionError("photos were loaded before the check")

    monkeypatch.setattr(cli, "make_iterators", load)


def test_negative_seed_names_option(capsys, tmp_path):
    status, _, err = run(
        capsys, "train", tmp_path, "--out", tmp_path / "run", "--seed", "-1"
    )
    assert status == 2
    assert "argument --seed: expected a non-negative int, got -1" in err


def test_missing_data_leaves_no_out_folder(capsys, tmp_path):
    out = tmp_path / "new" / "run"
    status, _, err = run(capsys, "train", tmp_path / "missing", "--out", out)
    assert status == 2
    assert f"Data folder not found: {tmp_path / 'missing'}" in err
    assert not (tmp_path / "new").exists()


def test_small_image_size_names_minimum(capsys, tmp_path, no_photo_loading):
    out = tmp_path / "run"
    status, _, err = run(capsys, "train", tmp_path, "--out", out, "--image-size", "3")
    assert status == 2
    assert err == (
        "python -m convnet_from_scratch train: error: --image-size 3 is too small: "
        "the blog's model needs images of at least 6x6 pixels.\n"
    )
    assert not out.exists()


def test_huge_image_size_rejected_early(capsys, tmp_path, no_photo_loading):
    data = link_subset(tmp_path / "photos", per_class=2)
    out = tmp_path / "run"
    status, _, err = run(capsys, "train", data, "--out", out, "--image-size", "100000")
    assert status == 2
    assert err.count("\n") == 1
    assert "error: --image-size 100000 needs an estimated " in err
    assert "for the weights and 4 image files" in err
    assert not out.exists()


def test_memory_estimate_counts_dense_weights():
    template = build_blog_model(32)
    rows = cli.check_image_size(template.layers, (75, 75))
    # 1,335,905 parameters at 75x75 (Keras's summary), 4 float32 copies of each,
    # and 10 cached images of 75*75*3 bytes.
    assert cli.estimate_training_bytes(rows, 10) == 16 * 1_335_905 + 10 * 75 * 75 * 3


def test_augment_preview_size_bounded(capsys, tmp_path):
    photo = next((butterfly_data() / "danaus_plexippus").glob("*.jpg"))
    out = tmp_path / "preview"
    status, _, err = run(
        capsys, "augment-preview", photo, "--out", out, "--image-size", "5000"
    )
    assert status == 2
    assert "Invalid value for --image-size. Expected at most 1024 pixels" in err
    assert not out.exists()


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "model.npz"
    build_blog_model(16, seed=2).save(path)
    return path


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "afile"
    path.write_text("an existing file")
    return path


def test_out_file_rejected_before_work(capsys, tmp_path, model_path, a_file):
    photo = next((butterfly_data() / "danaus_plexippus").glob("*.jpg"))
    commands = {
        "trace": ["trace", "--out", a_file],
        "feature-maps": ["feature-maps", model_path, photo, "--out", a_file],
        "augment-preview": ["augment-preview", photo, "--out", a_file],
        "confusion": ["confusion", model_path, tmp_path, "--out", a_file],
    }
    for name, argv in commands.items():
        status, out, err = run(capsys, *argv)
        assert status == 2, name
        assert out == "", name
        assert err.endswith(
            f"error: Invalid value for --out. {a_file} is a file, but --out must be "
            "a folder or a new path.\n"
        ), name


def test_out_under_a_file_rejected(capsys, model_path, a_file):
    status, out, err = run(capsys, "filters", model_path, "--out", a_file / "x.png")
    assert status == 2
    assert out == ""
    assert f"{a_file} is a file, so {a_file / 'x.png'} cannot be created" in err


def test_summary_of_folder_says_folder(capsys, model_path):
    status, _, err = run(capsys, "summary", "--model", model_path.parent)
    assert status == 2
    assert f"{model_path.parent} is a folder, not a model file" in err


def test_quiet_train_prints_one_line_warnings(tmp_path):
    data = link_subset(tmp_path / "photos", per_class=4)
    unreadable = data / "danaus_plexippus" / "notes.jpg"
    unreadable.write_text("not an image")
    result = subprocess.run(
        [
            sys.executable, "-m", "convnet_from_scratch", "train", data,
            "--out", tmp_path / "run", "--epochs", "1", "--image-size", "8",
            "--batch-size", "4", "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "python -m convnet_from_scratch train: warning: Skipping Cannot read image "
        f"{unreadable}: cannot identify image file '{unreadable}'"
    ]
