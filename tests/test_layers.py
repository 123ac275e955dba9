"""Worked examples, validation messages and bookkeeping of the layers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from convnet_from_scratch.activations import log_sigmoid, sigmoid
from convnet_from_scratch.layers import (
    LAYER_CLASSES,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    ReLU,
    Sigmoid,
)

IMPLEMENTATIONS = ["numba", "numpy"]

# Every layer that accepts an (N, 8, 8, 3) batch, made fresh for each test.
IMAGE_LAYERS = [
    lambda: Conv2D(2, 3),
    lambda: MaxPool2D(2),
    Flatten,
    lambda: Dropout(0.5),
    ReLU,
    Sigmoid,
]
IMAGE_LAYER_IDS = ["Conv2D", "MaxPool2D", "Flatten", "Dropout", "ReLU", "Sigmoid"]


def built(layer: Layer, input_shape: tuple[int, ...], seed: int = 0) -> Layer:
    layer.build(input_shape, np.random.default_rng(seed))
    return layer


# Convolution worked examples


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_conv2d_stride3_padding2_gives_5x5(implementation):
    # 1 + floor((16 + 2*2 - 7) / 3) = 1 + floor(13 / 3) = 5
    layer = built(Conv2D(4, 7, strides=3, padding=2), (16, 16, 2))
    layer.set_implementation(implementation)
    x = np.random.default_rng(1).standard_normal((3, 16, 16, 2)).astype(np.float32)

    out = layer.forward(x)

    assert layer.output_shape == (5, 5, 4)
    assert out.shape == (3, 5, 5, 4)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_conv2d_stride2_leaves_last_row_unread(implementation):
    # Windows start at rows 0, 2 and 4 and end at row 6, so row 7 is never read.
    layer = built(Conv2D(3, 3, strides=2), (8, 8, 2))
    layer.set_implementation(implementation)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 8, 2)).astype(np.float32)

    out = layer.forward(x)
    dx = layer.backward(rng.standard_normal(out.shape).astype(np.float32))

    assert out.shape == (2, 3, 3, 3)
    assert np.all(dx[:, 7, :, :] == 0)
    assert np.all(dx[:, :, 7, :] == 0)
    assert np.all(dx[:, 6, :7, :] != 0)
    assert np.all(dx[:, :7, 6, :] != 0)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_conv2d_same_stride2_pads_bottom_right(implementation):
    # ceil(6 / 2) = 3 outputs need (3 - 1) * 2 + 3 - 6 = 1 row of padding, which
    # TensorFlow puts at the bottom (and the one column at the right).
    layer = built(Conv2D(1, 3, strides=2, padding="same"), (6, 6, 1))
    layer.set_implementation(implementation)
    layer.params["kernel"][...] = 1.0
    layer.params["bias"][...] = 0.0
    x = np.arange(36, dtype=np.float32).reshape(1, 6, 6, 1)

    out = layer.forward(x)

    assert layer.pads == (0, 1, 0, 1)
    expected = [[63, 81, 63], [171, 189, 135], [168, 180, 126]]
    assert out[0, :, :, 0].tolist() == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_keeps_input_dtype(dtype):
    layer = built(Conv2D(2, 2), (4, 4, 1))
    x = np.ones((1, 4, 4, 1), dtype=dtype)

    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))

    assert out.dtype == dtype
    assert dx.dtype == dtype
    assert layer.grads["kernel"].dtype == layer.params["kernel"].dtype


# Pooling


def test_max_pool2d_strides_default_to_pool_size():
    layer = MaxPool2D(pool_size=(2, 3))

    assert layer.strides == (2, 3)
    assert built(layer, (7, 7, 1)).output_shape == (3, 2, 1)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_max_pool2d_sends_gradient_to_maximum(implementation):
    layer = built(MaxPool2D(2), (2, 4, 1))
    layer.set_implementation(implementation)
    x = np.array([[1.0, 5.0, 2.0, 2.0], [3.0, 4.0, 2.0, 2.0]]).reshape(1, 2, 4, 1)

    out = layer.forward(x)
    dx = layer.backward(np.array([10.0, 20.0]).reshape(1, 1, 2, 1))

    assert out.ravel().tolist() == [5.0, 2.0]
    # The second window is a four-way tie, so its first element gets the gradient.
    assert dx[0, :, :, 0].tolist() == [[0, 10, 20, 0], [0, 0, 0, 0]]


# Dense, Flatten, ReLU


def test_flatten_is_row_major_over_hwc():
    layer = built(Flatten(), (2, 3, 4))
    x = np.arange(24.0).reshape(1, 2, 3, 4)

    out = layer.forward(x)

    assert out.shape == (1, 24)
    assert out[0].tolist() == list(range(24))
    assert layer.backward(out).shape == (1, 2, 3, 4)


def test_dense_computes_affine_map():
    layer = built(Dense(2), (3,))
    layer.params["kernel"][...] = [[1, 0], [0, 1], [1, 1]]
    layer.params["bias"][...] = [0.5, -0.5]

    out = layer.forward(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))

    assert out.tolist() == [[4.5, 4.5]]


def test_relu_gradient_is_zero_at_zero():
    layer = ReLU()
    x = np.array([[-1.0, 0.0, 2.0]])

    out = layer.forward(x)
    dx = layer.backward(np.ones_like(x))

    assert out.tolist() == [[0.0, 0.0, 2.0]]
    assert dx.tolist() == [[0.0, 0.0, 1.0]]


# Dropout


def test_dropout_half_keeps_half_and_doubles():
    layer = built(Dropout(0.5, seed=3), (100, 100))
    x = np.ones((1, 100, 100), dtype=np.float32)

    out = layer.forward(x, training=True)

    kept_count = int(np.count_nonzero(out))
    assert set(np.unique(out).tolist()) == {0.0, 2.0}
    # The kept count is Binomial(10000, 0.5), whose standard deviation is 50, so
    # the bound allows 5 standard deviations either way.
    assert 4750 <= kept_count <= 5250


def test_dropout_keeps_one_minus_rate():
    layer = built(Dropout(0.2, seed=3), (100, 100))
    x = np.ones((1, 100, 100))

    out = layer.forward(x, training=True)

    kept_values = out[out != 0]
    np.testing.assert_allclose(kept_values, 1.25, rtol=1e-12)
    # Binomial(10000, 0.8) has a standard deviation of 40: 5 of them either way.
    assert 7800 <= kept_values.size <= 8200


def test_dropout_backward_reuses_mask():
    layer = built(Dropout(0.5, seed=4), (50,))
    x = np.ones((4, 50))

    out = layer.forward(x, training=True)
    dx = layer.backward(np.full_like(x, 3.0))

    np.testing.assert_array_equal(dx, 3.0 * out)


def test_dropout_inference_returns_input():
    layer = built(Dropout(0.5, seed=5), (50,))
    x = np.random.default_rng(5).standard_normal((4, 50))

    out = layer.forward(x, training=False)
    grad = np.ones_like(x)

    assert out is x
    assert layer.backward(grad) is grad


def test_dropout_seed_repeats_masks():
    x = np.ones((2, 64))
    first = built(Dropout(0.3, seed=6), (64,)).forward(x, training=True)
    second = built(Dropout(0.3, seed=6), (64,)).forward(x, training=True)
    other = built(Dropout(0.3, seed=7), (64,)).forward(x, training=True)

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_dropout_without_seed_uses_build_rng():
    x = np.ones((2, 64))
    first = built(Dropout(0.3), (64,), seed=8).forward(x, training=True)
    second = built(Dropout(0.3), (64,), seed=8).forward(x, training=True)
    other = built(Dropout(0.3), (64,), seed=9).forward(x, training=True)

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


# Sigmoid


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_extreme_logits_are_finite(dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)

    with np.errstate(all="raise"):
        y = sigmoid(x)
        log_y = log_sigmoid(x)
        layer = Sigmoid()
        layer_out = layer.forward(x.reshape(1, -1))
        dx = layer.backward(np.ones((1, 5), dtype=dtype))

    assert y.dtype == dtype
    assert np.all(np.isfinite(y))
    assert y[0] == 0.0
    assert y[2] == 0.5
    assert y[-1] == 1.0
    assert log_y[0] == -1000.0
    assert log_y[-1] == 0.0
    assert np.all(np.isfinite(dx))
    np.testing.assert_array_equal(layer_out[0], y)


def test_sigmoid_matches_logistic_formula():
    x = np.linspace(-30, 30, 61)

    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(log_sigmoid(x), -np.log1p(np.exp(-x)), rtol=1e-12)


# Validation messages


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: Conv2D(0, 2),
            ValueError,
            r"Invalid value for argument `filters`\. Expected a positive int\. "
            r"Received filters=0\.",
        ),
        (
            lambda: Conv2D(4, (2,)),
            TypeError,
            r"Invalid type for argument `kernel_size`\. Expected an int or a pair of "
            r"ints\. Received kernel_size=\(2,\)\.",
        ),
        (
            lambda: Conv2D(4, 2, strides=0),
            ValueError,
            r"Invalid value for argument `strides`\. Expected positive ints\. "
            r"Received strides=0\.",
        ),
        (
            lambda: Conv2D(4, 2, padding="full"),
            ValueError,
            r"Invalid value for argument `padding`\. Expected 'valid', 'same', a "
            r"non-negative int or a pair of them\. Received padding='full'\.",
        ),
        (
            lambda: MaxPool2D(2, padding="full"),
            ValueError,
            r"Invalid value for argument `padding`\. Expected 'valid' or 'same'\. "
            r"Received padding='full'\.",
        ),
        (
            lambda: MaxPool2D(2, padding=1),
            TypeError,
            r"Invalid type for argument `padding`\. Expected 'valid' or 'same'\. "
            r"Received padding=1 of type int\.",
        ),
        (
            lambda: MaxPool2D(0),
            ValueError,
            r"Invalid value for argument `pool_size`\. Expected positive ints\. "
            r"Received pool_size=0\.",
        ),
        (
            lambda: Dense(0),
            ValueError,
            r"Invalid value for argument `units`\. Expected a positive int\. "
            r"Received units=0\.",
        ),
        (
            lambda: Dropout(1.5),
            ValueError,
            r"Invalid value for argument `rate`\. Expected a float in \[0, 1\)\. "
            r"Received rate=1\.5\.",
        ),
        (
            lambda: Dropout(1),
            ValueError,
            r"Invalid value for argument `rate`\. Expected a float in \[0, 1\)\. "
            r"Received rate=1\.",
        ),
        (
            lambda: Dropout("0.5"),
            TypeError,
            r"Invalid type for argument `rate`\. Expected a float in \[0, 1\)\. "
            r"Received rate='0\.5' of type str\.",
        ),
        (
            lambda: Dropout(0.5, seed=1.5),
            TypeError,
            r"Invalid type for argument `seed`\. Expected an int or None\. "
            r"Received seed=1\.5 of type float\.",
        ),
    ],
)
def test_constructor_rejects_bad_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_pool_that_does_not_fit_is_rejected():
    layer = MaxPool2D(3)

    with pytest.raises(ValueError, match=r"window of length 3 does not fit"):
        built(layer, (2, 5, 1))


def test_conv_that_does_not_fit_is_rejected():
    with pytest.raises(ValueError, match=r"Computed output size would be zero"):
        built(Conv2D(1, 5, padding=1), (2, 8, 1))


@pytest.mark.parametrize(
    ("layer", "input_shape", "message"),
    [
        (Conv2D(1, 2), (8, 8), r"Conv2D expects inputs of shape \(N, H, W, C\)"),
        (MaxPool2D(2), (8,), r"MaxPool2D expects inputs of shape \(N, H, W, C\)"),
        (Dense(3), (4, 4, 3), r"put a Flatten layer before it"),
    ],
)
def test_build_rejects_wrong_rank(layer, input_shape, message):
    with pytest.raises(ValueError, match=message):
        built(layer, input_shape)


# Shape checks and call order


@pytest.mark.parametrize("make_layer", IMAGE_LAYERS, ids=IMAGE_LAYER_IDS)
def test_forward_rejects_wrong_image_shape(make_layer):
    layer = built(make_layer(), (8, 8, 3))
    x = np.zeros((2, 8, 7, 3), dtype=np.float32)

    with pytest.raises(ValueError, match=r"built for inputs of shape \(N, 8, 8, 3\)"):
        layer.forward(x)


def test_dense_rejects_wrong_feature_count():
    layer = built(Dense(2), (5,))

    with pytest.raises(ValueError, match=r"built for inputs of shape \(N, 5\)"):
        layer.forward(np.zeros((3, 4), dtype=np.float32))


def test_forward_before_build_is_rejected():
    with pytest.raises(RuntimeError, match=r"Layer 'conv2d' is not built"):
        Conv2D(1, 2).forward(np.zeros((1, 4, 4, 1)))


@pytest.mark.parametrize("make_layer", IMAGE_LAYERS, ids=IMAGE_LAYER_IDS)
def test_backward_before_forward_is_rejected(make_layer):
    layer = built(make_layer(), (8, 8, 3))

    with pytest.raises(RuntimeError, match=r"forward\(x, training=True\) before"):
        layer.backward(np.zeros((1, 8, 8, 3)))


# Initialisation


@pytest.mark.parametrize(
    ("layer", "input_shape", "fan_in", "fan_out"),
    [
        (Conv2D(16, 3), (10, 10, 8), 3 * 3 * 8, 3 * 3 * 16),
        (Conv2D(32, (2, 1)), (10, 10, 3), 2 * 1 * 3, 2 * 1 * 32),
        (Dense(64), (500,), 500, 64),
    ],
    ids=["conv3x3", "conv2x1", "dense"],
)
def test_glorot_uniform_limits(layer, input_shape, fan_in, fan_out):
    built(layer, input_shape)
    kernel = layer.params["kernel"]
    limit = np.float32(math.sqrt(6 / (fan_in + fan_out)))

    assert kernel.dtype == np.float32
    assert np.abs(kernel).max() <= limit
    # With this many draws the largest is close to the limit, so a narrower range
    # would show.
    assert np.abs(kernel).max() > 0.9 * limit
    assert not layer.params["bias"].any()


@pytest.mark.parametrize(
    ("make", "shape"),
    [(lambda: Conv2D(8, 3), (6, 6, 3)), (lambda: Dense(8), (12,))],
    ids=["conv", "dense"],
)
def test_same_seed_gives_same_weights(make, shape):
    first = built(make(), shape, seed=11).params["kernel"]
    second = built(make(), shape, seed=11).params["kernel"]
    other = built(make(), shape, seed=12).params["kernel"]

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


# Configuration


@pytest.mark.parametrize(
    "layer",
    [
        Conv2D(8, (2, 3), strides=(1, 2), padding="same", name="c1"),
        Conv2D(8, 3, padding=(1, 2)),
        MaxPool2D((2, 2), strides=1, padding="same"),
        Dense(5, name="head"),
        Flatten(),
        Dropout(0.25, seed=7),
        ReLU(),
        Sigmoid(),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trips_through_json(layer):
    config = layer.get_config()
    restored = LAYER_CLASSES[type(layer).__name__](**json.loads(json.dumps(config)))

    assert restored.get_config() == config
    assert type(restored) is type(layer)


def test_registry_lists_every_layer():
    expected = {Conv2D, MaxPool2D, Dense, Flatten, Dropout, ReLU, Sigmoid}

    assert set(LAYER_CLASSES.values()) == expected
    assert all(name == cls.__name__ for name, cls in LAYER_CLASSES.items())
