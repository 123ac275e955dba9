"""`affine_resample` against ``scipy.ndimage.affine_transform(order=1)``.

SciPy is the resampler Keras's `ImageDataGenerator` calls, one channel at a time, so
it is the reference here. The tolerance is 1e-4 on 0..255 values.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from convnet_from_scratch.data import FILL_MODES, affine_resample

ATOL = 1e-4


def scipy_resample(image, matrix, fill_mode, cval):
    """Resample each channel with SciPy, as Keras's `apply_affine_transform` does."""
    channels = [
        ndimage.affine_transform(
            image[..., k],
            matrix[:, :2],
            matrix[:, 2],
            order=1,
            mode=fill_mode,
            cval=cval,
        )
        for k in range(image.shape[2])
    ]
    return np.stack(channels, axis=-1)


def assert_same_as_scipy(image, matrix, fill_mode, cval):
    ours = affine_resample(image, matrix, fill_mode, cval)
    reference = scipy_resample(image, matrix, fill_mode, cval)
    assert ours.shape == reference.shape, "shape mismatch"
    np.testing.assert_allclose(ours, reference, rtol=0, atol=ATOL)


images = st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 3)).flatmap(
    lambda shape: arrays(np.float32, shape, elements=st.floats(0, 255, width=32))
)
# Linear parts up to 3 in size and offsets up to 20 pixels cover source positions
# far outside the image, where the reflect and wrap reductions repeat.
linear = st.floats(-3, 3, allow_nan=False)
offset = st.floats(-20, 20, allow_nan=False)
matrices = st.tuples(linear, linear, offset, linear, linear, offset).map(
    lambda v: np.array(v, dtype=np.float64).reshape(2, 3)
)
# Half-pixel steps put many source positions exactly on pixel centres and edges.
half_steps = st.integers(-40, 40).map(lambda k: k / 2)
grid_matrices = st.tuples(*[half_steps] * 6).map(
    lambda v: np.array(v, dtype=np.float64).reshape(2, 3)
)


@given(
    image=images,
    matrix=matrices,
    fill_mode=st.sampled_from(FILL_MODES),
    cval=st.floats(-50, 300),
)
def test_resample_matches_scipy_random_maps(image, matrix, fill_mode, cval):
    assert_same_as_scipy(image, matrix, fill_mode, cval)


@given(
    image=images,
    matrix=grid_matrices,
    fill_mode=st.sampled_from(FILL_MODES),
)
def test_resample_matches_scipy_on_grid_maps(image, matrix, fill_mode):
    assert_same_as_scipy(image, matrix, fill_mode, 17.0)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("width", [1, 2, 5, 6])
def test_resample_matches_scipy_at_period_edges(fill_mode, width):
    # Pure column shifts by whole multiples of the width and of width - 1, and
    # a hair either side of them, where SciPy's reflect and wrap switch branch.
    rng = np.random.default_rng(width)
    image = rng.uniform(0, 255, (2, width, 3)).astype(np.float32)
    shifts = []
    for k in range(-4, 5):
        for base in (k * width, k * (width - 1), k * 2 * width):
            shifts += [base, base - 1e-15, base + 1e-15, base - 1e-9, base + 1e-9]
    for shift in shifts:
        matrix = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, shift]])
        assert_same_as_scipy(image, matrix, fill_mode, -7.0)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_resample_matches_scipy_many_seeded_maps(fill_mode):
    rng = np.random.default_rng(0)
    for _ in range(100):
        height, width = rng.integers(1, 20, size=2)
        image = rng.uniform(0, 255, (height, width, 3)).astype(np.float32)
        matrix = np.hstack([rng.normal(0, 1.5, (2, 2)), rng.normal(0, 8, (2, 1))])
        assert_same_as_scipy(image, matrix, fill_mode, 33.0)


def test_resample_returns_float32_of_input_shape():
    image = np.zeros((4, 5, 2), dtype=np.uint8)

    out = affine_resample(image, np.array([[1.0, 0, 0], [0, 1.0, 0]]))

    assert out.dtype == np.float32
    assert out.shape == (4, 5, 2)


def test_resample_rejects_unknown_fill_mode():
    image = np.zeros((2, 2, 3), dtype=np.float32)
    matrix = np.array([[1.0, 0, 0], [0, 1.0, 0]])

    with pytest.raises(ValueError, match="fill_mode"):
        affine_resample(image, matrix, "grid-wrap")


def test_resample_rejects_bad_matrix_shape():
    image = np.zeros((2, 2, 3), dtype=np.float32)

    with pytest.raises(ValueError, match="matrix"):
        affine_resample(image, np.eye(3))


def test_resample_rejects_2d_image():
    with pytest.raises(ValueError, match="image"):
        affine_resample(np.zeros((2, 2)), np.array([[1.0, 0, 0], [0, 1.0, 0]]))
