"""`ImageAugmenter` against Keras's legacy `ImageDataGenerator.apply_transform`.

Both are driven with the same explicit transform parameters on random images, for each
fill mode. On square images the two parameter dicts mean the same thing. On other
images Keras 3.15 rotates about a centre with height and width swapped, and
`keras_transform_parameters` gives the Keras dict that produces our image. That dict
reaches the same source coordinates only to float64 rounding, and SciPy's 'constant'
and 'wrap' modes jump at the image edges (a source row of -1e-17 is outside, so it
takes ``cval``). So on non-square images, pixels whose source coordinates lie within
1e-9 of an edge are left out of the comparison. On square images every pixel counts.

The one deliberate difference is in drawing random parameters: Keras's
``get_random_transform`` feeds ``width_shift_range`` into ``'ty'``, which moves the
picture vertically, while `ImageAugmenter.random_transform` moves it horizontally. The
last tests pin both behaviours.

Tolerance: 1e-4 absolute on 0..255 pixel values (float32 images, float64 maps).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnet_from_scratch.data import (
    ImageAugmenter,
    keras_transform_parameters,
    transform_matrix,
)
from keras_reference import ImageDataGenerator

# Keras 3.15 calls scipy.ndimage.interpolation.affine_transform, which SciPy deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Please import `affine_transform`:DeprecationWarning"
)

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
PIXEL_ATOL = 1e-4


@st.composite
def transform_cases(draw, square: bool):
    """Draw an image shape, a seed for its pixels and explicit transform parameters.

    Each transform is switched on at random, so pure shifts, pure zooms and the
    identity are drawn as well as compositions of all of them.
    """
    height = draw(st.integers(2, 24))
    width = height if square else draw(st.integers(2, 24).filter(lambda w: w != height))
    channels = draw(st.integers(1, 3))
    params = {}
    if draw(st.booleans()):
        params["theta"] = draw(st.floats(-180, 180))
    if draw(st.booleans()):
        params["tx"] = draw(st.floats(-width / 2, width / 2))
    if draw(st.booleans()):
        params["ty"] = draw(st.floats(-height / 2, height / 2))
    if draw(st.booleans()):
        params["shear"] = draw(st.floats(-45, 45))
    if draw(st.booleans()):
        params["zx"] = draw(st.floats(0.5, 1.5))
        params["zy"] = draw(st.floats(0.5, 1.5))
    params["flip_horizontal"] = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return (height, width, channels), params, seed


def random_image(shape, seed) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@given(case=transform_cases(square=True), cval=st.floats(0, 255))
def test_square_transform_matches_keras(fill_mode, case, cval):
    shape, params, seed = case
    image = random_image(shape, seed)
    keras_params = keras_transform_parameters(params, shape)
    for key, value in params.items():
        assert keras_params[key] == value

    ours = ImageAugmenter(fill_mode=fill_mode, cval=cval).apply_transform(image, params)
    generator = ImageDataGenerator(fill_mode=fill_mode, cval=cval)
    theirs = generator.apply_transform(image.copy(), params)
    assert ours.shape == theirs.shape
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=PIXEL_ATOL)


def off_edge_pixels(params: dict, shape: tuple, fill_mode: str) -> np.ndarray:
    """Return a (H, W) mask of output pixels whose value is not decided by rounding.

    For 'constant' and 'wrap', SciPy's fill jumps where a source coordinate crosses
    a multiple of ``n - 1`` (0 and the last index included). A pixel whose source
    row or column lies within 1e-9 of such a point can differ between two maps that
    agree to float64 rounding; 'nearest' and 'reflect' are continuous there.
    """
    height, width = shape[:2]
    if fill_mode in ("nearest", "reflect"):
        return np.ones((height, width), bool)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    points = np.stack([rows, cols, np.ones_like(rows)]).reshape(3, -1)
    source = transform_matrix(params, shape) @ points
    keep = np.ones(source.shape[1], bool)
    for axis, size in enumerate((height, width)):
        period = max(size - 1, 1)
        distance = np.abs(source[axis] / period - np.round(source[axis] / period))
        keep &= distance * period > 1e-9
    keep = keep.reshape(height, width)
    return keep[:, ::-1] if params.get("flip_horizontal") else keep


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@given(case=transform_cases(square=False), cval=st.floats(0, 255))
def test_non_square_transform_matches_keras(fill_mode, case, cval):
    shape, params, seed = case
    image = random_image(shape, seed)
    ours = ImageAugmenter(fill_mode=fill_mode, cval=cval).apply_transform(image, params)
    generator = ImageDataGenerator(fill_mode=fill_mode, cval=cval)
    theirs = generator.apply_transform(
        image.copy(), keras_transform_parameters(params, shape)
    )
    assert ours.shape == theirs.shape
    keep = off_edge_pixels(params, shape, fill_mode)
    np.testing.assert_allclose(ours[keep], theirs[keep], rtol=0, atol=PIXEL_ATOL)


@given(case=transform_cases(square=True))
def test_rescale_after_transform_matches_keras(case):
    shape, params, seed = case
    image = random_image(shape, seed)
    ours_augmenter = ImageAugmenter(fill_mode="constant", cval=255.0, rescale=1 / 255)
    generator = ImageDataGenerator(fill_mode="constant", cval=255.0, rescale=1 / 255)
    ours = ours_augmenter.standardize(ours_augmenter.apply_transform(image, params))
    theirs = generator.standardize(generator.apply_transform(image.copy(), params))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=PIXEL_ATOL / 255)


def lit_pixel_image(size: int = 9) -> np.ndarray:
    image = np.zeros((size, size, 1), np.float32)
    image[size // 2, size // 2, 0] = 255.0
    return image


def brightest(image: np.ndarray) -> tuple[int, int]:
    row, col = np.unravel_index(np.argmax(image[..., 0]), image.shape[:2])
    return int(row), int(col)


def test_keras_width_shift_moves_vertically():
    # Keras 3.15: height_shift_range feeds 'tx' (columns), width_shift_range 'ty'
    # (rows), so a width shift moves the picture up or down.
    generator = ImageDataGenerator(width_shift_range=0.25, fill_mode="constant")
    params = generator.get_random_transform((9, 9, 1), seed=3)
    assert params["tx"] == 0
    assert 0 < abs(params["ty"]) <= 0.25 * 9
    moved = generator.apply_transform(lit_pixel_image(), {"ty": 2.0})
    assert brightest(moved) == (2, 4)


def test_our_width_shift_moves_horizontally():
    augmenter = ImageAugmenter(width_shift_range=0.25, fill_mode="constant")
    params = augmenter.random_transform((9, 9, 1), np.random.default_rng(3))
    assert params["ty"] == 0
    assert 0 < abs(params["tx"]) <= 0.25 * 9
    moved = augmenter.apply_transform(lit_pixel_image(), {"tx": 2.0})
    # A positive tx reads column c + 2, so the lit pixel moves 2 columns left.
    assert brightest(moved) == (4, 2)
