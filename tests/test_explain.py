"""`explain`: worked examples, the shape arithmetic behind them, and the errors."""

import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnet_from_scratch import cli, shapes
from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.explain import (
    blog_model_template,
    explain_conv,
    explain_model,
    format_summary,
    layer_shapes,
    minimum_image_size,
    parse_dims,
    parse_padding,
    parse_pair,
)
from convnet_from_scratch.layers import Conv2D, MaxPool2D


def run(capsys, *argv):
    """Run the command line; return (exit status, stdout, stderr)."""
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def brute_force_length(n, f, s, before, after):
    """Count the window positions by sliding the window one cell at a time."""
    starts = [start for start in range(n + before + after) if start % s == 0]
    return sum(1 for start in starts if start + f <= n + before + after)


# Worked examples


def test_conv_worked_example_stride_two(capsys):
    status, out, err = run(
        capsys, "explain", "conv", "--input", "7x7x3", "--kernel", "3",
        "--padding", "1", "--stride", "2", "--filters", "32",
    )  # fmt: skip
    assert status == 0
    assert err == ""
    # (7 + 2 - 3) / 2 = 3 exactly, so no floor is shown, for both axes.
    assert out.count("1 + (7 + 2*1 - 3) / 2 = 4") == 2
    assert "floor" not in out
    assert "4 x 4 x 32 = 512 values" in out
    assert "7 x 7 x 3 = 147" in out
    # 27 weights per filter and one bias, 32 filters.
    assert "Parameters: 3*3*3*32 + 32 = 896" in out
    # Every one of the 147 inputs joined to every one of the 512 outputs.
    assert "147*512 + 512 = 75,776 parameters" in out


def test_conv_floor_shown_when_inexact(capsys):
    status, out, _ = run(
        capsys, "explain", "conv", "--input", "8x8x1", "--kernel", "3", "--stride", "2"
    )
    assert status == 0
    # (8 - 3) / 2 = 2.5: the floor drops the half, and the last row is never read.
    assert "1 + floor((8 + 2*0 - 3) / 2) = 1 + floor(5 / 2) = 1 + 2 = 3" in out
    assert "the last row of the input is never under a window" in out
    assert "the last column of the input is never under a window" in out
    assert "3 x 3 x 1 = 9 values" in out


def test_conv_same_padding_is_asymmetric(capsys):
    status, out, _ = run(
        capsys, "explain", "conv", "--input", "6x6x1", "--kernel", "3",
        "--stride", "2", "--padding", "same",
    )  # fmt: skip
    assert status == 0
    # ceil(6 / 2) = 3 outputs need (3 - 1)*2 + 3 = 7 cells: one more than 6.
    assert "'same' keeps ceil(6 / 2) = 3 rows" in out
    assert "max((3 - 1)*2 + 3 - 6, 0) = 1: 0 top, 1 bottom" in out
    assert "max((3 - 1)*2 + 3 - 6, 0) = 1: 0 left, 1 right" in out
    assert "the odd row goes to the bottom" in out
    assert "check: 1 + (6 + 0 + 1 - 3) / 2 = 3" in out


def test_conv_same_padding_stride_one_keeps_size(capsys):
    status, out, _ = run(
        capsys, "explain", "conv", "--input", "75x75x3", "--kernel", "2",
        "--padding", "same", "--filters", "32",
    )  # fmt: skip
    assert status == 0
    # The blog's first layer: a 2x2 kernel needs one extra row, at the bottom.
    assert "ceil(75 / 1) = 75 rows" in out
    assert "= 1: 0 top, 1 bottom" in out
    assert "75 x 75 x 32 = 180,000 values" in out
    assert "Parameters: 2*2*3*32 + 32 = 416" in out


def test_conv_rectangular_input_and_kernel(capsys):
    status, out, _ = run(
        capsys, "explain", "conv", "--input", "7x5x3", "--kernel", "3x2",
        "--padding", "valid",
    )  # fmt: skip
    assert status == 0
    assert "height: 'valid' means no padding, 1 + (7 + 2*0 - 3) / 1 = 5" in out
    assert "width: 'valid' means no padding, 1 + (5 + 2*0 - 2) / 1 = 4" in out
    assert "5 x 4 x 1 = 20 values" in out
    assert "Parameters: 3*2*3*1 + 1 = 19" in out
    assert "105*20 + 20 = 2,120 parameters" in out


def test_conv_padding_per_axis(capsys):
    status, out, _ = run(
        capsys, "explain", "conv", "--input", "5x5x1", "--kernel", "3",
        "--padding", "1x0",
    )  # fmt: skip
    assert status == 0
    assert "height: 1 + (5 + 2*1 - 3) / 1 = 5" in out
    assert "width: 1 + (5 + 2*0 - 3) / 1 = 3" in out


def test_conv_stride_larger_than_kernel(capsys):
    status, out, _ = run(
        capsys, "explain", "conv", "--input", "9x9x1", "--kernel", "2", "--stride", "3"
    )
    assert status == 0
    assert "1 + floor((9 + 2*0 - 2) / 3) = 1 + floor(7 / 3) = 1 + 2 = 3" in out
    assert "of every 3 rows, 1 is never under a window" in out


