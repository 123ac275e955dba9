"""Numba kernels against the NumPy reference, and their run-to-run determinism.

Every output of every kernel must agree with `reference.py` within 1e-5 on drawn
shapes, and repeated runs must give bitwise identical results with 1 and with 2
threads.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnet_from_scratch import kernels, reference
from convnet_from_scratch.optimizers import RMSprop
from convnet_from_scratch.shapes import padded_output_size

TOLERANCE = 1e-5
REPEATS = 20

dtypes = st.sampled_from([np.float32, np.float64])
seeds = st.integers(0, 2**32 - 1)


def assert_close(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    assert actual.shape == expected.shape, f"{name}: shape mismatch"
    assert actual.dtype == expected.dtype, f"{name}: dtype mismatch"
    np.testing.assert_allclose(
        actual, expected, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name
    )


@st.composite
def conv_cases(draw):
    """Draw conv shapes with any per-side padding that still fits one window."""
    f_h, f_w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    top, bottom, left, right = pads
    height = draw(st.integers(max(1, f_h - top - bottom), 9))
    width = draw(st.integers(max(1, f_w - left - right), 9))
    # Up to 10 input channels, to reach both input-gradient loops of the kernel.
    x_shape = (
        draw(st.integers(1, 3)),
        height,
        width,
        draw(st.integers(1, 10)),
    )
    kernel_shape = (f_h, f_w, x_shape[3], draw(st.integers(1, 9)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return x_shape, kernel_shape, strides, pads


@st.composite
def pool_cases(draw):
    """Draw pooling shapes with pads smaller than the window, as 'same' makes."""
    f_h, f_w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    top, bottom = draw(st.integers(0, f_h - 1)), draw(st.integers(0, f_h - 1))
    left, right = draw(st.integers(0, f_w - 1)), draw(st.integers(0, f_w - 1))
    height = draw(st.integers(max(1, f_h - top - bottom), 9))
    width = draw(st.integers(max(1, f_w - left - right), 9))
    x_shape = (draw(st.integers(1, 3)), height, width, draw(st.integers(1, 5)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return x_shape, (f_h, f_w), strides, (top, bottom, left, right)


@given(case=conv_cases(), dtype=dtypes, seed=seeds)
def test_conv2d_matches_reference(case, dtype, seed):
    x_shape, kernel_shape, strides, pads = case
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(dtype)
    kernel = rng.uniform(-1, 1, kernel_shape).astype(dtype)
    bias = rng.uniform(-1, 1, kernel_shape[3]).astype(dtype)

    out = kernels.conv2d_forward(x, kernel, bias, strides, pads)
    expected_out = reference.conv2d_forward(x, kernel, bias, strides, pads)
    assert_close(out, expected_out, "out")

    grad_out = rng.uniform(-1, 1, out.shape).astype(dtype)
    grads = kernels.conv2d_backward(grad_out, x, kernel, strides, pads)
    expected = reference.conv2d_backward(grad_out, x, kernel, strides, pads)
    for name, actual, expected_grad in zip(
        ("dx", "dkernel", "dbias"), grads, expected, strict=True
    ):
        assert_close(actual, expected_grad, name)


@given(case=pool_cases(), dtype=dtypes, ties=st.booleans(), seed=seeds)
def test_max_pool2d_matches_reference(case, dtype, ties, seed):
    x_shape, pool_size, strides, pads = case
    rng = np.random.default_rng(seed)
    if ties:
        # Few distinct values, so most windows have tied maxima.
        x = rng.integers(-2, 2, x_shape).astype(dtype)
    else:
        x = rng.uniform(-1, 1, x_shape).astype(dtype)

    out, argmax = kernels.max_pool2d_forward(x, pool_size, strides, pads)
    expected_out, expected_argmax = reference.max_pool2d_forward(
        x, pool_size, strides, pads
    )
    assert_close(out, expected_out, "out")
    np.testing.assert_array_equal(argmax, expected_argmax, err_msg="argmax")

    grad_out = rng.uniform(-1, 1, out.shape).astype(dtype)
    dx = kernels.max_pool2d_backward(grad_out, argmax, x.shape)
    expected_dx = reference.max_pool2d_backward(grad_out, expected_argmax, x.shape)
    assert_close(dx, expected_dx, "dx")


def test_max_pool2d_ties_go_to_first_maximum():
    # Two 2x2 windows with stride 1 over an all-equal 2x3 input: each window's
    # gradient goes to its top-left element.
    x = np.ones((1, 2, 3, 1))
    for module in (kernels, reference):
        out, argmax = module.max_pool2d_forward(x, (2, 2), (1, 1), (0, 0, 0, 0))
        dx = module.max_pool2d_backward(np.array([[[[1.0], [10.0]]]]), argmax, x.shape)
        assert argmax.ravel().tolist() == [0, 1]
        assert dx[0, :, :, 0].tolist() == [[1.0, 10.0, 0.0], [0.0, 0.0, 0.0]]


def test_max_pool2d_padding_never_wins():
    # With every input negative, a zero-filled pad would win the edge windows.
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    for module in (kernels, reference):
        out, argmax = module.max_pool2d_forward(x, (2, 2), (2, 2), (0, 1, 0, 1))
        assert out[0, :, :, 0].tolist() == [[-1.0, -3.0], [-7.0, -9.0]]
        assert argmax.ravel().tolist() == [0, 2, 6, 8]


@pytest.mark.parametrize("module", [kernels, reference], ids=["numba", "numpy"])
def test_pool_rejects_pad_as_large_as_window(module):
    x = np.zeros((1, 4, 4, 1))
    with pytest.raises(ValueError, match=r"Expected non-negative pads smaller"):
        module.max_pool2d_forward(x, (2, 2), (1, 1), (2, 0, 0, 0))


def test_conv2d_kernel_rejects_channel_mismatch():
    x = np.zeros((1, 4, 4, 3))
    kernel = np.zeros((2, 2, 2, 5))
    with pytest.raises(
        ValueError, match=r"kernel expects 2 input channels but x has 3"
    ):
        kernels.conv2d_forward(x, kernel, np.zeros(5), (1, 1), (0, 0, 0, 0))


def test_conv2d_kernel_rejects_wrong_grad_shape():
    x = np.zeros((1, 4, 4, 3))
    kernel = np.zeros((2, 2, 3, 5))
    grad_out = np.zeros((1, 4, 4, 5))
    with pytest.raises(ValueError, match=r"Expected grad_out of shape \(1, 3, 3, 5\)"):
        kernels.conv2d_backward(grad_out, x, kernel, (1, 1), (0, 0, 0, 0))


def test_max_pool2d_kernel_rejects_out_of_range_argmax():
    argmax = np.full((1, 1, 1, 1), 16)
    with pytest.raises(ValueError, match=r"Expected argmax values in \[0, 16\)"):
        kernels.max_pool2d_backward(np.ones((1, 1, 1, 1)), argmax, (1, 4, 4, 1))


# RMSprop


class _Layer:
    implementation = "numpy"

    def __init__(self, value):
        self.params = {"w": value.copy()}
        self.grads = {"w": np.zeros_like(value)}


@given(
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=3).map(tuple),
    dtype=dtypes,
    seed=seeds,
    rho=st.floats(0.0, 0.999),
    learning_rate=st.floats(1e-5, 1.0),
)
def test_rmsprop_kernel_matches_numpy(shape, dtype, seed, rho, learning_rate):
    rng = np.random.default_rng(seed)
    value = rng.standard_normal(shape).astype(dtype)
    layer = _Layer(value)
    optimizer = RMSprop(learning_rate=learning_rate, rho=rho)
    velocity = np.zeros(shape, dtype)
    for step in range(3):
        # Gradient scales 1, 1e-2 and 1e-4: the last squared is near epsilon = 1e-7.
        grad = (rng.standard_normal(shape) * 10.0 ** -(2 * step)).astype(dtype)
        layer.grads["w"][...] = grad
        optimizer.apply([layer])
        kernels.rmsprop_update(
            value, grad, velocity, learning_rate, rho, optimizer.epsilon
        )
    # The kernel does NumPy's operations in NumPy's order, so they agree bitwise.
    np.testing.assert_array_equal(value, layer.params["w"])
    np.testing.assert_array_equal(velocity, optimizer.velocities[(0, "w")])


def test_rmsprop_kernel_rejects_mismatched_arrays():
    value = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"Received grad of shape \(4, 3\)"):
        kernels.rmsprop_update(
            value, np.zeros((4, 3), np.float32), np.zeros_like(value), 0.1, 0.9, 1e-7
        )
    with pytest.raises(
        ValueError,
        match=r"Received velocity of shape \(3, 4\) and "
        r"dtype float64",
    ):
        kernels.rmsprop_update(
            value, np.zeros_like(value), np.zeros((3, 4)), 0.1, 0.9, 1e-7
        )


# Determinism


@pytest.fixture
def restore_threads():
    threads = numba.get_num_threads()
    yield
    numba.set_num_threads(threads)


def _run_all_kernels(inputs: dict) -> list[np.ndarray]:
    """Run every kernel once on ``inputs`` and return all of their outputs."""
    outputs = [kernels.conv2d_forward(*inputs["conv_forward"])]
    outputs += kernels.conv2d_backward(*inputs["conv_backward"])
    outputs += kernels.conv2d_backward(*inputs["conv_backward_wide"])
    pooled, argmax = kernels.max_pool2d_forward(*inputs["pool_forward"])
    outputs += [pooled, argmax]
    grad_pooled, x_shape = inputs["pool_backward"]
    outputs.append(kernels.max_pool2d_backward(grad_pooled, argmax, x_shape))
    return outputs


def _kernel_inputs(dtype) -> dict:
    rng = np.random.default_rng(12345)
    strides, pads = (2, 1), (1, 2, 0, 1)
    # A batch of 9 splits unevenly over 2 threads. The 3 and 12 input channels take
    # the two input-gradient loops.
    x = rng.standard_normal((9, 25, 23, 3)).astype(dtype)
    kernel = rng.standard_normal((3, 2, 3, 16)).astype(dtype)
    x_wide = rng.standard_normal((9, 17, 16, 12)).astype(dtype)
    kernel_wide = rng.standard_normal((2, 3, 12, 5)).astype(dtype)
    bias = rng.standard_normal(16).astype(dtype)

    def grad_for(x, kernel):
        h_out = padded_output_size(x.shape[1], kernel.shape[0], strides[0], *pads[:2])
        w_out = padded_output_size(x.shape[2], kernel.shape[1], strides[1], *pads[2:])
        shape = (x.shape[0], h_out, w_out, kernel.shape[3])
        return rng.standard_normal(shape).astype(dtype)

    # Stride 1 makes the pooling windows overlap, so their gradients accumulate.
    grad_pooled = rng.standard_normal((9, 24, 22, 3)).astype(dtype)
    return {
        "conv_forward": (x, kernel, bias, strides, pads),
        "conv_backward": (grad_for(x, kernel), x, kernel, strides, pads),
        "conv_backward_wide": (
            grad_for(x_wide, kernel_wide),
            x_wide,
            kernel_wide,
            strides,
            pads,
        ),
        "pool_forward": (x, (2, 2), (1, 1), (0, 0, 0, 0)),
        "pool_backward": (grad_pooled, x.shape),
    }


def _bytes(outputs: list[np.ndarray]) -> list[bytes]:
    return [np.ascontiguousarray(array).tobytes() for array in outputs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_bitwise_repeatable(dtype, restore_threads):
    inputs = _kernel_inputs(dtype)
    results = {}
    for threads in (1, 2):
        numba.set_num_threads(threads)
        first = _bytes(_run_all_kernels(inputs))
        for repeat in range(1, REPEATS):
            again = _bytes(_run_all_kernels(inputs))
            assert again == first, f"{threads} thread(s): run {repeat} differs"
        results[threads] = first
    assert results[1] == results[2], "1-thread and 2-thread results differ"
