"""`ImageAugmenter` on small ramps, against values worked out by hand.

Conventions used in the arithmetic below: output pixel (r, c) reads the source
position ``centre + R(theta) @ (shear_zoom @ (p - centre) + (tx, ty))`` with
p = (c, r), the centre is ((W - 1) / 2, (H - 1) / 2), and bilinear interpolation of a
linear ramp returns the ramp's value at the source position.
"""

import math

import numpy as np
import pytest

from convnet_from_scratch.data import (
    ImageAugmenter,
    keras_transform_parameters,
    transform_matrix,
)

RAMP_1X6 = np.array([[0, 10, 20, 30, 40, 50]], dtype=np.float32)[..., None]


def _square_ramp(size: int) -> np.ndarray:
    """Return a (size, size, 1) image with value ``size * row + column``."""
    return np.arange(size * size, dtype=np.float32).reshape(size, size, 1)


# A shift right by 2 reads source column c - 2, so columns 0 and 1 come from
# positions -2 and -1, outside the image. Columns 2..5 are source 0..3 = 0, 10, 20, 30.
@pytest.mark.parametrize(
    ("fill_mode", "expected"),
    [
        # Clamped to column 0: -2 -> 0 and -1 -> 0.
        ("nearest", [0, 0, 0, 10, 20, 30]),
        # Filled with cval = 99.
        ("constant", [99, 99, 0, 10, 20, 30]),
        # Mirrored about the outer edge of pixel 0: -1 -> 0 and -2 -> 1.
        ("reflect", [10, 0, 0, 10, 20, 30]),
        # SciPy's wrap has period n - 1 = 5: -2 -> 3 and -1 -> 4.
        ("wrap", [30, 40, 0, 10, 20, 30]),
    ],
)
def test_shift_right_fill_modes(fill_mode, expected):
    augmenter = ImageAugmenter(fill_mode=fill_mode, cval=99)

    shifted = augmenter.apply_transform(RAMP_1X6, {"tx": -2})

    np.testing.assert_allclose(shifted[0, :, 0], expected, atol=1e-4)


# A shift left by 2 reads source column c + 2: columns 4 and 5 come from 6 and 7.
@pytest.mark.parametrize(
    ("fill_mode", "expected"),
    [
        # Clamped to column 5.
        ("nearest", [20, 30, 40, 50, 50, 50]),
        ("constant", [20, 30, 40, 50, 99, 99]),
        # Mirrored about the outer edge of pixel 5: 6 -> 5 and 7 -> 4.
        ("reflect", [20, 30, 40, 50, 50, 40]),
        # Period 5: 6 -> 1 and 7 -> 2.
        ("wrap", [20, 30, 40, 50, 10, 20]),
    ],
)
def test_shift_left_fill_modes(fill_mode, expected):
    augmenter = ImageAugmenter(fill_mode=fill_mode, cval=99)

    shifted = augmenter.apply_transform(RAMP_1X6, {"tx": 2})

    np.testing.assert_allclose(shifted[0, :, 0], expected, atol=1e-4)


def test_shift_moves_every_channel():
    image = np.repeat(RAMP_1X6, 3, axis=2) * np.array([1, 2, 3], dtype=np.float32)

    shifted = ImageAugmenter(fill_mode="constant").apply_transform(image, {"tx": -2})

    for channel, factor in enumerate([1, 2, 3]):
        expected = [0, 0, 0, 10 * factor, 20 * factor, 30 * factor]
        np.testing.assert_allclose(shifted[0, :, channel], expected, atol=1e-4)


def test_vertical_shift_uses_ty():
    # ty = 1 reads source row r + 1: rows 0..2 become source rows 1..3 of the ramp
    # (4, 5, 6, 7 / 8, ... / 12, ...), and row 3 reads row 4, outside -> cval -1.
    image = _square_ramp(4)

    shifted = ImageAugmenter(fill_mode="constant", cval=-1).apply_transform(
        image, {"ty": 1}
    )

    np.testing.assert_allclose(shifted[:3, :, 0], image[1:, :, 0], atol=1e-4)
    np.testing.assert_allclose(shifted[3, :, 0], [-1, -1, -1, -1], atol=1e-4)


