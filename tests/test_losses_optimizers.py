"""Binary cross-entropy, accuracy and the optimizers, on worked examples."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from convnet_from_scratch import losses
from convnet_from_scratch.optimizers import SGD, RMSprop

from gradcheck import numerical_gradient


class _OneParameter:
    """A stand-in layer holding one parameter and its gradient, on NumPy."""

    implementation = "numpy"

    def __init__(self, value, grad):
        self.params = {"var": np.array([value], dtype=np.float64)}
        self.grads = {"var": np.array([grad], dtype=np.float64)}


def test_rmsprop_step_matches_keras_formula():
    # Loss var**2 / 2 has gradient var. v = 0.1 * 10**2 = 10, so the step is
    # 0.1 * 10 / sqrt(10 + 1e-7) = 0.316228, and Keras 3 gives 9.683772.
    layer = _OneParameter(10.0, 10.0)
    RMSprop(learning_rate=0.1, rho=0.9, epsilon=1e-7).apply([layer])
    assert layer.params["var"][0] == pytest.approx(9.683772, abs=1e-6)


def test_rmsprop_keeps_state_across_steps():
    layer = _OneParameter(10.0, 10.0)
    optimizer = RMSprop(learning_rate=0.1)
    for _ in range(3):
        layer.grads["var"][...] = layer.params["var"]
        optimizer.apply([layer])
    # Keras 3 gives 9.683772, 9.457880, 9.270531 for the first three steps.
    assert layer.params["var"][0] == pytest.approx(9.270531, abs=1e-5)
    assert optimizer.iterations == 3


def test_rmsprop_epsilon_inside_square_root():
    # With var = 1e-4, v = 1e-9: epsilon inside the root gives a step of
    # 0.1 * 1e-4 / sqrt(1e-9 + 1e-7) = 0.0314, not 0.1 * 1e-4 / (3.2e-5 + 1e-7).
    layer = _OneParameter(1e-4, 1e-4)
    RMSprop(learning_rate=0.1).apply([layer])
    assert layer.params["var"][0] == pytest.approx(
        1e-4 - 0.1 * 1e-4 / np.sqrt(1e-9 + 1e-7)
    )


def test_sgd_plain_and_momentum():
    layer = _OneParameter(1.0, 2.0)
    SGD(learning_rate=0.1).apply([layer])
    assert layer.params["var"][0] == pytest.approx(0.8)

    layer = _OneParameter(1.0, 2.0)
    optimizer = SGD(learning_rate=0.1, momentum=0.5)
    optimizer.apply([layer])  # v = -0.2, var = 0.8
    optimizer.apply([layer])  # v = 0.5 * -0.2 - 0.2 = -0.3, var = 0.5
    assert layer.params["var"][0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"rho": 1.0}, "rho"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"learning_rate": "fast"}, "Expected a float"),
    ],
)
def test_rmsprop_rejects_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        RMSprop(**kwargs)


def test_bce_from_probabilities_worked_example():
    y = np.array([[1.0], [0.0]])
    p = np.array([[0.8], [0.4]])
    expected = -(np.log(0.8) + np.log(0.6)) / 2
    assert losses.binary_crossentropy(y, p) == pytest.approx(expected)


def test_bce_clips_extreme_probabilities_like_keras():
    # In float32, 1 - 1e-7 rounds to 0.99999988, so y=0, p=1 costs
    # -log(1.1920929e-7) = 15.942385 while y=1, p=0 costs -log(1e-7) = 16.118095.
    y = np.array([[0.0], [1.0]], dtype=np.float32)
    p = np.array([[1.0], [0.0]], dtype=np.float32)
    with np.errstate(all="raise"):
        per_sample = [
            losses.binary_crossentropy(y[i : i + 1], p[i : i + 1]) for i in (0, 1)
        ]
    assert per_sample[0] == pytest.approx(15.942385, abs=1e-4)
    assert per_sample[1] == pytest.approx(16.118095, abs=1e-4)


def test_bce_logits_extremes_finite():
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    z = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    with np.errstate(all="raise"):
        loss = losses.binary_crossentropy_from_logits(y, z)
        grad = losses.binary_crossentropy_from_logits_gradient(y, z)
    # Two confidently wrong samples cost 1000 each, two right ones cost 0.
    assert loss == pytest.approx(500.0)
    np.testing.assert_allclose(grad[:, 0], [0.25, -0.25, 0.0, 0.0], atol=1e-12)


def test_bce_logits_and_probability_forms_agree():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(16, 1))
    y = rng.integers(0, 2, size=(16, 1)).astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-z))
    assert losses.binary_crossentropy_from_logits(y, z) == pytest.approx(
        losses.binary_crossentropy(y, p), rel=1e-9
    )


@given(
    arrays(np.float64, (6, 1), elements=st.floats(-8, 8)),
    arrays(np.float64, (6, 1), elements=st.sampled_from([0.0, 1.0])),
)
def test_bce_from_logits_gradient_check(z, y):
    numeric = numerical_gradient(
        lambda: losses.binary_crossentropy_from_logits(y, z), z
    )
    analytic = losses.binary_crossentropy_from_logits_gradient(y, z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@given(
    arrays(np.float64, (5, 1), elements=st.floats(0.02, 0.98)),
    arrays(np.float64, (5, 1), elements=st.sampled_from([0.0, 1.0])),
)
def test_bce_from_probabilities_gradient_check(p, y):
    numeric = numerical_gradient(lambda: losses.binary_crossentropy(y, p), p)
    analytic = losses.binary_crossentropy_gradient(y, p)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_bce_gradient_is_zero_where_clipped():
    y = np.array([[1.0], [0.0]])
    p = np.array([[0.0], [1.0]])
    np.testing.assert_array_equal(losses.binary_crossentropy_gradient(y, p), 0.0)


def test_bce_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"same shape.*\(3, 1\).*\(2, 1\)"):
        losses.binary_crossentropy(np.zeros((3, 1)), np.zeros((2, 1)))


def test_binary_accuracy_threshold_is_strict():
    y = np.array([[0.0], [1.0], [1.0]])
    p = np.array([[0.5], [0.5], [0.51]])
    # 0.5 counts as class 0, as in Keras: right, wrong, right.
    assert losses.binary_accuracy(y, p) == pytest.approx(2 / 3)
