"""The whole blog model against Keras, and weight transfer between the engines.

`build_model` (Keras) and `build_blog_model` (ours) must list the same layers with the
same shapes, and from the same weights compute the same logits, probabilities, loss and
gradients. Weight transfer must carry a model through a model file in both directions
without changing a prediction.

Tolerances (float32): logits and probabilities 1e-5 relative to the largest value;
parameter gradients 1e-4 relative to the largest gradient of the same array, because
they sum products over whole batches and images through seven layers.

Keras models are built once per image size and reused with new weights, because
building and compiling a model costs far more than running it.
"""

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnet_from_scratch import losses
from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.model_file import load_model
from keras_reference import (
    build_model,
    copy_weights,
    from_keras,
    keras,
    keras_to_model_file,
    model_file_to_keras,
    tf,
    to_keras,
)

IMAGE_SIZES = [6, 7, 9, 16, 23]
FORWARD_RTOL = 1e-5
GRADIENT_RTOL = 1e-4


def assert_close(ours, theirs, rtol, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    scale = float(np.max(np.abs(theirs)))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale, err_msg=what)


@functools.cache
def keras_models(image_size: int):
    """Return the Keras blog model (no dropout) and a model of its logits."""
    model = build_model(image_size, dropout=0.0, seed=0)
    logits = keras.Model(model.inputs[0], model.layers[-2].output)
    return model, logits


@st.composite
def batches(draw):
    size = draw(st.sampled_from(IMAGE_SIZES))
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 2, (n, 1)).astype(np.float32)
    return size, x, y, seed


def keras_config_of(layer) -> dict:
    """Return the options of a Keras layer that decide what it computes."""
    keys = (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "pool_size",
        "units",
        "activation",
        "rate",
        "use_bias",
    )
    config = layer.get_config()
    return {key: config[key] for key in keys if key in config}


