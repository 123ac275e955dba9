"""The on-disk layout shared by ``download`` and ``split``.

A data folder contains one sub-folder per class, and each class folder contains
photo files named ``<photo id><extension>``. Names starting with a dot are not part of
the data set: the download keeps its partial files in such a folder.
"""

import hashlib
import os
import secrets
from pathlib import Path

from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif")

# Exceptions Pillow raises for a file that is not an image, is cut short or is too
# large.
_IMAGE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


class InvalidImageError(ValueError):
    """Raised for a file that Pillow cannot verify and decode fully."""


def check_image(path):
    """Verify and fully decode the image at ``path``, and return its Pillow format.

    ``Image.verify()`` alone accepts a JPEG cut short (checked with Pillow 13), so
    the pixels are decoded too.

    Raises
    ------
    InvalidImageError
        With Pillow's message, if the file is not a whole image.
    """
    try:
        with Image.open(path) as image:
            image.verify()
        # verify() leaves the image unusable, so it is opened again to decode.
        with Image.open(path) as image:
            image_format = image.format
            image.load()
    except _IMAGE_ERRORS as error:
        raise InvalidImageError(str(error) or type(error).__name__) from None
    return image_format


def class_folders(root):
    """Return the class folders of ``root``, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.iterdir()
        if path.is_dir() and not path.name.startswith(".")
    )


def photo_files(folder):
    """Return the photo files of one class folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in IMAGE_SUFFIXES
    )


def photo_id(path):
    """Return the photo id a file is named after."""
    return Path(path).stem


def file_sha256(path):
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_temporary_file(folder, prefix, suffix=".part"):
    """Create an empty file with a unique hidden name in ``folder``.

    Unlike ``tempfile.mkstemp``, which creates files readable by their owner
    only, the new file gets the permissions the umask gives any new file, so the
    photo it becomes after the rename is readable like its neighbours.

    Returns
    -------
    tuple of (int, pathlib.Path)
        An open descriptor for writing, and the file's path.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = Path(folder) / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
