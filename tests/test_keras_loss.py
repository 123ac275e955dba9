"""Binary cross-entropy and accuracy against Keras 3.15 on TensorFlow 2.21.

Keras clips probabilities to ``[1e-7, 1 - 1e-7]`` in float32, where ``1 - 1e-7`` rounds
to 0.99999988, so the largest loss is 16.118095 for (y=1, p=0) but 15.942385 for
(y=0, p=1). A compiled model whose last layer is a sigmoid does not use that formula at
all: Keras on TensorFlow finds the sigmoid's input (``_keras_logits``) and computes the
loss from the logits, unclipped. The hand-written `Sequential` makes the same choice,
and the last tests here hold it to that.

Tolerances: float32 throughout; losses agree to 1e-6 relative (plus 1e-7 absolute
for losses near zero), gradients to 1e-5 relative.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnet_from_scratch import losses
from convnet_from_scratch.layers import Dense, Sigmoid
from convnet_from_scratch.model import Sequential
from keras_reference import keras, tf, to_keras

LOSS_RTOL, LOSS_ATOL = 1e-6, 1e-7
GRAD_RTOL = 1e-5

# Probabilities at and around Keras's clip bounds, in float32.
EPSILON = np.float32(1e-7)
EXTREME_PROBABILITIES = [
    0.0,
    1e-30,
    1e-8,
    float(EPSILON),
    float(np.nextafter(EPSILON, np.float32(1))),
    0.5,
    float(np.float32(1) - EPSILON),
    float(np.nextafter(np.float32(1) - EPSILON, np.float32(0))),
    float(np.nextafter(np.float32(1), np.float32(0))),
    1.0,
]

probability = st.one_of(
    st.sampled_from(EXTREME_PROBABILITIES),
    st.floats(0.0, 1.0, width=32),
)
logit = st.one_of(
    st.sampled_from([0.0, 1e-3, 15.0, 16.2, 30.0, 88.8, 100.0, 1000.0]).flatmap(
        lambda v: st.sampled_from([v, -v])
    ),
    st.floats(-200.0, 200.0, width=32),
)


@st.composite
def labelled(draw, values):
    """Draw (y, values) arrays of shape (N, 1), float32, labels 0 or 1."""
    n = draw(st.integers(1, 16))
    y = draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n))
    v = draw(st.lists(values, min_size=n, max_size=n))
    return column(y), column(v)


def column(values) -> np.ndarray:
    return np.array(values, np.float32).reshape(-1, 1)


def keras_bce(y, p):
    """Keras's mean binary cross-entropy of plain probabilities (no logits attached)."""
    return float(keras.losses.BinaryCrossentropy()(y, p))


@given(labelled(probability))
def test_bce_from_probabilities_matches_keras(pair):
    y, p = pair
    ours = losses.binary_crossentropy(y, p)
    assert np.isfinite(ours)
    assert ours == pytest.approx(keras_bce(y, p), rel=LOSS_RTOL, abs=LOSS_ATOL)


def test_bce_clip_is_asymmetric_in_float32():
    # -log(1e-7) = 16.118095 for (y=1, p=0); -log(1 - 0.99999988) = 15.942385 for
    # (y=0, p=1), because 1 - 1e-7 rounds to 0.99999988 in float32.
    y = np.array([[1.0], [0.0]], np.float32)
    p = np.array([[0.0], [1.0]], np.float32)
    per_sample = keras.losses.binary_crossentropy(y, p).numpy()
    assert per_sample[0] == pytest.approx(16.118095, rel=1e-6)
    assert per_sample[1] == pytest.approx(15.942385, rel=1e-6)
    assert losses.binary_crossentropy(y[:1], p[:1]) == pytest.approx(16.118095, 1e-6)
    assert losses.binary_crossentropy(y[1:], p[1:]) == pytest.approx(15.942385, 1e-6)


@given(labelled(probability))
def test_bce_gradient_matches_tape(pair):
    y, p = pair
    variable = tf.Variable(p)
    with tf.GradientTape() as tape:
        loss = keras.losses.BinaryCrossentropy()(y, variable)
    expected = tape.gradient(loss, variable).numpy()
    ours = losses.binary_crossentropy_gradient(y, p)
    assert ours.shape == expected.shape
    # TensorFlow's clip passes no gradient outside [eps, 1 - eps]; zero stays zero.
    np.testing.assert_array_equal(ours == 0, expected == 0)
    np.testing.assert_allclose(ours, expected, rtol=GRAD_RTOL, atol=0)


