"""Every layer against its Keras counterpart: forward values and all gradients.

Each test builds our layer and the Keras layers that `keras_layers_for` translates it
to, gives both the same weights and the same float32 input, and compares

* the forward output,
* the input gradient and every parameter gradient, for a random upstream gradient
  ``g``: ours from ``backward(g)``, Keras's from ``tf.GradientTape`` on
  ``sum(output * g)``.

Conv and max-pool run on both implementations (Numba kernels and NumPy reference).
Max-pool inputs are drawn without ties. Ties are tested apart, on integer inputs: the
gradient must go to the element TensorFlow picks, the first maximum of each window in
row-major order.

Tolerance (float32): ``|ours - keras| <= 1e-5 * |keras| + 1e-5 * max|keras|``, so
about 1e-5 relative, with the absolute part scaled to the array because sums of
products that cancel have no meaningful relative error.
"""

import numpy as np
import pytest
from hypothesis import given
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
from keras_reference import tf
from keras_reference.transfer import keras_layers_for

RTOL = 1e-5
IMPLEMENTATIONS = ("numba", "numpy")


def assert_close(ours, theirs, what: str, atol: float = 0.0) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
    np.testing.assert_allclose(
        ours, theirs, rtol=RTOL, atol=RTOL * scale + atol, err_msg=what
    )


def uniform(rng, shape, low=-1.0, high=1.0) -> np.ndarray:
    return rng.uniform(low, high, shape).astype(np.float32)


def build(layer, input_shape, weights: dict | None = None):
    """Build our layer for ``input_shape`` and overwrite its parameters."""
    layer.build(input_shape, np.random.default_rng(0))
    for key, value in (weights or {}).items():
        layer.params[key][...] = value
    return layer


def keras_run(layer, x, upstream, training=False, weights=()):
    """Return Keras's output, input gradient and weight gradients for ``layer``.

    ``weights`` are set on the last Keras layer of the translation (after any
    ZeroPadding2D), in Keras's order: kernel, then bias.
    """
    stack = keras_layers_for(layer)
    h = x
    for keras_layer in stack:
        h = keras_layer(h)  # builds each layer for the input shape
    if weights:
        stack[-1].set_weights(list(weights))

    x_variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        h = x_variable
        for keras_layer in stack:
            h = keras_layer(h, training=training)
        loss = tf.reduce_sum(h * upstream)
    variables = stack[-1].trainable_weights
    gradients = tape.gradient(loss, [x_variable, *variables])
    # A layer whose output does not depend on its input gives no gradient at all.
    gradients = [
        np.zeros(v.shape, np.float32) if g is None else g.numpy()
        for g, v in zip(gradients, [x_variable, *variables], strict=True)
    ]
    return h.numpy(), gradients[0], gradients[1:]


def ours_run(layer, x, upstream, training=False):
    out = layer.forward(x, training=training)
    dx = layer.backward(upstream)
    return out, dx, [layer.grads[key] for key in layer.params]


def compare(layer, x, weights=(), seed=0, input_gradient_atol=0.0):
    """Run both engines on the same input and upstream gradient and compare."""
    rng = np.random.default_rng(seed)
    upstream = uniform(rng, layer.forward(x).shape)
    out, dx, grads = ours_run(layer, x, upstream)
    k_out, k_dx, k_grads = keras_run(layer, x, upstream, weights=weights)
    name = type(layer).__name__
    assert_close(out, k_out, f"{name} forward")
    assert_close(dx, k_dx, f"{name} input gradient", atol=input_gradient_atol)
    assert len(grads) == len(k_grads)
    for key, ours_grad, keras_grad in zip(layer.params, grads, k_grads, strict=True):
        assert_close(ours_grad, keras_grad, f"{name} {key} gradient")


# Conv2D


