"""`trace`: the window-by-window convolution agrees with the reference kernel."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from convnet_from_scratch import cli, reference, shapes
from convnet_from_scratch.trace import (
    FRAME_DPI,
    FRAME_SIZE,
    example_image,
    format_trace,
    trace_convolution,
    vertical_edge_filter,
)

# Stride 1 and 2, without padding, with one zero on each side, and 'same'.
CASES = [
    ((1, 1), "valid"),
    ((2, 2), "valid"),
    ((1, 1), (1, 1)),
    ((2, 2), (1, 1)),
    ((1, 1), "same"),
    ((2, 2), "same"),
]
FRAME_PIXELS = (round(FRAME_SIZE[0] * FRAME_DPI), round(FRAME_SIZE[1] * FRAME_DPI))


def make_trace(strides, padding):
    kernel, bias = vertical_edge_filter()
    return trace_convolution(example_image(), kernel, bias, strides, padding)


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(("strides", "padding"), CASES)
def test_sums_equal_reference_kernel(strides, padding):
    trace = make_trace(strides, padding)
    kernel, bias = vertical_edge_filter()
    expected = reference.conv2d_forward(
        example_image()[np.newaxis], kernel, bias, strides, trace.pads
    )
    assert trace.output.shape == expected.shape[1:3]
    np.testing.assert_array_equal(trace.output, expected[0, :, :, 0])
    sums = [window.total for window in trace.windows]
    np.testing.assert_array_equal(sums, expected[0, :, :, 0].ravel())


@pytest.mark.parametrize(("strides", "padding"), CASES)
def test_windows_follow_shape_arithmetic(strides, padding):
    trace = make_trace(strides, padding)
    rows, cols = shapes.conv_output_shape(
        (7, 7), (3, 3), strides, shapes.normalize_padding(padding)
    )
    assert len(trace.windows) == rows.output * cols.output
    kernel, _ = vertical_edge_filter()
    for window in trace.windows:
        assert window.rows.start == window.out_row * strides[0] - rows.pad_before
        assert window.cols.start == window.out_col * strides[1] - cols.pad_before
        np.testing.assert_array_equal(window.products, window.cells * kernel[..., 0])
        assert window.total == window.products.sum()


def test_padding_cells_are_zero():
    trace = make_trace((1, 1), (1, 1))
    corner = trace.windows[0]
    assert list(corner.rows) == [-1, 0, 1]
    assert list(corner.cols) == [-1, 0, 1]
    assert not corner.cells[0, :, :].any()
    assert not corner.cells[:, 0, :].any()
    np.testing.assert_array_equal(corner.cells[1:, 1:], example_image()[:2, :2])


def test_filter_ignores_green_and_blue():
    image = example_image()
    changed = image.copy()
    changed[:, :, 1:] = np.arange(98).reshape(7, 7, 2)
    kernel, bias = vertical_edge_filter()
    original = trace_convolution(image, kernel, bias, (1, 1), "valid").output
    other = trace_convolution(changed, kernel, bias, (1, 1), "valid").output
    np.testing.assert_array_equal(original, other)


def test_edge_found_by_hand():
    trace = make_trace((1, 1), "valid")
    # Window at columns 1-3 of rows 0-2, red (2 1 9 / 1 2 8 / 2 1 9) against the
    # weights -1 0 1: (9 - 2) + (8 - 1) + (9 - 2) = 21.
    assert trace.output[0, 1] == 21
    # Columns 0-2 are all dark: (1 - 1) + (2 - 2) + (1 - 1) = 0.
    assert trace.output[0, 0] == 0
    # The edge lies between columns 2 and 3, so only windows 1 and 2 see it.
    assert set(np.flatnonzero(trace.output.any(axis=0))) == {1, 2}


@pytest.mark.parametrize(("strides", "padding"), CASES)
def test_printed_sums_match_output(strides, padding):
    trace = make_trace(strides, padding)
    text = format_trace(trace)
    printed = [float(v) for v in re.findall(r"^  sum = .* = (-?\d+)$", text, re.M)]
    assert printed == list(trace.output.ravel())
    assert text.count("Window ") == len(trace.windows)


def test_trace_command_stride_two_padding(capsys):
    status, out, err = run(capsys, "trace", "--stride", "2", "--padding", "1")
    assert status == 0
    assert err == ""
    assert "height: 1 + (7 + 2*1 - 3) / 2 = 4" in out
    assert "Window 16 of 16: output[3, 3] from rows 5 to 7 (row 7 is padding)" in out
    assert "green and blue: weights all 0, so their 18 products are 0" in out
    assert "Output 4x4x1" in out


def test_trace_command_writes_gif(capsys, tmp_path):
    path = tmp_path / "trace.gif"
    status, out, _ = run(capsys, "trace", "--stride", "2", "--out", str(path))
    assert status == 0
    assert f"Wrote {path}" in out
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 9
        assert gif.size == FRAME_PIXELS
    assert [p.name for p in tmp_path.iterdir()] == ["trace.gif"]


def test_trace_command_writes_png_frames(capsys, tmp_path):
    folder = tmp_path / "frames"
    status, out, _ = run(
        capsys, "trace", "--stride", "2", "--padding", "same", "--out", str(folder)
    )
    assert status == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"window_{i:02d}.png" for i in range(1, 17)]
    for name in names:
        with Image.open(folder / name) as frame:
            assert frame.format == "PNG"
            assert frame.size == FRAME_PIXELS
    assert "16 frames" in out


def test_trace_frames_differ_per_window(tmp_path):
    from convnet_from_scratch.trace import write_frames

    paths = write_frames(make_trace((2, 2), "valid"), tmp_path / "frames")
    pixels = [np.asarray(Image.open(path)) for path in paths]
    assert len(paths) == 9
    for first, second in zip(pixels, pixels[1:], strict=False):
        assert not np.array_equal(first, second)


def test_trace_command_rejects_bad_out_before_printing(capsys, tmp_path):
    status, out, err = run(capsys, "trace", "--out", str(tmp_path / "trace.png"))
    assert status == 2
    assert out == ""
    assert "Expected a file ending in .gif or a folder" in err
    assert not (tmp_path / "trace.png").exists()


@given(
    height=st.integers(3, 9),
    width=st.integers(3, 9),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_sums_match_reference_on_drawn_images(height, width, stride, pad, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(-5, 10, size=(height, width, 3)).astype(np.float64)
    kernel = rng.integers(-2, 3, size=(3, 3, 3, 1)).astype(np.float64)
    bias = np.array([rng.integers(-3, 4)], dtype=np.float64)
    trace = trace_convolution(image, kernel, bias, (stride, stride), (pad, pad))
    expected = reference.conv2d_forward(
        image[np.newaxis], kernel, bias, (stride, stride), (pad, pad, pad, pad)
    )
    np.testing.assert_array_equal(trace.output, expected[0, :, :, 0])
