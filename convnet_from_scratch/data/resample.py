"""Bilinear affine resampling with SciPy's boundary rules, in Numba.

Keras's `ImageDataGenerator` resamples each channel with
``scipy.ndimage.affine_transform(order=1, mode=fill_mode, cval=cval)``. This module
computes the same values without SciPy: the source position of each output pixel is
worked out once and all channels are interpolated from it. The rules below were read
from SciPy's ``ni_interpolation.c`` and checked against SciPy 1.17 with
``map_coordinates`` on a dense grid of positions, including whole multiples of the
axis length, where the reductions change branch.

For one axis of length ``n`` a source position ``x`` outside ``[0, n - 1]`` is first
mapped back by the fill mode:

* ``'nearest'``: clamped to ``0`` or ``n - 1``.
* ``'constant'``: the output pixel is ``cval``, with no blending at the edge, so a
  position a hair outside the image gives ``cval`` and one exactly on the edge gives
  the edge pixel.
* ``'reflect'``: mirrored about the outer edge of the border pixels, so the sequence
  ``a b c d`` continues as ``d c b a | a b c d | d c b a`` with period ``2 n``.
* ``'wrap'``: SciPy's legacy wrap, which glues the last pixel onto the first, so the
  period is ``n - 1``, not ``n`` (``'grid-wrap'`` is the period-``n`` mode, which
  Keras does not use).

An axis of length 1 maps every position to 0 in all modes but ``'constant'``. The two
pixels that straddle the mapped position are then blended linearly, and a neighbour
that falls just outside the image takes the edge pixel's value.
"""

from __future__ import annotations

import math

import numba
import numpy as np

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
_NEAREST, _CONSTANT, _REFLECT, _WRAP = range(4)

# SciPy nudges a source position that lands on zero after the reflect reduction so
# that it blends from the edge pixel instead of falling outside the image.
_REFLECT_NUDGE = 1e-15


@numba.njit(cache=True)
def _map_position(x, n, mode):
    """Map source position ``x`` on an axis of length ``n`` into ``(-1, n)``.

    A return value of -1.0 means "outside the image", used only by 'constant'.
    """
    if x < 0.0:
        if mode == _NEAREST:
            return 0.0
        if mode == _CONSTANT:
            return -1.0
        if n <= 1:
            return 0.0
        if mode == _REFLECT:
            period = 2 * n
            if x < -period:
                x = period * int(-x / period) + x
            if x < -n:
                return x + period
            if x > -_REFLECT_NUDGE:
                return _REFLECT_NUDGE - 1.0
            return -x - 1.0
        period = n - 1
        return x + period * (int(-x / period) + 1)
    if x > n - 1:
        if mode == _NEAREST:
            return n - 1.0
        if mode == _CONSTANT:
            return -1.0
        if n <= 1:
            return 0.0
        if mode == _REFLECT:
            period = 2 * n
            x -= period * int(x / period)
            if x >= n:
                x = period - x - 1.0
            return x
        period = n - 1
        return x - period * int(x / period)
    return x


@numba.njit(cache=True)
def _resample(image, matrix, mode, cval, out):
    height, width, channels = image.shape
    m00, m01, m02 = matrix[0, 0], matrix[0, 1], matrix[0, 2]
    m10, m11, m12 = matrix[1, 0], matrix[1, 1], matrix[1, 2]
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            # Same operation order as SciPy, so positions that should land exactly
            # on an edge do so in both, and 'constant' agrees there.
            row = 0.0
            row += r * m00
            row += c * m01
            row += m02
            col = 0.0
            col += r * m10
            col += c * m11
            col += m12

            if not (0.0 <= row <= height - 1 and 0.0 <= col <= width - 1):
                row = _map_position(row, height, mode)
                col = _map_position(col, width, mode)
                if row <= -1.0 or col <= -1.0:
                    for k in range(channels):
                        out[r, c, k] = cval
                    continue

            r0 = int(math.floor(row))
            c0 = int(math.floor(col))
            row_weight0 = 1.0 - (row - r0)
            row_weight1 = 1.0 - row_weight0
            col_weight0 = 1.0 - (col - c0)
            col_weight1 = 1.0 - col_weight0
            r1 = min(max(r0 + 1, 0), height - 1)
            c1 = min(max(c0 + 1, 0), width - 1)
            r0 = min(max(r0, 0), height - 1)
            c0 = min(max(c0, 0), width - 1)
            for k in range(channels):
                total = 0.0
                total += image[r0, c0, k] * row_weight0 * col_weight0
                total += image[r0, c1, k] * row_weight0 * col_weight1
                total += image[r1, c0, k] * row_weight1 * col_weight0
                total += image[r1, c1, k] * row_weight1 * col_weight1
                out[r, c, k] = total


def affine_resample(
    image: np.ndarray,
    matrix: np.ndarray,
    fill_mode: str = "nearest",
    cval: float = 0.0,
) -> np.ndarray:
    """Resample an image through an affine map from output to source positions.

    Output pixel ``(r, c)`` takes the bilinear interpolation of ``image`` at the
    source position ``matrix @ (r, c, 1)``: the "pull" convention of
    ``scipy.ndimage.affine_transform``. Calling this on an ``(H, W, C)`` image equals
    calling ``affine_transform(image[..., k], matrix[:, :2], matrix[:, 2], order=1,
    mode=fill_mode, cval=cval)`` on each channel ``k``.

    Parameters
    ----------
    image : ndarray of shape (H, W, C)
        Source image, any real dtype. It is converted to float32 first, the dtype
        of Keras's images, and interpolated in float64.
    matrix : ndarray of shape (2, 3)
        Rows give the source row and the source column as ``a * r + b * c + t``.
    fill_mode : {'nearest', 'constant', 'reflect', 'wrap'}
        How positions outside the image are filled, as SciPy defines the modes (see
        the module docstring).
    cval : float
        Value of the pixels that fall outside the image when ``fill_mode`` is
        ``'constant'``.

    Returns
    -------
    ndarray of shape (H, W, C), float32
    """
    if fill_mode not in FILL_MODES:
        raise ValueError(
            f"Invalid value for argument `fill_mode`. Expected one of {FILL_MODES}. "
            f"Received fill_mode={fill_mode!r}."
        )
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(
            "Invalid shape for argument `image`. Expected (H, W, C). "
            f"Received image.shape={image.shape}."
        )
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3):
        raise ValueError(
            "Invalid shape for argument `matrix`. Expected (2, 3). "
            f"Received matrix.shape={matrix.shape}."
        )
    out = np.empty(image.shape, dtype=np.float32)
    _resample(
        np.ascontiguousarray(image, dtype=np.float32),
        matrix,
        FILL_MODES.index(fill_mode),
        float(cval),
        out,
    )
    return out
