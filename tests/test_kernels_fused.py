"""The fused Conv2D -> ReLU -> MaxPool2D kernels and the model path that uses them.

The fused forward and backward passes must equal the NumPy reference run layer by
layer within 1e-5, repeat bitwise with 1 and 2 threads, and leave `Sequential`'s
training unchanged apart from float rounding.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnet_from_scratch import kernels, reference
from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.layers.fused import ConvReLUMaxPool
from convnet_from_scratch.shapes import padded_output_size

TOLERANCE = 1e-5


@st.composite
def fused_cases(draw):
    """Draw conv and pooling shapes whose pooled output has at least one cell."""
    f_h, f_w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p_h, p_w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    top, bottom, left, right = pads
    # Large enough that the conv output holds one pooling window.
    height = draw(st.integers(max(1, f_h + (p_h - 1) * strides[0] - top - bottom), 10))
    width = draw(st.integers(max(1, f_w + (p_w - 1) * strides[1] - left - right), 10))
    # Up to 10 input channels, to reach both backward loops.
    c_in, c_out = draw(st.integers(1, 10)), draw(st.integers(1, 9))
    x_shape = (draw(st.integers(1, 3)), height, width, c_in)
    return x_shape, (f_h, f_w, c_in, c_out), strides, pads, (p_h, p_w)


def layer_by_layer(x, kernel, bias, strides, pads, pool_size, grad_out):
    """Return the reference output and gradients of conv, ReLU and pooling."""
    z = reference.conv2d_forward(x, kernel, bias, strides, pads)
    relu = np.maximum(z, 0)
    out, argmax = reference.max_pool2d_forward(relu, pool_size, pool_size, (0,) * 4)
    grad_relu = reference.max_pool2d_backward(grad_out, argmax, relu.shape)
    grads = reference.conv2d_backward(grad_relu * (z > 0), x, kernel, strides, pads)
    return out, grads


def assert_close(actual, expected, name):
    assert actual.shape == expected.shape, f"{name}: shape mismatch"
    assert actual.dtype == expected.dtype, f"{name}: dtype mismatch"
    np.testing.assert_allclose(
        actual, expected, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name
    )


@given(
    case=fused_cases(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_fused_matches_reference_layers(case, dtype, seed):
    x_shape, kernel_shape, strides, pads, pool_size = case
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(dtype)
    kernel = rng.uniform(-1, 1, kernel_shape).astype(dtype)
    bias = rng.uniform(-1, 1, kernel_shape[3]).astype(dtype)

    out, argmax = kernels.conv2d_relu_max_pool2d_forward(
        x, kernel, bias, strides, pads, pool_size
    )
    grad_out = rng.uniform(-1, 1, out.shape).astype(dtype)
    expected_out, expected_grads = layer_by_layer(
        x, kernel, bias, strides, pads, pool_size, grad_out
    )
    assert_close(out, expected_out, "out")

    grads = kernels.conv2d_relu_max_pool2d_backward(
        grad_out, out, argmax, x, kernel, strides, pads, pool_size
    )
    for name, actual, expected in zip(
        ("dx", "dkernel", "dbias"), grads, expected_grads, strict=True
    ):
        assert_close(actual, expected, name)


def test_fused_backward_can_skip_input_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    kernel = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    bias = np.zeros(4, np.float32)
    args = ((1, 1), (0, 1, 0, 1), (2, 2))
    out, argmax = kernels.conv2d_relu_max_pool2d_forward(x, kernel, bias, *args)
    grad_out = np.ones_like(out)
    full = kernels.conv2d_relu_max_pool2d_backward(
        grad_out, out, argmax, x, kernel, *args
    )
    skipped = kernels.conv2d_relu_max_pool2d_backward(
        grad_out, out, argmax, x, kernel, *args, input_grad=False
    )
    assert skipped[0] is None
    np.testing.assert_array_equal(skipped[1], full[1])
    np.testing.assert_array_equal(skipped[2], full[2])


def test_fused_ties_send_gradient_to_first_cell():
    # Every conv output in a window is equal and positive, so the first cell of
    # the window, in row-major order, wins and takes the whole gradient.
    x = np.ones((1, 4, 4, 1))
    kernel = np.ones((1, 1, 1, 1))
    out, argmax = kernels.conv2d_relu_max_pool2d_forward(
        x, kernel, np.zeros(1), (1, 1), (0,) * 4, (2, 2)
    )
    dx, _, _ = kernels.conv2d_relu_max_pool2d_backward(
        np.ones_like(out), out, argmax, x, kernel, (1, 1), (0,) * 4, (2, 2)
    )
    assert dx[0, :, :, 0].tolist() == [
        [1.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [1.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]


def test_fused_backward_rejects_out_of_range_argmax():
    x = np.zeros((1, 4, 4, 1))
    kernel = np.zeros((1, 1, 1, 1))
    out = np.ones((1, 2, 2, 1))
    argmax = np.full((1, 2, 2, 1), 16, dtype=np.int32)
    with pytest.raises(ValueError, match=r"Expected argmax values in \[0, 15\]"):
        kernels.conv2d_relu_max_pool2d_backward(
            out, out, argmax, x, kernel, (1, 1), (0,) * 4, (2, 2)
        )


def test_fused_backward_rejects_wrong_out_shape():
    x = np.zeros((1, 4, 4, 1))
    kernel = np.zeros((1, 1, 1, 1))
    out = np.ones((1, 3, 3, 1))
    argmax = np.zeros((1, 3, 3, 1), dtype=np.int32)
    with pytest.raises(ValueError, match=r"Expected out of shape \(1, 2, 2, 1\)"):
        kernels.conv2d_relu_max_pool2d_backward(
            out, out, argmax, x, kernel, (1, 1), (0,) * 4, (2, 2)
        )


@pytest.fixture
def restore_threads():
    threads = numba.get_num_threads()
    yield
    numba.set_num_threads(threads)


def _fused_outputs(c_in: int) -> list[bytes]:
    rng = np.random.default_rng(7)
    # A batch of 5 splits unevenly over 2 threads.
    x = rng.standard_normal((5, 13, 11, c_in)).astype(np.float32)
    kernel = rng.standard_normal((2, 3, c_in, 6)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    args = ((1, 2), (1, 0, 1, 1), (2, 2))
    out, argmax = kernels.conv2d_relu_max_pool2d_forward(x, kernel, bias, *args)
    grad_out = rng.standard_normal(out.shape).astype(np.float32)
    grads = kernels.conv2d_relu_max_pool2d_backward(
        grad_out, out, argmax, x, kernel, *args
    )
    return [a.tobytes() for a in (out, argmax, *grads)]


@pytest.mark.parametrize("c_in", [3, 12], ids=["few_channels", "many_channels"])
def test_fused_kernels_bitwise_repeatable(c_in, restore_threads):
    results = {}
    for threads in (1, 2):
        numba.set_num_threads(threads)
        first = _fused_outputs(c_in)
        for repeat in range(1, 10):
            assert _fused_outputs(c_in) == first, f"{threads} thread(s): run {repeat}"
        results[threads] = first
    assert results[1] == results[2], "1-thread and 2-thread results differ"


# The model path


def test_blog_model_fuses_both_conv_blocks():
    model = build_blog_model(20)
    steps = model._steps()
    assert [type(step).__name__ for step in steps[:3]] == [
        "ConvReLUMaxPool",
        "ConvReLUMaxPool",
        "Flatten",
    ]
    assert len(steps) == len(model.layers) - 4
    model.set_implementation("numpy")
    assert model._steps() == model.layers


def test_fused_training_step_matches_layer_by_layer():
    rng = np.random.default_rng(0)
    x = rng.random((4, 20, 20, 3), dtype=np.float32)
    y = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)
    fused = build_blog_model(20, dropout=0.0)
    plain = build_blog_model(20, dropout=0.0)
    # Fusion needs all three layers on Numba. ReLU computes the same either way,
    # so marking the ReLUs 'numpy' keeps `plain` unfused on the Numba kernels.
    plain.layers[1].set_implementation("numpy")
    plain.layers[4].set_implementation("numpy")
    assert not any(isinstance(s, ConvReLUMaxPool) for s in plain._steps())

    for _ in range(3):
        fused_loss, _ = fused.train_on_batch(x, y)
        plain_loss, _ = plain.train_on_batch(x, y)
        assert fused_loss == pytest.approx(plain_loss, rel=1e-5)
    for ours, theirs in zip(fused.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_fused_forward_clears_layer_caches():
    model = build_blog_model(20)
    x = np.zeros((2, 20, 20, 3), np.float32)
    conv = model.layers[0]
    conv.forward(x)
    model.predict(x)
    with pytest.raises(RuntimeError, match="has no forward pass"):
        conv.backward(np.zeros((2, 20, 20, 32), np.float32))


def test_fused_output_size_matches_padded_size():
    x = np.zeros((1, 9, 8, 2), np.float32)
    kernel = np.zeros((2, 3, 2, 4), np.float32)
    out, _ = kernels.conv2d_relu_max_pool2d_forward(
        x, kernel, np.zeros(4, np.float32), (1, 1), (0, 1, 1, 1), (2, 3)
    )
    h_conv = padded_output_size(9, 2, 1, 0, 1)
    w_conv = padded_output_size(8, 3, 1, 1, 1)
    assert out.shape == (1, h_conv // 2, w_conv // 3, 4)


def test_fused_forward_without_argmax_same_output():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 11, 10, 5)).astype(np.float32)
    kernel = rng.standard_normal((2, 3, 5, 9)).astype(np.float32)
    bias = rng.standard_normal(9).astype(np.float32)
    args = (x, kernel, bias, (1, 2), (1, 0, 1, 1), (2, 2))
    out, argmax = kernels.conv2d_relu_max_pool2d_forward(*args)
    bare, no_argmax = kernels.conv2d_relu_max_pool2d_forward(*args, return_argmax=False)
    assert argmax.shape == out.shape
    assert no_argmax is None
    np.testing.assert_array_equal(bare, out)


def test_fused_inference_keeps_nothing_for_backward():
    model = build_blog_model(20)
    x = np.zeros((2, 20, 20, 3), np.float32)
    model.predict(x)
    block = model._steps()[0]
    with pytest.raises(RuntimeError, match=r"forward\(x, training=True\)"):
        block.backward(np.zeros((2, 10, 10, 32), np.float32))
