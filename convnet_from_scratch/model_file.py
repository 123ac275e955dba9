"""Model files: ``.npz`` archives that contain data only, never code.

An archive contains these arrays:

* ``format``: the string ``convnet_from_scratch.model``, and ``version``: 1;
* ``architecture``: JSON with the model name, input shape and each layer's class name
  and constructor arguments;
* ``weights_0``, ``weights_1``, ...: the parameters in `Sequential.get_weights` order;
* ``metadata``: JSON with the class names, the preprocessing (image size, rescale)
  and anything else the trainer recorded.

Strings are stored as NumPy unicode arrays and the archive is read with
``allow_pickle=False``, so loading a file cannot run code from it. Writing goes to a
temporary file that replaces the target only when complete.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from pathlib import Path

import numpy as np

from .layers import LAYER_CLASSES
from .model import Sequential

FORMAT_NAME = "convnet_from_scratch.model"
FORMAT_VERSION = 1
# Every .npz archive is a zip file, and np.savez starts it with a local file header.
ZIP_SIGNATURE = b"PK\x03\x04"


class ModelFileError(ValueError):
    """A model file is missing, of another format, damaged or inconsistent."""


def save_model(model: Sequential, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path``, appending ``.npz`` if missing; return the path."""
    model._require_built()
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    architecture = {
        "name": model.name,
        "input_shape": list(model.input_shape),
        "layers": [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in model.layers
        ],
    }
    metadata = {
        "class_names": list(model.class_names),
        "preprocessing": model.preprocessing,
        "optimizer": None
        if model.optimizer is None
        else {
            "class_name": type(model.optimizer).__name__,
            "config": model.optimizer.get_config(),
        },
    }
    arrays = {
        "format": np.array(FORMAT_NAME),
        "version": np.array(FORMAT_VERSION),
        "architecture": np.array(json.dumps(architecture)),
        "metadata": np.array(json.dumps(metadata)),
    }
    for index, weight in enumerate(model.get_weights()):
        arrays[f"weights_{index}"] = weight

    path.parent.mkdir(parents=True, exist_ok=True)
    # An exclusive open (not mkstemp, which makes the file private) gives the model
    # file the permissions the user's umask sets.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as stream:
            np.savez(stream, **arrays)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _read_json(archive, key: str, path: Path) -> dict:
    try:
        value = json.loads(str(archive[key][()]))
    except (KeyError, ValueError, TypeError) as error:
        raise ModelFileError(
            f"Model file {path} has a missing or invalid {key!r} entry ({error}). "
            "The file is damaged or was not written by convnet_from_scratch."
        ) from None
    if not isinstance(value, dict):
        raise ModelFileError(f"Model file {path}: {key!r} is not a JSON object.")
    return value


def _build_layers(architecture: dict, path: Path) -> list:
    layers = []
    for index, entry in enumerate(architecture.get("layers", [])):
        try:
            class_name = entry["class_name"]
            config = dict(entry["config"])
        except (KeyError, TypeError):
            raise ModelFileError(
                f"Model file {path}: layer {index} lacks 'class_name' or 'config'."
            ) from None
        if class_name not in LAYER_CLASSES:
            raise ModelFileError(
                f"Model file {path}: layer {index} has unknown class {class_name!r}. "
                f"Known classes: {', '.join(sorted(LAYER_CLASSES))}."
            )
        try:
            layers.append(LAYER_CLASSES[class_name](**config))
        except (TypeError, ValueError) as error:
            raise ModelFileError(
                f"Model file {path}: layer {index} ({class_name}) has an invalid "
                f"config {config!r}: {error}"
            ) from None
    if not layers:
        raise ModelFileError(f"Model file {path} describes no layers.")
    return layers


def load_model(path: str | os.PathLike) -> Sequential:
    """Read a model written by `save_model`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        If the file is not a model archive of this format and version, or its
        architecture and weights do not fit together.
    """
    from .optimizers import OPTIMIZERS

    path = Path(path)
    if path.is_dir():
        inside = path / "model.npz"
        hint = f" Pass {inside}." if inside.is_file() else ""
        raise ModelFileError(
            f"{path} is a folder, not a model file. Expected a model.npz written by "
            f"train.{hint}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"Model file not found: {path}")
    # np.load treats any file that is neither .npy nor zip as a pickle and, with
    # allow_pickle=False, suggests loading it unsafely. Check the zip signature first.
    with path.open("rb") as file:
        signature = file.read(len(ZIP_SIGNATURE))
    if signature != ZIP_SIGNATURE:
        raise ModelFileError(
            f"{path} is not an .npz model file: it does not start with the zip "
            "signature of an .npz archive. Expected a model.npz written by train."
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ModelFileError(
            f"{path} is not a readable .npz model file ({error})."
        ) from None

    with archive:
        try:
            name = str(archive["format"][()])
            version = int(archive["version"][()])
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile):
            raise ModelFileError(
                f"{path} is an .npz archive but not a convnet_from_scratch model file."
            ) from None
        if name != FORMAT_NAME or version != FORMAT_VERSION:
            raise ModelFileError(
                f"{path} has format {name!r} version {version}; expected "
                f"{FORMAT_NAME!r} version {FORMAT_VERSION}."
            )
        architecture = _read_json(archive, "architecture", path)
        metadata = _read_json(archive, "metadata", path)
        weight_keys = sorted(
            (key for key in archive.files if key.startswith("weights_")),
            key=lambda key: int(key.removeprefix("weights_")),
        )
        try:
            weights = [archive[key] for key in weight_keys]
        except (ValueError, zipfile.BadZipFile, OSError) as error:
            raise ModelFileError(
                f"{path}: cannot read the weights ({error})."
            ) from None

    layers = _build_layers(architecture, path)
    model = Sequential(layers, name=str(architecture.get("name") or "sequential"))
    try:
        model.build(tuple(architecture["input_shape"]), seed=None)
        model.set_weights(weights)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(
            f"Model file {path}: the weights do not fit the architecture ({error})."
        ) from None
    for weight in weights:
        if not np.all(np.isfinite(weight)):
            raise ModelFileError(
                f"Model file {path} contains non-finite weights (NaN or inf)."
            )

    optimizer = metadata.get("optimizer") or {}
    optimizer_class = OPTIMIZERS.get(optimizer.get("class_name"))
    try:
        model.compile(
            optimizer_class(**optimizer["config"]) if optimizer_class else None
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(
            f"Model file {path} has an invalid optimizer entry ({error})."
        ) from None
    model.class_names = list(metadata.get("class_names", []))
    model.preprocessing = dict(metadata.get("preprocessing", {}))
    return model