def test_pool_worked_example(capsys):
    status, out, _ = run(capsys, "explain", "pool", "--input", "75x75x32")
    assert status == 0
    # The stride defaults to the pool size, as in Keras.
    assert "stride 2x2" in out
    assert out.count("1 + floor((75 + 2*0 - 2) / 2) = 1 + floor(73 / 2) = 1 + 36") == 2
    assert "37 x 37 x 32 = 43,808 values" in out
    assert "the depth stays 32" in out
    assert "Parameters: 0" in out


def test_pool_same_padding(capsys):
    status, out, _ = run(
        capsys, "explain", "pool", "--input", "75x75x32", "--padding", "same"
    )
    assert status == 0
    assert "ceil(75 / 2) = 38 rows" in out
    assert "Padded cells never win a window" in out
    assert "38 x 38 x 32 = 46,208 values" in out


# Impossible combinations


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["conv", "--input", "7x7x3", "--kernel", "9"],
            "Impossible along the height: Computed output size would be zero or "
            "negative: the window of length 9 does not fit",
        ),
        (
            ["conv", "--input", "7x4x3", "--kernel", "3x5"],
            "Impossible along the width",
        ),
        (
            ["conv", "--input", "7x7x3", "--padding", "full"],
            "Invalid value for --padding. Expected 'valid', 'same'",
        ),
        (
            ["conv", "--input", "7x7", "--kernel", "3"],
            "Invalid value for --input. Expected NxNxN",
        ),
        (
            ["conv", "--input", "7x7x3", "--stride", "0"],
            "Invalid value for --stride. Every number must be at least 1",
        ),
        (
            ["conv", "--input", "7x7x3", "--filters", "-2"],
            "Invalid value for --filters",
        ),
        (
            ["pool", "--input", "7x7x3", "--padding", "1"],
            "Max-pooling accepts 'valid' or 'same'",
        ),
        (
            ["pool", "--input", "1x8x3", "--pool", "2"],
            "Impossible along the height",
        ),
        (
            ["model", "--image-size", "1"],
            "--image-size 1 is too small: the blog's model needs images of at least "
            "6x6 pixels",
        ),
    ],
)
def test_impossible_combination_says_why(capsys, argv, message):
    status, out, err = run(capsys, "explain", *argv)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


# The numbers come from the code the layers use


@given(
    n=st.integers(1, 40),
    f=st.integers(1, 9),
    s=st.integers(1, 5),
    p=st.integers(0, 4),
    channels=st.integers(1, 4),
    filters=st.integers(1, 8),
)
def test_conv_numbers_match_layer(n, f, s, p, channels, filters):
    if n + 2 * p < f:
        with pytest.raises(ValueError, match="does not fit"):
            explain_conv((n, n, channels), (f, f), (s, s), (p, p), filters)
        return
    text = explain_conv((n, n, channels), (f, f), (s, s), (p, p), filters)

    expected = brute_force_length(n, f, s, p, p)
    height = re.search(r"height: .* = (\d+)\n", text)
    assert int(height.group(1)) == expected

    layer = Conv2D(filters, f, strides=s, padding=p)
    layer.build((n, n, channels), np.random.default_rng(0))
    assert layer.output_shape == (expected, expected, filters)
    parameters = re.search(r"Parameters: .* = ([\d,]+)\n", text)
    assert int(parameters.group(1).replace(",", "")) == layer.count_params()


@given(
    n=st.integers(1, 40),
    f=st.integers(1, 6),
    s=st.integers(1, 5),
    padding=st.sampled_from(["valid", "same"]),
)
def test_pool_numbers_match_layer(n, f, s, padding):
    from convnet_from_scratch.explain import explain_pool

    if padding == "valid" and n < f:
        with pytest.raises(ValueError, match="does not fit"):
            explain_pool((n, n, 2), (f, f), (s, s), padding)
        return
    text = explain_pool((n, n, 2), (f, f), (s, s), padding)
    layer = MaxPool2D(f, strides=s, padding=padding)
    layer.build((n, n, 2), np.random.default_rng(0))
    volume = re.search(r"Output volume: (\d+) x (\d+) x (\d+)", text)
    assert tuple(int(v) for v in volume.groups()) == layer.output_shape