@given(labelled(logit))
def test_bce_from_logits_matches_keras_sigmoid_path(pair):
    y, z = pair
    # keras.activations.sigmoid tags its output with the logits, and Keras's
    # binary_crossentropy on TensorFlow then uses them instead of the probabilities.
    tagged = keras.activations.sigmoid(tf.constant(z))
    assert hasattr(tagged, "_keras_logits")
    expected = float(keras.losses.BinaryCrossentropy()(y, tagged))
    direct = float(
        tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))
    )
    ours = losses.binary_crossentropy_from_logits(y, z)
    assert expected == pytest.approx(direct, rel=LOSS_RTOL, abs=LOSS_ATOL)
    assert ours == pytest.approx(expected, rel=LOSS_RTOL, abs=LOSS_ATOL)


@given(labelled(logit))
def test_bce_from_logits_gradient_matches_tape(pair):
    y, z = pair
    variable = tf.Variable(z)
    with tf.GradientTape() as tape:
        loss = keras.losses.BinaryCrossentropy()(y, keras.activations.sigmoid(variable))
    expected = tape.gradient(loss, variable).numpy()
    ours = losses.binary_crossentropy_from_logits_gradient(y, z)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=GRAD_RTOL, atol=1e-12)


@given(labelled(probability))
def test_binary_accuracy_matches_keras(pair):
    y, p = pair
    expected = float(np.mean(keras.metrics.binary_accuracy(y, p).numpy()))
    assert losses.binary_accuracy(y, p) == pytest.approx(expected, abs=1e-7)


def test_accuracy_threshold_is_strict():
    # p == 0.5 counts as class 0 in Keras (y_pred > 0.5), and here.
    y = np.array([[0.0], [1.0]], np.float32)
    p = np.array([[0.5], [0.5]], np.float32)
    assert keras.metrics.binary_accuracy(y, p).numpy().ravel().tolist() == [1.0, 0.0]
    assert losses.binary_accuracy(y, p) == 0.5
    assert losses.binary_accuracy(y[:1], p[:1]) == 1.0


# The loss of a whole model whose last layer is a sigmoid


@pytest.fixture(scope="module")
def sigmoid_models():
    """A hand-written Dense(1) -> Sigmoid model and its Keras copy, compiled once."""
    ours = Sequential([Dense(1), Sigmoid()])
    ours.build((3,), seed=0)
    ours.compile()
    return ours, to_keras(ours)


@st.composite
def logit_batches(draw):
    """Draw inputs, labels and weights that make logits anywhere in [-400, 400]."""
    n = draw(st.integers(1, 8))
    unit = st.floats(-1, 1, width=32)
    x = column(draw(st.lists(unit, min_size=3 * n, max_size=3 * n))).reshape(n, 3)
    y = column(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
    scale = np.float32(draw(st.sampled_from([0.1, 1.0, 10.0, 100.0])))
    kernel = column(draw(st.lists(unit, min_size=3, max_size=3)))
    bias = np.array([draw(unit)], np.float32)
    return x, y, [kernel * scale, bias * scale]


@given(logit_batches())
def test_model_loss_uses_logits_like_keras(sigmoid_models, batch):
    ours, theirs = sigmoid_models
    x, y, weights = batch
    ours.set_weights(weights)
    theirs.set_weights(weights)

    expected = theirs.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    logits = x @ weights[0] + weights[1]
    from_logits = losses.binary_crossentropy_from_logits(y, logits)
    assert expected["loss"] == pytest.approx(from_logits, rel=1e-5, abs=1e-6)

    scores = ours.evaluate(x, y, batch_size=len(x))
    assert scores["loss"] == pytest.approx(expected["loss"], rel=1e-5, abs=1e-6)
    # Within about 1e-6 of logit 0 the float32 sigmoid rounds to 0.5 or just above
    # it depending on how it is evaluated, so the thresholded class is a coin toss.
    if np.all(np.abs(logits) > 1e-5):
        assert scores["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)


def test_model_loss_at_extreme_logit_is_unclipped(sigmoid_models):
    ours, theirs = sigmoid_models
    # One input, logit 30 for a sample of class 0: the logits formula gives
    # max(30, 0) - 0 + log1p(exp(-30)) = 30.0; the clipped probability formula
    # would give 15.942385.
    weights = [np.array([[30.0], [0.0], [0.0]], np.float32), np.zeros(1, np.float32)]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = np.array([[1.0, 0.0, 0.0]], np.float32)
    y = np.zeros((1, 1), np.float32)
    keras_loss = theirs.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert keras_loss == pytest.approx(30.0, rel=1e-6)
    assert ours.evaluate(x, y)["loss"] == pytest.approx(keras_loss, rel=1e-6)
    loss, _ = ours.train_on_batch(x, y)
    assert loss == pytest.approx(30.0, rel=1e-6)