@pytest.mark.parametrize(
    ("image_size", "block_dropout"), [(6, None), (75, None), ((20, 31), 0.1)]
)
def test_build_model_matches_blog_model(image_size, block_dropout):
    theirs = build_model(image_size, dropout_after_blocks=block_dropout)
    ours = build_blog_model(image_size, dropout_after_blocks=block_dropout)
    translated = to_keras(ours, compile=False)

    assert [type(layer) for layer in theirs.layers] == [
        type(layer) for layer in translated.layers
    ]
    for keras_layer, our_layer in zip(theirs.layers, translated.layers, strict=True):
        assert keras_config_of(keras_layer) == keras_config_of(our_layer)
        assert keras_layer.output.shape == our_layer.output.shape
    assert [w.shape for w in theirs.get_weights()] == [
        w.shape for w in ours.get_weights()
    ]
    assert theirs.count_params() == ours.count_params()
    assert isinstance(theirs.optimizer, keras.optimizers.RMSprop)
    assert float(theirs.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert theirs.optimizer.rho == 0.9
    assert theirs.optimizer.epsilon == 1e-7
    assert theirs.loss == "binary_crossentropy"


def test_build_model_rejects_bad_image_size():
    with pytest.raises(ValueError, match="at least 6x6"):
        build_model(5)
    with pytest.raises(TypeError, match="`image_size`"):
        build_model("75")


@given(batches())
def test_model_forward_matches_keras(batch):
    size, x, y, seed = batch
    theirs, their_logits = keras_models(size)
    ours = build_blog_model(size, dropout=0.0, seed=seed % 1000)
    copy_weights(ours, theirs)

    logits = x
    for layer in ours.layers[:-1]:
        logits = layer.forward(logits)
    assert_close(logits, their_logits(x).numpy(), FORWARD_RTOL, "logits")
    probabilities = theirs(x)
    assert_close(ours.predict(x), probabilities.numpy(), FORWARD_RTOL, "probabilities")

    # The model's output carries its logits, so Keras's loss here is the one
    # `evaluate` reports (see test_keras_loss.py), without evaluate's overhead.
    scores = ours.evaluate(x, y)
    keras_loss = float(keras.losses.BinaryCrossentropy()(y, probabilities))
    keras_accuracy = float(np.mean(keras.metrics.binary_accuracy(y, probabilities)))
    assert scores["loss"] == pytest.approx(keras_loss, rel=FORWARD_RTOL)
    assert scores["accuracy"] == pytest.approx(keras_accuracy)


@given(batches())
def test_model_gradients_match_tape(batch):
    size, x, y, seed = batch
    theirs, _ = keras_models(size)
    ours = build_blog_model(size, dropout=0.0, seed=seed % 1000)
    copy_weights(ours, theirs)

    # Ours, step by step as Sequential.train_on_batch runs it: the loss gradient
    # enters at the logits, below the final sigmoid.
    logits = x
    for layer in ours.layers[:-1]:
        logits = layer.forward(logits, training=True)
    grad = losses.binary_crossentropy_from_logits_gradient(y, logits)
    for layer in reversed(ours.layers[:-1]):
        grad = layer.backward(grad)
    our_grads = [layer.grads[key] for layer in ours.layers for key in layer.params]

    with tf.GradientTape() as tape:
        loss = keras.losses.BinaryCrossentropy()(y, theirs(x, training=True))
    their_grads = tape.gradient(loss, theirs.trainable_weights)

    assert len(our_grads) == len(their_grads)
    for index, (ours_g, theirs_g) in enumerate(
        zip(our_grads, their_grads, strict=True)
    ):
        assert_close(ours_g, theirs_g.numpy(), GRADIENT_RTOL, f"weight {index}")


# Weight transfer


def test_keras_model_file_round_trip(tmp_path):
    theirs = build_model(12, seed=5)
    x = np.random.default_rng(1).uniform(0, 1, (5, 12, 12, 3)).astype(np.float32)
    expected = theirs.predict(x, verbose=0)

    path = keras_to_model_file(
        theirs,
        tmp_path / "model",
        class_names=["danaus", "limenitis"],
        preprocessing={"image_size": [12, 12], "rescale": 1 / 255},
    )
    assert path == tmp_path / "model.npz"
    ours = load_model(path)
    assert ours.class_names == ["danaus", "limenitis"]
    assert ours.preprocessing["image_size"] == [12, 12]
    assert_close(ours.predict(x), expected, FORWARD_RTOL, "loaded by the library")

    back = model_file_to_keras(path)
    np.testing.assert_array_equal(back.predict(x, verbose=0), expected)
    for before, after in zip(theirs.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_library_model_file_opens_in_keras(tmp_path):
    ours = build_blog_model(10, seed=3)
    x = np.random.default_rng(2).uniform(0, 1, (6, 10, 10, 3)).astype(np.float32)
    y = np.array([[0], [1], [1], [0], [1], [0]], np.float32)
    ours.train_on_batch(x, y)
    ours.save(tmp_path / "model.npz")

    theirs = model_file_to_keras(tmp_path / "model.npz")
    assert_close(theirs.predict(x, verbose=0), ours.predict(x), FORWARD_RTOL, "Keras")
    expected = ours.evaluate(x, y)
    scores = theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(expected["loss"], rel=FORWARD_RTOL)
    assert scores["accuracy"] == pytest.approx(expected["accuracy"])
    # Keras can go on training the transferred weights.
    theirs.train_on_batch(x, y)
    assert not np.array_equal(theirs.get_weights()[0], ours.get_weights()[0])


def test_translation_of_padding_and_activations():
    theirs = keras.Sequential(
        [
            keras.Input((9, 8, 2)),
            keras.layers.ZeroPadding2D((1, 2)),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            keras.layers.MaxPooling2D(2, strides=1, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="sigmoid"),
            keras.layers.ReLU(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(1),
            keras.layers.Activation("sigmoid"),
        ]
    )
    ours = from_keras(theirs)
    assert [type(layer).__name__ for layer in ours.layers] == [
        "Conv2D",
        "ReLU",
        "MaxPool2D",
        "Flatten",
        "Dense",
        "Sigmoid",
        "ReLU",
        "Dropout",
        "Dense",
        "Sigmoid",
    ]
    assert ours.layers[0].get_config()["padding"] == [1, 2]
    x = np.random.default_rng(0).normal(size=(3, 9, 8, 2)).astype(np.float32)
    expected = theirs.predict(x, verbose=0)
    assert_close(ours.predict(x), expected, FORWARD_RTOL, "from_keras")
    again = to_keras(ours)
    assert_close(again.predict(x, verbose=0), expected, FORWARD_RTOL, "to_keras")


@pytest.mark.parametrize(
    ("layer", "reason"),
    [
        (keras.layers.BatchNormalization(), "no such layer"),
        (keras.layers.Conv2D(2, 2, dilation_rate=2), "dilation_rate"),
        (keras.layers.Conv2D(2, 2, use_bias=False), "use_bias"),
        (keras.layers.Dense(2, activation="tanh"), "activation 'tanh'"),
        (keras.layers.ReLU(max_value=6.0), "ReLU()"),
    ],
    ids=["batch norm", "dilation", "no bias", "tanh", "relu6"],
)
def test_from_keras_rejects_unsupported(layer, reason):
    theirs = keras.Sequential(
        [keras.Input((6, 6, 3)), layer, keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    with pytest.raises(TypeError, match="cannot be translated") as error:
        from_keras(theirs)
    assert reason in str(error.value)


def test_copy_weights_rejects_other_architecture():
    with pytest.raises(ValueError, match="different weights"):
        copy_weights(build_model(8), build_blog_model(12))