@st.composite
def conv_cases(draw):
    """Draw a conv geometry whose window fits, with batch and channel counts."""
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    window = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same"]),
            st.tuples(st.integers(0, 2), st.integers(0, 2)),
        )
    )
    if padding != "same":
        # Grow an input that is too small for the window, so every draw is used.
        pads = (0, 0) if padding == "valid" else padding
        size = tuple(
            max(n, f - 2 * p) for n, f, p in zip(size, window, pads, strict=True)
        )
    batch = draw(st.integers(1, 3))
    channels_in = draw(st.integers(1, 4))
    filters = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    return size, window, strides, padding, batch, channels_in, filters, seed


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@given(case=conv_cases())
def test_conv2d_matches_keras(implementation, case):
    size, window, strides, padding, batch, channels_in, filters, seed = case
    rng = np.random.default_rng(seed)
    kernel = uniform(rng, (*window, channels_in, filters))
    bias = uniform(rng, (filters,))
    layer = Conv2D(filters, window, strides=strides, padding=padding)
    build(layer, (*size, channels_in), {"kernel": kernel, "bias": bias})
    layer.set_implementation(implementation)
    x = uniform(rng, (batch, *size, channels_in))
    compare(layer, x, weights=(kernel, bias), seed=seed)


# MaxPool2D


@st.composite
def pool_cases(draw):
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    window = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid":
        size = (max(size[0], window[0]), max(size[1], window[1]))
    batch = draw(st.integers(1, 3))
    channels = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    return size, window, strides, padding, batch, channels, seed


def pool_layer(size, window, strides, padding, channels, implementation):
    layer = MaxPool2D(window, strides=strides, padding=padding)
    build(layer, (*size, channels))
    layer.set_implementation(implementation)
    return layer


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@given(case=pool_cases())
def test_max_pool_matches_keras_without_ties(implementation, case):
    size, window, strides, padding, batch, channels, seed = case
    rng = np.random.default_rng(seed)
    shape = (batch, *size, channels)
    # A permutation has no repeated value, so no window contains a tie. Shifting it
    # below zero makes all-negative windows, where 'same' padding must not win.
    x = (rng.permutation(np.prod(shape)).reshape(shape) - np.prod(shape) / 2) / 7
    layer = pool_layer(size, window, strides, padding, channels, implementation)
    compare(layer, x.astype(np.float32), seed=seed)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@given(case=pool_cases())
def test_max_pool_ties_follow_tensorflow(implementation, case):
    size, window, strides, padding, batch, channels, seed = case
    rng = np.random.default_rng(seed)
    # Values from {-1, 0, 1}: most windows hold several maxima.
    x = rng.integers(-1, 2, (batch, *size, channels)).astype(np.float32)
    layer = pool_layer(size, window, strides, padding, channels, implementation)
    out = layer.forward(x)
    # Distinct powers of two as the upstream gradient: any misrouted window
    # changes the sum in a way that cannot cancel.
    upstream = np.exp2(np.arange(out.size) % 20).reshape(out.shape).astype(np.float32)
    _, dx, _ = ours_run(layer, x, upstream)
    _, keras_dx, _ = keras_run(layer, x, upstream)
    np.testing.assert_array_equal(dx, keras_dx)


def test_max_pool_tie_examples():
    # All-equal 4x4 input, pool 2, stride 1: each window's first element (its
    # top-left) gets the gradient, so dx[:3, :3] is the upstream 1..9.
    layer = pool_layer((4, 4), (2, 2), (1, 1), "valid", 1, "numba")
    x = np.ones((1, 4, 4, 1), np.float32)
    upstream = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    _, dx, _ = ours_run(layer, x, upstream)
    _, keras_dx, _ = keras_run(layer, x, upstream)
    expected = np.zeros((4, 4), np.float32)
    expected[:3, :3] = np.arange(1, 10).reshape(3, 3)
    np.testing.assert_array_equal(keras_dx[0, :, :, 0], expected)
    np.testing.assert_array_equal(dx[0, :, :, 0], expected)


