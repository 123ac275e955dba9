"""Model files: round trips, and clear errors for foreign or tampered files."""

import json
import os
import zipfile

import numpy as np
import pytest

from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.model_file import ModelFileError, load_model, save_model


@pytest.fixture
def saved(tmp_path):
    model = build_blog_model(16, seed=4)
    model.class_names = ["danaus_plexippus", "limenitis_archippus"]
    model.preprocessing = {"image_size": [16, 16], "rescale": 1 / 255}
    path = save_model(model, tmp_path / "model.npz")
    return model, path


def _rewrite(path, **changes):
    """Copy the archive at ``path`` with some entries replaced or removed (None)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(path, **arrays)


def test_round_trip_keeps_predictions_and_metadata(saved):
    model, path = saved
    loaded = load_model(path)
    x = np.random.default_rng(0).random((3, 16, 16, 3), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    assert loaded.class_names == model.class_names
    assert loaded.preprocessing == model.preprocessing
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers
    ]
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_save_appends_suffix_and_leaves_no_temporary_file(tmp_path):
    path = save_model(build_blog_model(8), tmp_path / "run" / "weights")
    assert path.name == "weights.npz"
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights.npz"]


def test_archive_holds_no_pickled_objects(saved):
    _, path = saved
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            assert archive[key].dtype != object, key


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Model file not found"):
        load_model(tmp_path / "absent.npz")


@pytest.mark.parametrize(
    "content",
    [b"this is not a zip file", b"\xff\xd8\xff\xe0 a JPEG renamed", b""],
)
def test_not_an_archive(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as raised:
        load_model(path)
    message = str(raised.value)
    assert message.startswith(f"{path} is not an .npz model file")
    assert "pickle" not in message
    assert "unsafe" not in message


def test_folder_given_as_model(saved):
    _, path = saved
    with pytest.raises(ModelFileError) as raised:
        load_model(path.parent)
    message = str(raised.value)
    assert message.startswith(f"{path.parent} is a folder, not a model file.")
    assert message.endswith(f"Pass {path.parent / 'model.npz'}.")


def test_truncated_archive(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(path)


def test_other_npz_archive(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a convnet_from_scratch model file"):
        load_model(path)


def test_pickled_object_array_is_rejected(saved):
    _, path = saved
    _rewrite(path, architecture=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="architecture"):
        load_model(path)


def test_wrong_version(saved):
    _, path = saved
    _rewrite(path, version=np.array(99))
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(path)


def test_unknown_layer_class(saved):
    _, path = saved
    with np.load(path) as archive:
        architecture = json.loads(str(archive["architecture"][()]))
    architecture["layers"][0]["class_name"] = "os.system"
    _rewrite(path, architecture=np.array(json.dumps(architecture)))
    with pytest.raises(ModelFileError, match="unknown class 'os.system'"):
        load_model(path)


def test_invalid_layer_config(saved):
    _, path = saved
    with np.load(path) as archive:
        architecture = json.loads(str(archive["architecture"][()]))
    architecture["layers"][0]["config"]["filters"] = -3
    _rewrite(path, architecture=np.array(json.dumps(architecture)))
    with pytest.raises(ModelFileError, match="layer 0 \\(Conv2D\\) has an invalid"):
        load_model(path)


def test_weights_that_do_not_fit(saved):
    _, path = saved
    _rewrite(path, weights_0=np.zeros((3, 3, 3, 32), np.float32))
    with pytest.raises(ModelFileError, match="do not fit the architecture"):
        load_model(path)
    _rewrite(path, weights_7=None)
    with pytest.raises(ModelFileError, match="expects 8 weight arrays"):
        load_model(path)


def test_non_finite_weights(saved):
    model, path = saved
    weights = model.get_weights()
    weights[1][0] = np.nan
    _rewrite(path, weights_1=weights[1])
    with pytest.raises(ModelFileError, match="non-finite"):
        load_model(path)


def test_corrupted_member_is_reported(saved):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["weights_0.npy"] = members["weights_0.npy"][:40]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError):
        load_model(path)


def test_saved_file_follows_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = save_model(build_blog_model(8), tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644