@given(n=st.integers(1, 40), f=st.integers(1, 9), s=st.integers(1, 5))
def test_same_padding_check_line_agrees(n, f, s):
    text = explain_conv((n, n, 1), (f, f), (s, s), "same", 1)
    check = re.search(r"check: .* = (\d+)\n", text)
    before, after = re.search(r"= \d+: (\d+) top, (\d+) bottom", text).groups()
    # 'same' puts the odd cell after, never before.
    assert int(after) - int(before) in (0, 1)
    assert int(check.group(1)) == -(-n // s)
    assert brute_force_length(n, f, s, int(before), int(after)) == -(-n // s)


# The whole model


def test_model_rows_match_summary(capsys):
    status, out, err = run(capsys, "explain", "model", "--image-size", "75")
    assert status == 0
    assert err == ""
    model = build_blog_model(75)
    for layer in model.layers:
        shape = "(None, " + ", ".join(map(str, layer.output_shape)) + ")"
        row = re.search(
            rf"^{re.escape(layer.name)} \({type(layer).__name__}\)\s+"
            rf"{re.escape(shape)}\s+([\d,]+)$",
            out,
            re.MULTILINE,
        )
        assert row is not None, layer.name
        assert int(row.group(1).replace(",", "")) == layer.count_params()
    assert f"Total params: {model.count_params():,}" in out


def test_model_working_at_75(capsys):
    _, out, _ = run(capsys, "explain", "model", "--image-size", "75")
    # conv 'same' 2x2: 75 -> 75; pool 2: 75 -> 37; conv 'valid' 2x2: 37 -> 36;
    # pool 2: 36 -> 18; flatten 18*18*64 = 20,736.
    assert "'same' keeps ceil(75 / 1) = 75 rows" in out
    assert "params: 2*2*3*32 + 32 = 416" in out
    assert "1 + floor((75 + 2*0 - 2) / 2) = 1 + floor(73 / 2) = 1 + 36 = 37" in out
    assert "1 + (37 + 2*0 - 2) / 1 = 36" in out
    assert "params: 2*2*32*64 + 64 = 8,256" in out
    assert "1 + (36 + 2*0 - 2) / 2 = 18" in out
    assert "18*18*64 = 20,736 values" in out
    assert "params: 20,736*64 + 64 = 1,327,168" in out
    assert "params: 64*1 + 1 = 65" in out
    assert "probability 0.25" in out


def test_model_param_working_matches_layers():
    model = build_blog_model((60, 90))
    text = explain_model(model)
    stated = [
        int(v.replace(",", "")) for v in re.findall(r"params: .*? = ([\d,]+)", text)
    ]
    counted = [layer.count_params() for layer in model.layers if layer.count_params()]
    assert stated == counted
    assert "(None, 60, 90, 32)" in text
    assert "ceil(90 / 1) = 90 columns" in text


def test_model_minimum_size_is_smallest_buildable():
    minimum = minimum_image_size(blog_model_template().layers)
    with pytest.raises(ValueError, match="zero or negative"):
        build_blog_model(minimum - 1)
    assert build_blog_model(minimum).layers[-1].output_shape == (1,)


@pytest.mark.parametrize("size", [6, 24, 75, (60, 90)])
@pytest.mark.parametrize("block_dropout", [None, 0.1])
def test_shape_summary_matches_built_model(size, block_dropout):
    built = build_blog_model(size, dropout_after_blocks=block_dropout)
    template = blog_model_template(dropout_after_blocks=block_dropout)
    height, width = (size, size) if isinstance(size, int) else size
    rows = layer_shapes(template.layers, (height, width, 3))
    assert format_summary(template.name, rows) == built.summary()


@pytest.mark.parametrize("command", [["explain", "model"], ["summary"]])
def test_huge_image_size_allocates_no_weights(capsys, command):
    side = 100_000
    flattened = ((side // 2 - 1) // 2) ** 2 * 64
    total = 416 + 8_256 + flattened * 64 + 64 + 65
    tracemalloc.start()
    try:
        status, out, err = run(capsys, *command, "--image-size", str(side))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 0, err
    assert f"Total params: {total:,}" in out
    assert f"(None, {side}, {side}, 32)" in out
    assert peak < 50_000_000


# Parsing


def test_parse_forms():
    assert parse_dims("--input", "7x5x3", (3,)) == (7, 5, 3)
    assert parse_dims("--input", " 7X5x3 ", (3,)) == (7, 5, 3)
    assert parse_pair("--kernel", "3") == (3, 3)
    assert parse_pair("--kernel", "3x2") == (3, 2)
    assert parse_padding("SAME") == "same"
    assert parse_padding("2") == (2, 2)
    assert parse_padding("1x0") == (1, 0)
    assert parse_padding("valid") == shapes.normalize_padding("valid")


@pytest.mark.parametrize("text", ["", "3x", "x3", "3x2x1", "a", "3.5", "-1"])
def test_parse_pair_rejects(text):
    with pytest.raises(ValueError, match="Invalid value for --kernel"):
        parse_pair("--kernel", text)


def test_model_from_file(capsys, tmp_path):
    model = build_blog_model((40, 60))
    model.save(tmp_path / "model.npz")
    status, out, _ = run(
        capsys, "explain", "model", "--model", str(tmp_path / "model.npz")
    )
    assert status == 0
    assert "input (None, 40, 60, 3)" in out
    assert "(None, 40, 60, 32)" in out
    assert f"Total params: {model.count_params():,}" in out


def test_model_rectangular_image_size(capsys):
    status, out, _ = run(capsys, "explain", "model", "--image-size", "60x90")
    assert status == 0
    assert "(None, 60, 90, 32)" in out
    assert f"Total params: {build_blog_model((60, 90)).count_params():,}" in out