# Dense, Flatten, ReLU, Sigmoid, Dropout


@given(
    batch=st.integers(1, 4),
    features=st.integers(1, 32),
    units=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_dense_matches_keras(batch, features, units, seed):
    rng = np.random.default_rng(seed)
    kernel = uniform(rng, (features, units))
    bias = uniform(rng, (units,))
    layer = build(Dense(units), (features,), {"kernel": kernel, "bias": bias})
    compare(layer, uniform(rng, (batch, features)), weights=(kernel, bias), seed=seed)


image_shapes = st.tuples(
    st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 4)
)


@given(shape=image_shapes, seed=st.integers(0, 2**32 - 1))
def test_flatten_matches_keras(shape, seed):
    layer = build(Flatten(), shape[1:])
    compare(layer, uniform(np.random.default_rng(seed), shape), seed=seed)


@given(shape=image_shapes, seed=st.integers(0, 2**32 - 1))
def test_relu_matches_keras(shape, seed):
    rng = np.random.default_rng(seed)
    # A third of the inputs are exactly 0, where TensorFlow's gradient is 0.
    x = uniform(rng, shape) * rng.integers(0, 3, shape).astype(np.float32)
    layer = build(ReLU(), shape[1:])
    compare(layer, x, seed=seed)


@given(
    shape=image_shapes,
    scale=st.sampled_from([1.0, 10.0, 100.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_sigmoid_matches_keras(shape, scale, seed):
    rng = np.random.default_rng(seed)
    layer = build(Sigmoid(), shape[1:])
    # Both engines compute the gradient as g * y * (1 - y) from their float32
    # output y. Near y = 1 a one-ulp difference in y (6e-8, within the forward
    # tolerance) is a large relative change of 1 - y, so the input gradient is
    # held to an absolute 2 ulp of 1 times max|g| (the upstream g is in [-1, 1]).
    ulp_of_one = float(np.finfo(np.float32).eps)
    compare(
        layer,
        uniform(rng, shape) * np.float32(scale),
        seed=seed,
        input_gradient_atol=2 * ulp_of_one,
    )


@given(
    shape=image_shapes,
    rate=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_dropout_scaling_matches_keras(shape, rate, seed):
    # The two engines draw different masks, so each mask is read from its own
    # output. A kept element is the input times 1 / (1 - rate) and a dropped one
    # is 0. The input gradient is the upstream gradient through the same mask.
    rng = np.random.default_rng(seed)
    x = uniform(rng, shape, 0.5, 1.5)  # never 0, so a 0 output means dropped
    upstream = uniform(rng, shape, 0.5, 1.5)
    layer = build(Dropout(rate, seed=seed), shape[1:])
    results = {
        "ours": ours_run(layer, x, upstream, training=True),
        "keras": keras_run(layer, x, upstream, training=True),
    }
    scales = {}
    for engine, (out, dx, _) in results.items():
        kept = out != 0
        np.testing.assert_array_equal(dx != 0, kept, err_msg=engine)
        ratios = np.concatenate([out[kept] / x[kept], dx[kept] / upstream[kept]])
        if ratios.size:
            assert np.ptp(ratios) <= 1e-6 * ratios.max(), engine
            scales[engine] = float(ratios.mean())
    if rate == 0:
        for out, dx, _ in results.values():
            np.testing.assert_array_equal(out, x)
            np.testing.assert_array_equal(dx, upstream)
    if len(scales) == 2:
        assert scales["ours"] == pytest.approx(scales["keras"], rel=1e-6)
        assert scales["ours"] == pytest.approx(1 / (1 - rate), rel=1e-6)

    for engine, run in (("ours", ours_run), ("keras", keras_run)):
        out, dx, _ = run(layer, x, upstream, training=False)
        np.testing.assert_array_equal(out, x, err_msg=f"{engine} at inference")
        np.testing.assert_array_equal(dx, upstream, err_msg=f"{engine} at inference")
