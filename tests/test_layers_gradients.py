"""Gradient checks of every layer: backward against central differences, in float64.

Hypothesis draws the shapes, strides and paddings, strides that do not divide the
input included. Each test checks the input gradient and every parameter gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from convnet_from_scratch.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sigmoid,
)

from gradcheck import layer_gradient_errors

TOLERANCE = 1e-6

seeds = st.integers(0, 2**32 - 1)
implementations = st.sampled_from(["numba", "numpy"])


def assert_gradients_match(errors: dict[str, float], expected_keys: set[str]) -> None:
    assert set(errors) == expected_keys
    for name, error in errors.items():
        assert error < TOLERANCE, f"relative error of d{name} is {error:.3g}"


@st.composite
def window_cases(draw, explicit_padding: bool = True):
    """Draw window size, strides, padding and an input size the window fits."""
    window = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    modes = ["valid", "same"]
    if explicit_padding:
        modes += ["int", "pair"]
    mode = draw(st.sampled_from(modes))
    if mode == "int":
        padding = draw(st.integers(0, 2))
        pads = (padding, padding)
    elif mode == "pair":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        pads = padding
    else:
        padding = mode
        pads = (0, 0)
    # 'same' fits any size, and otherwise the padded input must fit one window.
    if mode == "same":
        smallest = (1, 1)
    else:
        smallest = (max(1, window[0] - 2 * pads[0]), max(1, window[1] - 2 * pads[1]))
    height = draw(st.integers(smallest[0], 6))
    width = draw(st.integers(smallest[1], 6))
    return window, strides, padding, (height, width)


@given(
    case=window_cases(),
    batch=st.integers(1, 2),
    channels=st.integers(1, 3),
    filters=st.integers(1, 3),
    implementation=implementations,
    seed=seeds,
)
@example(
    case=((3, 3), (2, 2), "valid", (6, 6)),
    batch=1,
    channels=2,
    filters=2,
    implementation="numpy",
    seed=0,
)
@example(
    case=((2, 3), (3, 2), "same", (5, 6)),
    batch=2,
    channels=1,
    filters=2,
    implementation="numba",
    seed=1,
)
def test_conv2d_gradients(case, batch, channels, filters, implementation, seed):
    window, strides, padding, (height, width) = case
    rng = np.random.default_rng(seed)
    layer = Conv2D(filters, window, strides=strides, padding=padding)
    layer.set_implementation(implementation)
    layer.build((height, width, channels), rng)
    # A non-zero bias makes its gradient visible in the output.
    layer.params["bias"] = rng.standard_normal(filters)
    x = rng.standard_normal((batch, height, width, channels))

    errors = layer_gradient_errors(layer, x, rng)

    assert_gradients_match(errors, {"input", "kernel", "bias"})


@given(
    case=window_cases(explicit_padding=False),
    default_strides=st.booleans(),
    batch=st.integers(1, 2),
    channels=st.integers(1, 3),
    implementation=implementations,
    seed=seeds,
)
@example(
    case=((2, 2), (2, 2), "valid", (5, 5)),
    default_strides=False,
    batch=1,
    channels=1,
    implementation="numba",
    seed=0,
)
def test_max_pool2d_gradients(
    case, default_strides, batch, channels, implementation, seed
):
    pool_size, strides, padding, (height, width) = case
    rng = np.random.default_rng(seed)
    layer = MaxPool2D(
        pool_size, strides=None if default_strides else strides, padding=padding
    )
    layer.set_implementation(implementation)
    layer.build((height, width, channels), rng)
    # Distinct values at least 0.1 apart, so no window has a tie that a step of
    # 1e-6 could flip.
    shape = (batch, height, width, channels)
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1

    errors = layer_gradient_errors(layer, x, rng)

    assert_gradients_match(errors, {"input"})


@given(
    batch=st.integers(1, 3),
    features=st.integers(1, 6),
    units=st.integers(1, 4),
    seed=seeds,
)
def test_dense_gradients(batch, features, units, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(units)
    layer.build((features,), rng)
    layer.params["bias"] = rng.standard_normal(units)
    x = rng.standard_normal((batch, features))

    errors = layer_gradient_errors(layer, x, rng)

    assert_gradients_match(errors, {"input", "kernel", "bias"})


@given(
    rate=st.floats(0.0, 0.9),
    training=st.booleans(),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    batch=st.integers(1, 3),
    seed=seeds,
)
def test_dropout_gradients(rate, training, shape, batch, seed):
    rng = np.random.default_rng(seed)
    layer = Dropout(rate, seed=seed)

    def reseed() -> None:
        # Building resets the layer's own generator, so every forward pass of the
        # check draws the same mask.
        layer.build(tuple(shape), rng)

    reseed()
    x = rng.standard_normal((batch, *shape))

    errors = layer_gradient_errors(
        layer, x, rng, training=training, before_forward=reseed
    )

    assert_gradients_match(errors, {"input"})


def _away_from_zero(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    # Magnitudes of at least 0.1 keep every input away from ReLU's kink at 0.
    return rng.uniform(0.1, 2.0, size) * rng.choice([-1.0, 1.0], size)


def _moderate_logits(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    # On [-6, 6] the sigmoid's slope stays above 0.0024, far above the rounding
    # error of a central difference with a step of 1e-6 (about 1e-10).
    return rng.uniform(-6.0, 6.0, size)


@pytest.mark.parametrize(
    ("make_layer", "draw_input"),
    [
        (Flatten, lambda rng, size: rng.standard_normal(size)),
        (ReLU, _away_from_zero),
        (Sigmoid, _moderate_logits),
    ],
    ids=["Flatten", "ReLU", "Sigmoid"],
)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    batch=st.integers(1, 3),
    seed=seeds,
)
def test_parameter_free_layer_gradients(make_layer, draw_input, shape, batch, seed):
    rng = np.random.default_rng(seed)
    layer = make_layer()
    layer.build(tuple(shape), rng)
    x = draw_input(rng, (batch, *shape))

    errors = layer_gradient_errors(layer, x, rng)

    assert_gradients_match(errors, {"input"})
