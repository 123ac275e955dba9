"""Weight transfer between Keras models and hand-written models and model files.

Both engines store the same arrays in the same order: layer by layer, kernel before
bias, conv kernels ``(f_h, f_w, c_in, c_out)`` and dense kernels ``(in, out)``, and
both flatten ``(H, W, C)`` row-major. So a transfer is ``get_weights`` on one side and
``set_weights`` on the other, once the two layer stacks are known to match.
`to_keras` and `from_keras` translate the layer stack itself, so any model made of the
layers both engines have can cross, not only the blog's.

Only the weights cross. Optimizer state (RMSprop's running means) stays behind, so
training continued in the other engine restarts those means from zero.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from convnet_from_scratch import layers as hand
from convnet_from_scratch.model import Sequential
from convnet_from_scratch.model_file import load_model
from convnet_from_scratch.optimizers import RMSprop

from .compat import keras

_ACTIVATIONS = {"relu": hand.ReLU, "sigmoid": hand.Sigmoid}


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def keras_layers_for(layer: hand.Layer) -> list[keras.layers.Layer]:
    """Return the Keras layers that compute what one hand-written layer computes."""
    config = layer.get_config()
    if isinstance(layer, hand.Conv2D):
        padding = config["padding"]
        strides = _pair(config["strides"])
        kernel_size = _pair(config["kernel_size"])
        if isinstance(padding, str):
            return [
                keras.layers.Conv2D(
                    config["filters"], kernel_size, strides=strides, padding=padding
                )
            ]
        # Keras's Conv2D takes only 'valid' or 'same', so explicit zeros come first.
        return [
            keras.layers.ZeroPadding2D(_pair(padding)),
            keras.layers.Conv2D(
                config["filters"], kernel_size, strides=strides, padding="valid"
            ),
        ]
    if isinstance(layer, hand.MaxPool2D):
        strides = config.get("strides")
        return [
            keras.layers.MaxPooling2D(
                _pair(config["pool_size"]),
                strides=None if strides is None else _pair(strides),
                padding=config["padding"],
            )
        ]
    if isinstance(layer, hand.Dense):
        return [keras.layers.Dense(config["units"])]
    if isinstance(layer, hand.Flatten):
        return [keras.layers.Flatten()]
    if isinstance(layer, hand.Dropout):
        return [keras.layers.Dropout(config["rate"], seed=config.get("seed"))]
    if isinstance(layer, hand.ReLU):
        return [keras.layers.Activation("relu")]
    if isinstance(layer, hand.Sigmoid):
        return [keras.layers.Activation("sigmoid")]
    raise TypeError(
        f"Layer {layer.name!r} of type {type(layer).__name__} has no Keras "
        "counterpart here. Accepted: Conv2D, MaxPool2D, Dense, Flatten, Dropout, "
        "ReLU, Sigmoid."
    )


def to_keras(model: Sequential, compile: bool = True) -> keras.Sequential:
    """Return a Keras model with the layers and weights of a hand-written model.

    Parameters
    ----------
    model : Sequential
        A built hand-written model.
    compile : bool, default=True
        Compile with binary cross-entropy, accuracy and an RMSprop with the model's
        own learning rate, rho and epsilon (Keras's defaults when the model has
        another optimizer or none).
    """
    model._require_built()
    stack = [keras.Input(model.input_shape)]
    for layer in model.layers:
        stack.extend(keras_layers_for(layer))
    keras_model = keras.Sequential(stack, name=model.name)
    keras_model.set_weights(model.get_weights())
    if compile:
        settings = {}
        if isinstance(model.optimizer, RMSprop):
            settings = model.optimizer.get_config()
        keras_model.compile(
            optimizer=keras.optimizers.RMSprop(**settings),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
    return keras_model


def _unsupported(layer, reason: str) -> TypeError:
    return TypeError(
        f"Keras layer {layer.name!r} ({type(layer).__name__}) cannot be translated: "
        f"{reason}."
    )


def _activation_layer(layer, name: str) -> list[hand.Layer]:
    if name == "linear":
        return []
    if name not in _ACTIVATIONS:
        raise _unsupported(
            layer, f"activation {name!r} is not one of 'linear', 'relu', 'sigmoid'"
        )
    return [_ACTIVATIONS[name]()]


def _check_conv_options(layer, config: dict) -> None:
    if config.get("data_format", "channels_last") != "channels_last":
        raise _unsupported(layer, "only data_format='channels_last' is supported")
    if _pair(config.get("dilation_rate", 1)) != (1, 1):
        raise _unsupported(layer, "dilation_rate must be 1")
    if config.get("groups", 1) != 1:
        raise _unsupported(layer, "groups must be 1")
    if not config.get("use_bias", True):
        raise _unsupported(layer, "use_bias=False is not supported")


def _zero_padding(layer) -> tuple[int, int]:
    (top, bottom), (left, right) = layer.get_config()["padding"]
    if top != bottom or left != right:
        raise _unsupported(
            layer, "only the same padding on both sides of an axis is supported"
        )
    return (top, left)


def _hand_layers_for(layer, padding: tuple[int, int] | None) -> list[hand.Layer]:
    """Return the hand-written layers for one Keras layer (after any ZeroPadding2D)."""
    config = layer.get_config()
    if isinstance(layer, keras.layers.Conv2D):
        _check_conv_options(layer, config)
        mode = config["padding"]
        if padding is not None:
            if mode != "valid":
                raise _unsupported(layer, "ZeroPadding2D must precede a 'valid' conv")
            mode = padding
        conv = hand.Conv2D(
            config["filters"],
            _pair(config["kernel_size"]),
            strides=_pair(config["strides"]),
            padding=mode,
        )
        return [conv, *_activation_layer(layer, config["activation"])]
    if padding is not None:
        raise _unsupported(layer, "ZeroPadding2D is supported only before a Conv2D")
    if isinstance(layer, keras.layers.MaxPooling2D):
        if config.get("data_format", "channels_last") != "channels_last":
            raise _unsupported(layer, "only data_format='channels_last' is supported")
        return [
            hand.MaxPool2D(
                _pair(config["pool_size"]),
                strides=_pair(config["strides"]),
                padding=config["padding"],
            )
        ]
    if isinstance(layer, keras.layers.Dense):
        if not config.get("use_bias", True):
            raise _unsupported(layer, "use_bias=False is not supported")
        dense = hand.Dense(config["units"])
        return [dense, *_activation_layer(layer, config["activation"])]
    if isinstance(layer, keras.layers.Flatten):
        return [hand.Flatten()]
    if isinstance(layer, keras.layers.Dropout):
        return [hand.Dropout(config["rate"], seed=config.get("seed"))]
    if isinstance(layer, keras.layers.Activation):
        return _activation_layer(layer, config["activation"])
    if isinstance(layer, keras.layers.ReLU):
        plain = (
            config.get("max_value") is None
            and config.get("negative_slope", 0.0) == 0.0
            and config.get("threshold", 0.0) == 0.0
        )
        if not plain:
            raise _unsupported(layer, "only ReLU() without arguments is supported")
        return [hand.ReLU()]
    raise _unsupported(layer, "the hand-written library has no such layer")


def from_keras(keras_model: keras.Model, seed: int | None = 0) -> Sequential:
    """Return a hand-written `Sequential` with the layers and weights of a Keras model.

    A ``ZeroPadding2D`` followed by a 'valid' ``Conv2D`` becomes one `Conv2D` with
    explicit padding, and a ``Dense`` or ``Conv2D`` with a relu or sigmoid activation
    becomes two layers. The model is compiled with an RMSprop that copies the Keras
    model's learning rate, rho and epsilon when it has an RMSprop.

    Parameters
    ----------
    keras_model : keras.Model
        A built Keras ``Sequential`` (or a functional model that is a plain chain).
    seed : int, optional
        Seed of the hand-written dropout masks.
    """
    stack: list[hand.Layer] = []
    padding = None
    for layer in keras_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.ZeroPadding2D):
            if padding is not None:
                raise _unsupported(layer, "two ZeroPadding2D layers in a row")
            padding = _zero_padding(layer)
            continue
        stack.extend(_hand_layers_for(layer, padding))
        padding = None
    if padding is not None:
        raise TypeError("A ZeroPadding2D at the end of the model has no conv to join.")

    model = Sequential(stack, name=keras_model.name)
    model.build(tuple(keras_model.input_shape[1:]), seed=seed)
    model.set_weights(keras_model.get_weights())
    optimizer = getattr(keras_model, "optimizer", None)
    settings = {}
    if isinstance(optimizer, keras.optimizers.RMSprop):
        settings = {
            "learning_rate": float(optimizer.learning_rate.numpy()),
            "rho": float(optimizer.rho),
            "epsilon": float(optimizer.epsilon),
        }
    model.compile(RMSprop(**settings))
    return model


def copy_weights(source, target) -> None:
    """Copy every weight array from ``source`` to ``target``, in either direction.

    ``source`` and ``target`` are each a Keras model or a hand-written `Sequential`
    with the same layer stack (as `to_keras` or `from_keras` make, or `build_model`
    and `build_blog_model` for the same image size).

    Raises
    ------
    ValueError
        If the number of arrays or any shape differs.
    """
    weights = [np.asarray(w) for w in source.get_weights()]
    expected = [np.shape(w) for w in target.get_weights()]
    found = [w.shape for w in weights]
    if found != expected:
        raise ValueError(
            "The two models have different weights: the source has arrays of shapes "
            f"{found}, the target expects {expected}."
        )
    target.set_weights(weights)


def keras_to_model_file(
    keras_model: keras.Model,
    path: str | os.PathLike,
    class_names: list[str] | None = None,
    preprocessing: dict | None = None,
) -> Path:
    """Write a Keras model as a hand-written model file (``.npz``); return its path.

    Parameters
    ----------
    keras_model : keras.Model
        Any model `from_keras` can translate.
    path : path-like
        Where to write; ``.npz`` is appended when missing.
    class_names : list of str, optional
        Stored in the file, so `predict` can name the classes.
    preprocessing : dict, optional
        Stored in the file, e.g. ``{"image_size": [75, 75], "rescale": 1 / 255}``.
    """
    model = from_keras(keras_model)
    model.class_names = list(class_names or [])
    model.preprocessing = dict(preprocessing or {})
    model.save(path)
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def model_file_to_keras(
    path: str | os.PathLike, compile: bool = True
) -> keras.Sequential:
    """Load a hand-written model file as a Keras model with the same weights.

    The class names and preprocessing stored in the file are not part of a Keras
    model. Read them with `convnet_from_scratch.model_file.load_model` when needed.
    """
    return to_keras(load_model(path), compile=compile)
