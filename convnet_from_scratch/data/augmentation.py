"""Random geometric augmentation, the transforms of Keras's `ImageDataGenerator`.

An `ImageAugmenter` draws one set of transform parameters per image, turns them into a
single affine map and resamples all channels through it (`resample.affine_resample`),
then flips and rescales. Given the same parameters, the values equal those of Keras
3.15's ``ImageDataGenerator.apply_transform`` followed by ``standardize``. The mapping
between the two parameter dictionaries is documented on `ImageAugmenter`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .resample import FILL_MODES, affine_resample

TRANSFORM_KEYS = ("theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal")

_IDENTITY = {
    "theta": 0.0,
    "tx": 0.0,
    "ty": 0.0,
    "shear": 0.0,
    "zx": 1.0,
    "zy": 1.0,
    "flip_horizontal": False,
}


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_non_negative(name: str, value: object) -> float:
    if not _is_number(value) or value < 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a non-negative number. "
            f"Received {name}={value!r}."
        )
    return float(value)


def _check_shift_range(name: str, value: object) -> object:
    """Accept Keras's three forms of a shift range: a number, an int or a list."""
    if _is_number(value):
        if value < 0:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected a non-negative number "
                f"or a sequence of numbers. Received {name}={value!r}."
            )
        return value
    if (
        isinstance(value, Sequence | np.ndarray)
        and len(value) > 0
        and all(_is_number(v) for v in value)
    ):
        return tuple(float(v) for v in value)
    raise ValueError(
        f"Invalid value for argument `{name}`. Expected a non-negative number or a "
        f"non-empty sequence of numbers. Received {name}={value!r}."
    )


def _check_zoom_range(value: object) -> tuple[float, float]:
    if _is_number(value):
        if not 0 <= value < 1:
            raise ValueError(
                "Invalid value for argument `zoom_range`. Expected a number in [0, 1) "
                f"or a pair (low, high) with 0 < low <= high. Received "
                f"zoom_range={value!r}."
            )
        return 1.0 - float(value), 1.0 + float(value)
    if (
        isinstance(value, Sequence | np.ndarray)
        and len(value) == 2
        and all(_is_number(v) for v in value)
        and 0 < value[0] <= value[1]
    ):
        return float(value[0]), float(value[1])
    raise ValueError(
        "Invalid value for argument `zoom_range`. Expected a number in [0, 1) or a "
        f"pair (low, high) with 0 < low <= high. Received zoom_range={value!r}."
    )


def _draw_shift(shift_range: object, size: int, rng: np.random.Generator) -> float:
    """Draw a shift in pixels the way Keras reads each form of a shift range.

    A float draws uniformly from ``[-range, range]``. An int ``n >= 1`` draws a whole
    number from ``{-(n - 1), ..., n - 1}``. A sequence draws one of its values with a
    random sign. Ranges whose largest value is below 1 are fractions of ``size``.
    """
    if isinstance(shift_range, tuple):
        shift = float(rng.choice(shift_range)) * rng.choice((-1.0, 1.0))
        largest = max(shift_range)
    elif isinstance(shift_range, numbers.Integral):
        shift = float(rng.integers(0, shift_range)) * rng.choice((-1.0, 1.0))
        largest = shift_range
    else:
        shift = rng.uniform(-shift_range, shift_range)
        largest = shift_range
    if largest < 1:
        shift *= size
    return float(shift)


def _centred_matrix(params: dict, centre_x: float, centre_y: float) -> np.ndarray:
    """Compose the 3x3 pull map of ``params`` in (x, y) = (column, row) order.

    The factors and their order are Keras's (rotation, shift, shear, zoom, then the
    move to the centre), so the same parameters give the same float64 matrix.
    """
    theta = np.deg2rad(params["theta"])
    shear = np.deg2rad(params["shear"])
    rotation = np.array(
        [
            [np.cos(theta), -np.sin(theta), 0.0],
            [np.sin(theta), np.cos(theta), 0.0],
            [0.0, 0.0, 1.0],
        ]
    )
    shift = np.array([[1.0, 0.0, params["tx"]], [0.0, 1.0, params["ty"]], [0, 0, 1]])
    shearing = np.array(
        [[1.0, -np.sin(shear), 0.0], [0.0, np.cos(shear), 0.0], [0.0, 0.0, 1.0]]
    )
    zoom = np.array([[params["zx"], 0.0, 0.0], [0.0, params["zy"], 0.0], [0, 0, 1]])
    matrix = np.dot(np.dot(np.dot(rotation, shift), shearing), zoom)
    to_centre = np.array([[1.0, 0.0, centre_x], [0.0, 1.0, centre_y], [0, 0, 1]])
    from_centre = np.array([[1.0, 0.0, -centre_x], [0.0, 1.0, -centre_y], [0, 0, 1]])
    return np.dot(np.dot(to_centre, matrix), from_centre)


