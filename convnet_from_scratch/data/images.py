"""Decode image files into arrays exactly as Keras's `load_img` + `img_to_array` do."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

# Keras 3.15's `Iterator.white_list_formats`, with the dot. Keras tests the bare
# suffix, so it would also take a file named "photojpg"; we do not.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")

# Exceptions Pillow raises for a file it cannot open or decode. OSError covers missing
# and truncated files and unknown formats, and SyntaxError and EOFError some broken
# headers.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    EOFError,
    ValueError,
    Image.DecompressionBombError,
)


class UnreadableImageError(ValueError):
    """An image file that cannot be opened, is not an image, or is truncated.

    Attributes
    ----------
    path : str
        The file that failed.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        super().__init__(f"Cannot read image {self.path}: {reason}")


def _check_target_size(target_size: object) -> tuple[int, int] | None:
    if target_size is None:
        return None
    if (
        isinstance(target_size, tuple | list)
        and len(target_size) == 2
        and all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0
            for v in target_size
        )
    ):
        return int(target_size[0]), int(target_size[1])
    raise ValueError(
        "Invalid value for argument `target_size`. Expected a pair of positive ints "
        f"(height, width) or None. Received target_size={target_size!r}."
    )


def load_image_uint8(
    path: str | os.PathLike, target_size: tuple[int, int] | None
) -> np.ndarray:
    """Decode, convert to RGB and resize one image, keeping Pillow's uint8 pixels.

    This is `load_image` before the float32 conversion, for callers that store many
    decoded images: every path through it ends in an 8-bit RGB Pillow image, so the
    uint8 array contains exactly the values `load_image` returns.
    """
    size = _check_target_size(target_size)
    try:
        with Image.open(path) as image:
            # Decode here, inside the try, so a truncated file fails now.
            image.load()
            if image.mode != "RGB":
                image = image.convert("RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.NEAREST)
            return np.asarray(image, dtype=np.uint8)
    except _DECODE_ERRORS as error:
        raise UnreadableImageError(path, str(error) or type(error).__name__) from error


def load_image(
    path: str | os.PathLike, target_size: tuple[int, int] | None
) -> np.ndarray:
    """Load an image file as an RGB float32 array on the 0..255 scale.

    The result equals Keras 3.15's ``img_to_array(load_img(path,
    target_size=target_size))`` (``color_mode='rgb'``, ``interpolation='nearest'``):

    * Any mode other than RGB goes through Pillow's ``convert('RGB')``, as in Keras.
      Alpha is dropped, not blended onto a background, so a transparent pixel keeps
      its stored colour. Palette images take their palette colours, greyscale ('L',
      'LA', 'I;16', ...) is copied to all three channels, with 16-bit values above
      255 saturating at 255, and CMYK uses Pillow's conversion.
    * The EXIF orientation tag is ignored, because Keras's ``load_img`` does not call
      ``ImageOps.exif_transpose``: a photo stored sideways with an orientation tag
      loads sideways, with its stored height and width.
    * The image is resized with nearest-neighbour sampling (Pillow's ``NEAREST``)
      only when its size differs from ``target_size``.

    Parameters
    ----------
    path : str or os.PathLike
        Image file, in any format Pillow reads.
    target_size : (int, int) or None
        ``(height, width)`` of the result, or None to keep the stored size.

    Returns
    -------
    ndarray of shape (H, W, 3), float32
        Whole numbers from 0 to 255.

    Raises
    ------
    UnreadableImageError
        If the file is missing, is not an image Pillow can identify, or is
        truncated. NOTE: Pillow decodes truncated files without an error when
        ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is set to True anywhere in the
        process. Such a file then loads with its missing part filled in.
    """
    return load_image_uint8(path, target_size).astype(np.float32)