def test_rescale_applies_after_transform():
    # width_shift_range = [2] shifts by 2 pixels either way. Filled cells are
    # cval = 255 before rescaling, so 255 / 255 = 1.0 after it, and rescaling first
    # would leave them at 255. The image cells become 0, 10 / 255 and so on.
    augmenter = ImageAugmenter(
        width_shift_range=[2], fill_mode="constant", cval=255, rescale=1 / 255
    )
    shifted_right = np.array([255, 255, 0, 10, 20, 30]) / 255
    shifted_left = np.array([20, 30, 40, 50, 255, 255]) / 255
    rng = np.random.default_rng(0)

    outputs = [augmenter.augment(RAMP_1X6, rng)[0, :, 0] for _ in range(20)]

    right = [np.allclose(out, shifted_right, atol=1e-6) for out in outputs]
    left = [np.allclose(out, shifted_left, atol=1e-6) for out in outputs]
    assert all(a or b for a, b in zip(right, left, strict=True))
    assert any(right)
    assert any(left)


def test_standardize_multiplies_by_rescale():
    augmenter = ImageAugmenter(rescale=0.5)
    image = np.full((2, 2, 3), 8, dtype=np.float32)

    out = augmenter.standardize(image)

    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full((2, 2, 3), 4.0))
    np.testing.assert_array_equal(image, np.full((2, 2, 3), 8.0))


def test_standardize_without_rescale_keeps_values():
    image = np.full((2, 2, 3), 8, dtype=np.float32)

    np.testing.assert_array_equal(ImageAugmenter().standardize(image), image)


def test_zoom_half_on_4x4_ramp():
    # Centre 1.5. A zoom factor of 0.5 reads 1.5 + 0.5 * (p - 1.5), so positions
    # 0, 1, 2, 3 read 0.75, 1.25, 1.75, 2.25 on both axes. The ramp is
    # 4 * row + column, so pixel (r, c) is 4 * s[r] + s[c].
    s = np.array([0.75, 1.25, 1.75, 2.25])
    expected = 4 * s[:, None] + s[None, :]

    zoomed = ImageAugmenter().apply_transform(_square_ramp(4), {"zx": 0.5, "zy": 0.5})

    np.testing.assert_allclose(zoomed[..., 0], expected, atol=1e-4)
    assert zoomed[0, 0, 0] == pytest.approx(3.75, abs=1e-4)


def test_zoom_two_on_4x4_ramp():
    # A zoom factor of 2 reads 1.5 + 2 * (p - 1.5) = 2p - 1.5: positions -1.5, 0.5,
    # 2.5, 4.5. The outer two fall outside the image and get cval -1. The inner
    # 2x2 block is 4 * s[r] + s[c] with s = 0.5, 2.5: 2.5, 4.5, 10.5, 12.5.
    augmenter = ImageAugmenter(fill_mode="constant", cval=-1)

    zoomed = augmenter.apply_transform(_square_ramp(4), {"zx": 2.0, "zy": 2.0})

    expected = np.full((4, 4), -1.0)
    expected[1:3, 1:3] = [[2.5, 4.5], [10.5, 12.5]]
    np.testing.assert_allclose(zoomed[..., 0], expected, atol=1e-4)


def test_zoom_x_and_y_are_independent():
    # zx = 2 with zy = 1 zooms only along the columns: row r is unchanged and
    # column c reads 2c - 1.5, so inner columns 1 and 2 read 0.5 and 2.5.
    augmenter = ImageAugmenter(fill_mode="constant", cval=-1)

    zoomed = augmenter.apply_transform(_square_ramp(4), {"zx": 2.0})

    for row in range(4):
        expected = [-1, 4 * row + 0.5, 4 * row + 2.5, -1]
        np.testing.assert_allclose(zoomed[row, :, 0], expected, atol=1e-4)