def _complete(params: dict) -> dict:
    unknown = set(params) - set(_IDENTITY) - {"flip_vertical"}
    if unknown:
        raise ValueError(
            f"Invalid keys in argument `params`. Expected keys among {TRANSFORM_KEYS}. "
            f"Received unknown keys {sorted(unknown)}."
        )
    return {**_IDENTITY, **params}


def transform_matrix(params: dict, image_shape: tuple[int, ...]) -> np.ndarray:
    """Return the (2, 3) pull map, in (row, column) order, that `params` describe.

    Output pixel ``(r, c)`` is read from the source position ``matrix @ (r, c, 1)``.
    The flip is not part of it: `ImageAugmenter.apply_transform` flips afterwards.

    Parameters
    ----------
    params : dict
        Transform parameters as documented on `ImageAugmenter`. Missing keys take
        their identity values.
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)`` of the image.

    Returns
    -------
    ndarray of shape (2, 3), float64
    """
    height, width = image_shape[0], image_shape[1]
    params = _complete(params)
    matrix = _centred_matrix(params, width / 2 - 0.5, height / 2 - 0.5)
    # (x, y) order is (column, row); the array axes are (row, column).
    return matrix[[1, 0]][:, [1, 0, 2]]


def keras_transform_parameters(params: dict, image_shape: tuple[int, ...]) -> dict:
    """Translate our parameters into a dict for Keras's ``apply_transform``.

    ``ImageDataGenerator(...).apply_transform(x, keras_transform_parameters(p,
    x.shape))`` gives the image that ``ImageAugmenter(...).apply_transform(x, p)``
    gives, for channels-last ``x``. On a square image the two dicts are equal. On any
    other image Keras 3.15 takes the centre of rotation, shear and zoom to be column
    ``(H - 1) / 2`` and row ``(W - 1) / 2``, with height and width swapped, so ``tx``
    and ``ty`` are adjusted here to move that centre back to ``((H - 1) / 2,
    (W - 1) / 2)``.

    NOTE: on non-square images the two maps agree only to floating-point rounding.
    With ``fill_mode='constant'`` a source position that lies exactly on
    the image edge in one map can lie a hair outside it in the other, and that pixel
    then gets the edge value in one and ``cval`` in the other.

    Parameters
    ----------
    params : dict
        Our transform parameters (see `ImageAugmenter`).
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)`` of the image.

    Returns
    -------
    dict
        Keys ``'theta'``, ``'tx'``, ``'ty'``, ``'shear'``, ``'zx'``, ``'zy'``,
        ``'flip_horizontal'`` in Keras's meaning.
    """
    params = _complete(params)
    height, width = image_shape[0], image_shape[1]
    keras_params = {key: params[key] for key in TRANSFORM_KEYS}
    if height == width:
        return keras_params

    ours = _centred_matrix(params, width / 2 - 0.5, height / 2 - 0.5)
    # Keras's map is to_centre' @ R @ S(t') @ shear @ zoom @ from_centre'. With
    # the centre' moves undone, the translation column is R @ t', so t' follows.
    centre_x, centre_y = height / 2 - 0.5, width / 2 - 0.5
    uncentred = ours.copy()
    uncentred[:2, 2] += ours[:2, :2] @ (centre_x, centre_y)
    uncentred[:2, 2] -= (centre_x, centre_y)
    theta = np.deg2rad(params["theta"])
    rotation = np.array(
        [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    )
    keras_params["tx"], keras_params["ty"] = (
        float(v) for v in rotation.T @ uncentred[:2, 2]
    )
    return keras_params


class ImageAugmenter:
    """Random rotations, shifts, shears, zooms and flips, then rescaling.

    Parameters
    ----------
    rotation_range : float, default 0
        Maximum rotation in degrees. Angles are drawn from
        ``[-rotation_range, rotation_range]``; positive angles turn the picture
        counter-clockwise on screen.
    width_shift_range, height_shift_range : float, int or sequence, default 0
        Horizontal and vertical shift, in Keras's forms. A float below 1 is a
        fraction of the width (height), drawn from ``[-range, range]``. A float of
        1 or more is the same in pixels. An int ``n`` draws whole pixels from
        ``{-(n - 1), ..., n - 1}``. A sequence draws one of its values with a random
        sign, as fractions if all of them are below 1.
    shear_range : float, default 0
        Maximum shear angle in degrees, drawn from ``[-shear_range, shear_range]``.
        Keras converts ``shear_range`` with ``np.deg2rad``, so it is an angle, not
        a slope.
    zoom_range : float or (float, float), default 0
        ``z`` draws zoom factors from ``[1 - z, 1 + z]``; a pair gives the interval.
        The horizontal and vertical factors are drawn independently. A factor above
        1 samples a larger area, so the picture shrinks (zooms out), as in Keras.
    horizontal_flip : bool, default False
        Mirror left-right with probability 1/2, after the affine transform.
    fill_mode : {'nearest', 'constant', 'reflect', 'wrap'}, default 'nearest'
        How pixels that come from outside the image are filled. The modes are
        SciPy's, which Keras passes through; 'wrap' has period ``n - 1``, see
        `convnet_from_scratch.data.resample`.
    cval : float, default 0.0
        Fill value for ``fill_mode='constant'``, on the 0..255 scale before
        rescaling.
    rescale : float or None, default None
        Factor applied after the geometric transform, as Keras's ``standardize``
        does (for example ``1 / 255``).

    Notes
    -----
    The transform parameters are a dict with Keras's ``apply_transform`` keys:

    * ``'theta'``: rotation in degrees about the image centre, positive
      counter-clockwise.
    * ``'tx'``: horizontal shift in pixels, along the column axis. The output pixel
      at column ``c`` is read from column ``c + tx``, so a positive ``tx`` moves the
      picture left.
    * ``'ty'``: vertical shift in pixels, along the row axis; a positive ``ty``
      moves the picture up.
    * ``'shear'``: shear angle in degrees. The output pixel ``(r, c)`` (measured from
      the centre) is read from row ``r * cos(shear)`` and column
      ``c - r * sin(shear)``.
    * ``'zx'``, ``'zy'``: zoom factors that scale the source column and row offsets
      from the centre.
    * ``'flip_horizontal'``: mirror the columns after the affine transform.

    The source position of output pixel ``p`` (as (column, row)) is
    ``centre + R(theta) @ (shear_zoom @ (p - centre) + (tx, ty))``, which is the map
    Keras builds. On square images our dict and Keras's mean the same thing: pass the
    same dict to ``ImageDataGenerator.apply_transform`` and the images are equal. Two
    differences remain:

    * NOTE: unlike Keras 3.15, a width shift moves the picture horizontally.
      Keras's ``get_random_transform`` puts ``height_shift_range * H`` into ``'tx'``
      (the column axis) and ``width_shift_range * W`` into ``'ty'`` (the row axis),
      so there a width shift moves the picture vertically. `random_transform` puts
      the width shift into ``'tx'`` and the height shift into ``'ty'``.
    * On non-square images Keras rotates about a centre with height and width
      swapped; we use the true centre. `keras_transform_parameters` converts our dict
      into the Keras dict that gives the same image.
    """

    def __init__(
        self,
        rotation_range: float = 0,
        width_shift_range: float | Sequence[float] = 0,
        height_shift_range: float | Sequence[float] = 0,
        shear_range: float = 0,
        zoom_range: float | tuple[float, float] = 0,
        horizontal_flip: bool = False,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        rescale: float | None = None,
    ) -> None:
        self.rotation_range = _check_non_negative("rotation_range", rotation_range)
        self.width_shift_range = _check_shift_range(
            "width_shift_range", width_shift_range
        )
        self.height_shift_range = _check_shift_range(
            "height_shift_range", height_shift_range
        )
        self.shear_range = _check_non_negative("shear_range", shear_range)
        self.zoom_range = _check_zoom_range(zoom_range)

        if not isinstance(horizontal_flip, bool | np.bool_):
            raise TypeError(
                "Invalid type for argument `horizontal_flip`. Expected a bool. "
                f"Received horizontal_flip={horizontal_flip!r}."
            )
        self.horizontal_flip = bool(horizontal_flip)

        if fill_mode not in FILL_MODES:
            raise ValueError(
                f"Invalid value for argument `fill_mode`. Expected one of "
                f"{FILL_MODES}. Received fill_mode={fill_mode!r}."
            )
        self.fill_mode = fill_mode

        if not _is_number(cval):
            raise TypeError(
                f"Invalid type for argument `cval`. Expected a number. "
                f"Received cval={cval!r}."
            )
        self.cval = float(cval)

        if rescale is not None and not _is_number(rescale):
            raise TypeError(
                "Invalid type for argument `rescale`. Expected a number or None. "
                f"Received rescale={rescale!r}."
            )
        self.rescale = rescale

    def __repr__(self) -> str:
        return (
            f"ImageAugmenter(rotation_range={self.rotation_range}, "
            f"width_shift_range={self.width_shift_range}, "
            f"height_shift_range={self.height_shift_range}, "
            f"shear_range={self.shear_range}, zoom_range={self.zoom_range}, "
            f"horizontal_flip={self.horizontal_flip}, fill_mode={self.fill_mode!r}, "
            f"cval={self.cval}, rescale={self.rescale})"
        )

    def random_transform(
        self, image_shape: tuple[int, ...], rng: np.random.Generator
    ) -> dict:
        """Draw transform parameters for one image.

        Parameters
        ----------
        image_shape : tuple of int
            ``(H, W, C)`` or ``(H, W)``; fractional shifts scale with ``W`` and ``H``.
        rng : numpy.random.Generator
            Source of randomness. Draws happen only for the transforms in use.

        Returns
        -------
        dict
            The keys of ``TRANSFORM_KEYS``, ready for `apply_transform`.
        """
        height, width = image_shape[0], image_shape[1]
        params = dict(_IDENTITY)
        if self.rotation_range:
            params["theta"] = float(
                rng.uniform(-self.rotation_range, self.rotation_range)
            )
        if self.width_shift_range:
            params["tx"] = _draw_shift(self.width_shift_range, width, rng)
        if self.height_shift_range:
            params["ty"] = _draw_shift(self.height_shift_range, height, rng)
        if self.shear_range:
            params["shear"] = float(rng.uniform(-self.shear_range, self.shear_range))
        if self.zoom_range != (1.0, 1.0):
            params["zx"], params["zy"] = (
                float(z) for z in rng.uniform(*self.zoom_range, 2)
            )
        if self.horizontal_flip:
            params["flip_horizontal"] = bool(rng.random() < 0.5)
        return params

    def apply_transform(self, image: np.ndarray, params: dict) -> np.ndarray:
        """Apply explicit transform parameters to one image.

        Parameters
        ----------
        image : ndarray of shape (H, W, C)
            The image, on any scale; it is not rescaled here.
        params : dict
            Transform parameters (see the class Notes). Missing keys take their
            identity values, so ``{'tx': -2}`` is a pure shift.

        Returns
        -------
        ndarray of shape (H, W, C), float32
            A new array; ``image`` is not modified.
        """
        params = _complete(params)
        image = np.asarray(image)
        if image.ndim != 3:
            raise ValueError(
                "Invalid shape for argument `image`. Expected (H, W, C). "
                f"Received image.shape={image.shape}."
            )
        affine = {key: params[key] for key in _IDENTITY if key != "flip_horizontal"}
        if any(affine[key] != _IDENTITY[key] for key in affine):
            matrix = transform_matrix(params, image.shape)
            out = affine_resample(image, matrix, self.fill_mode, self.cval)
        else:
            # Keras skips the resampling for the identity map, and so do we.
            out = np.array(image, dtype=np.float32)
        if params["flip_horizontal"]:
            out = out[:, ::-1]
        return out

    def standardize(self, image: np.ndarray) -> np.ndarray:
        """Multiply by ``rescale`` (when set), in float32 as Keras does.

        Parameters
        ----------
        image : ndarray of shape (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of the same shape, float32
        """
        image = np.asarray(image, dtype=np.float32)
        if self.rescale:
            return image * np.float32(self.rescale)
        return image

    def augment(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw parameters, transform and rescale one ``(H, W, C)`` image."""
        params = self.random_transform(image.shape, rng)
        return self.standardize(self.apply_transform(image, params))