def test_rotate_90_on_3x3_ramp():
    # Centre (1, 1). With theta = 90, R = [[0, -1], [1, 0]] on (x, y) = (c, r), so
    # pixel (r, c) reads column 1 - (r - 1) = 2 - r and row 1 + (c - 1) = c of
    #   0 1 2
    #   3 4 5
    #   6 7 8
    # Row 0 reads (0, 2), (1, 2), (2, 2) = 2, 5, 8: a counter-clockwise turn.
    rotated = ImageAugmenter().apply_transform(_square_ramp(3), {"theta": 90})

    expected = [[2, 5, 8], [1, 4, 7], [0, 3, 6]]
    np.testing.assert_allclose(rotated[..., 0], expected, atol=1e-4)


def test_shear_30_degrees_on_4x4_ramp():
    # Pixel (r, c) reads row 1.5 + cos(30) * (r - 1.5) and column
    # 1.5 + (c - 1.5) - sin(30) * (r - 1.5). For r = 1 the column is c + 0.25, and
    # for r = 2 it is c - 0.25. The inner 2x2 block stays inside the image.
    cos30 = math.cos(math.radians(30))
    row1 = 1.5 - 0.5 * cos30
    row2 = 1.5 + 0.5 * cos30
    expected = [
        [4 * row1 + 1.25, 4 * row1 + 2.25],
        [4 * row2 + 0.75, 4 * row2 + 1.75],
    ]

    sheared = ImageAugmenter().apply_transform(_square_ramp(4), {"shear": 30})

    np.testing.assert_allclose(sheared[1:3, 1:3, 0], expected, atol=1e-4)


def test_horizontal_flip():
    image = np.arange(6, dtype=np.float32).reshape(2, 3, 1)

    flipped = ImageAugmenter().apply_transform(image, {"flip_horizontal": True})

    np.testing.assert_array_equal(flipped[..., 0], [[2, 1, 0], [5, 4, 3]])


def test_flip_applies_after_shift():
    # Shift right by 1 with nearest fill: 0 10 20 -> 0 0 10, then the flip gives 10 0 0.
    # Flipping first would give 20 10 0 -> 20 20 10.
    image = np.array([[0, 10, 20]], dtype=np.float32)[..., None]

    out = ImageAugmenter().apply_transform(image, {"tx": -1, "flip_horizontal": True})

    np.testing.assert_allclose(out[0, :, 0], [10, 0, 0], atol=1e-4)


def test_identity_transform_returns_float32_copy():
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)

    out = ImageAugmenter().apply_transform(image, {})

    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, image)


def test_transform_matrix_row_column_order():
    # A pure shift: source row r + ty and source column c + tx.
    matrix = transform_matrix({"tx": 3.0, "ty": -2.0}, (5, 7))

    np.testing.assert_allclose(matrix, [[1, 0, -2], [0, 1, 3]])


def test_keras_parameters_square_unchanged():
    params = {"theta": 12.0, "tx": 1.5, "ty": -2.0, "shear": 3.0, "zx": 1.1}

    converted = keras_transform_parameters(params, (9, 9, 3))

    assert converted["tx"] == 1.5
    assert converted["ty"] == -2.0
    assert converted["theta"] == 12.0
    assert converted["zx"] == 1.1


def test_keras_parameters_non_square_zoom():
    # H = 4, W = 6. Our column centre is 2.5, and Keras uses (H - 1) / 2 = 1.5. With
    # zx = 2, ours reads column 2.5 + 2 * (c - 2.5) = 2c - 2.5, and Keras reads
    # 1.5 + 2 * (c - 1.5) + tx = 2c - 1.5 + tx, so tx = -1. Rows: zy = 1 leaves
    # the centre irrelevant, so ty stays 0.
    converted = keras_transform_parameters({"zx": 2.0}, (4, 6, 3))

    assert converted["tx"] == pytest.approx(-1.0, abs=1e-12)
    assert converted["ty"] == pytest.approx(0.0, abs=1e-12)


# A range of 0.5 on a 10 x 40 image shifts by up to 20 pixels horizontally (tx) or
# 5 pixels vertically (ty), and leaves the other key at 0.
@pytest.mark.parametrize(
    ("argument", "key", "other_key", "max_shift"),
    [
        ("width_shift_range", "tx", "ty", 20),
        ("height_shift_range", "ty", "tx", 5),
    ],
)
def test_random_transform_shift_axes(argument, key, other_key, max_shift):
    augmenter = ImageAugmenter(**{argument: 0.5})
    rng = np.random.default_rng(0)

    draws = [augmenter.random_transform((10, 40, 3), rng) for _ in range(200)]

    shifts = np.abs([d[key] for d in draws])
    assert shifts.max() <= max_shift
    assert shifts.max() > max_shift / 2
    assert all(d[other_key] == 0 for d in draws)


def test_random_transform_int_shift_draws_whole_pixels():
    # As in Keras, an int n draws from {-(n - 1), ..., n - 1}: here -2..2.
    augmenter = ImageAugmenter(width_shift_range=3)
    rng = np.random.default_rng(0)

    tx = {augmenter.random_transform((8, 8, 3), rng)["tx"] for _ in range(300)}

    assert tx == {-2.0, -1.0, 0.0, 1.0, 2.0}


def test_random_transform_ranges():
    augmenter = ImageAugmenter(
        rotation_range=40, shear_range=10, zoom_range=0.2, horizontal_flip=True
    )
    rng = np.random.default_rng(0)

    draws = [augmenter.random_transform((75, 75, 3), rng) for _ in range(300)]

    theta = np.array([d["theta"] for d in draws])
    shear = np.array([d["shear"] for d in draws])
    zooms = np.array([(d["zx"], d["zy"]) for d in draws])
    flips = {d["flip_horizontal"] for d in draws}
    assert np.abs(theta).max() <= 40
    assert np.abs(theta).max() > 30
    assert np.abs(shear).max() <= 10
    assert zooms.min() >= 0.8
    assert zooms.max() <= 1.2
    assert not np.array_equal(zooms[:, 0], zooms[:, 1])
    assert flips == {True, False}


def test_random_transform_same_seed_same_params():
    augmenter = ImageAugmenter(rotation_range=20, zoom_range=(0.5, 1.5))

    first = augmenter.random_transform((8, 8, 3), np.random.default_rng(7))
    second = augmenter.random_transform((8, 8, 3), np.random.default_rng(7))

    assert first == second


def test_random_transform_defaults_are_identity():
    params = ImageAugmenter().random_transform((8, 8, 3), np.random.default_rng(0))

    assert params == {
        "theta": 0.0,
        "tx": 0.0,
        "ty": 0.0,
        "shear": 0.0,
        "zx": 1.0,
        "zy": 1.0,
        "flip_horizontal": False,
    }


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"fill_mode": "mirror"}, "fill_mode"),
        ({"zoom_range": 1.5}, "zoom_range"),
        ({"zoom_range": (1.2, 0.8)}, "zoom_range"),
        ({"rotation_range": -5}, "rotation_range"),
        ({"width_shift_range": "wide"}, "width_shift_range"),
        ({"height_shift_range": -0.1}, "height_shift_range"),
        ({"shear_range": -1}, "shear_range"),
    ],
)
def test_augmenter_rejects_bad_values(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        ImageAugmenter(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"horizontal_flip": "yes"}, "horizontal_flip"),
        ({"cval": "black"}, "cval"),
        ({"rescale": "1/255"}, "rescale"),
    ],
)
def test_augmenter_rejects_bad_types(kwargs, argument):
    with pytest.raises(TypeError, match=argument):
        ImageAugmenter(**kwargs)


def test_apply_transform_rejects_unknown_key():
    with pytest.raises(ValueError, match="brightness"):
        ImageAugmenter().apply_transform(RAMP_1X6, {"brightness": 1.2})
