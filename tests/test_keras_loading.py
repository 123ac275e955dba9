"""`DirectoryIterator` against Keras's ``flow_from_directory``, on the same folders.

With ``shuffle=False``, explicit ``classes`` and no augmentation, both must list the
same files in the same order, give them the same class indices, and produce the same
pixels after nearest-neighbour resizing. The pixels must be equal, not close, because
both decode with Pillow and neither rescales (values stay 0..255).

Two folders are compared: the real photos in ``BUTTERFLY_DATA`` (one sub-folder per
class; it falls back to ``../shared/data/monarch_viceroy`` and fails, never skips,
when neither exists), at the blog's 75x75; and a small folder made here, with photos,
odd image modes, nested folders and an upper-case extension, at sizes drawn by
hypothesis.

One deliberate difference is tested apart: Keras takes a hidden folder such as
``.ipynb_checkpoints`` for a class, and the library ignores it.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from convnet_from_scratch.data import DirectoryIterator, load_image
from keras_reference import ImageDataGenerator, keras

from photos import butterfly_data, link_subset


def one_epoch(iterator) -> tuple[np.ndarray, np.ndarray]:
    """Return all of one epoch's images and labels, in order."""
    batches = (
        list(iter(iterator))
        if isinstance(iterator, DirectoryIterator)
        else [iterator[i] for i in range(len(iterator))]
    )
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([np.reshape(b[1], (-1, 1)) for b in batches])
    return x, y


def both_iterators(directory, target_size, classes, batch_size=16):
    ours = DirectoryIterator(
        directory,
        target_size=target_size,
        batch_size=batch_size,
        shuffle=False,
        classes=classes,
    )
    theirs = ImageDataGenerator().flow_from_directory(
        str(directory),
        target_size=target_size,
        batch_size=batch_size,
        shuffle=False,
        classes=list(classes),
        class_mode="binary",
    )
    return ours, theirs


def check_same(ours, theirs):
    assert ours.class_indices == theirs.class_indices
    assert ours.filenames == theirs.filenames
    np.testing.assert_array_equal(ours.classes, theirs.classes)
    assert ours.samples == theirs.samples
    assert len(ours) == len(theirs)

    x, y = one_epoch(ours)
    keras_x, keras_y = one_epoch(theirs)
    assert x.dtype == keras_x.dtype == np.float32
    assert x.shape == keras_x.shape
    np.testing.assert_array_equal(x, keras_x)
    np.testing.assert_array_equal(y, keras_y)


def test_real_photos_load_like_keras():
    data = butterfly_data()
    classes = sorted(
        p.name for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    ours, theirs = both_iterators(data, (75, 75), classes, batch_size=64)
    assert ours.samples > 0
    check_same(ours, theirs)


def save(image: Image.Image, path, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """Make a two-class folder of real photos and images in unusual modes."""
    root = link_subset(tmp_path_factory.mktemp("mixed"), per_class=3)
    first, second = sorted(p.name for p in root.iterdir())
    rng = np.random.default_rng(0)

    def pixels(height, width, channels):
        shape = (height, width, channels) if channels > 1 else (height, width)
        return rng.integers(0, 256, shape, dtype=np.uint8)

    rgba = Image.fromarray(pixels(13, 21, 4))
    save(rgba, root / first / "rgba.png")
    palette = Image.fromarray(pixels(17, 9, 3)).quantize(16)
    palette.info["transparency"] = 3
    save(palette, root / first / "palette.png", transparency=3)
    save(Image.fromarray(pixels(8, 30, 1)), root / first / "nested" / "grey.bmp")
    save(Image.fromarray(pixels(31, 19, 3)), root / second / "UPPER.JPG")
    save(
        Image.fromarray(pixels(12, 12, 3)).convert("CMYK"),
        root / second / "cmyk.jpg",
    )
    wide = rng.integers(0, 65536, (10, 14), dtype=np.uint16)
    save(Image.fromarray(wide), root / second / "sixteen.png")
    save(Image.fromarray(pixels(9, 9, 2)), root / second / "grey_alpha.png")
    # An EXIF orientation tag: Keras's load_img ignores it, so the library must too.
    exif = Image.Exif()
    exif[0x0112] = 6
    save(
        Image.fromarray(pixels(20, 11, 3)),
        root / second / "rotated.jpg",
        exif=exif,
    )
    return root, [first, second]


@given(
    height=st.integers(1, 96),
    width=st.integers(1, 96),
    reverse=st.booleans(),
)
def test_mixed_folder_loads_like_keras(mixed_folder, height, width, reverse):
    root, classes = mixed_folder
    ordered = classes[::-1] if reverse else classes
    ours, theirs = both_iterators(root, (height, width), ordered)
    check_same(ours, theirs)


def test_single_image_loads_like_keras(mixed_folder):
    root, _ = mixed_folder
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        expected = keras.utils.img_to_array(
            keras.utils.load_img(path, target_size=(33, 47))
        )
        np.testing.assert_array_equal(load_image(path, (33, 47)), expected)


def test_hidden_class_folder_is_ignored(tmp_path):
    # Keras lists every sub-folder as a class, hidden ones included. The library
    # ignores hidden folders, so without explicit classes only it finds two.
    root = link_subset(tmp_path / "data", per_class=2)
    (root / ".ipynb_checkpoints").mkdir()
    theirs = ImageDataGenerator().flow_from_directory(str(root), class_mode="binary")
    ours = DirectoryIterator(root, shuffle=False)
    assert ".ipynb_checkpoints" in theirs.class_indices
    assert len(theirs.class_indices) == 3
    assert ".ipynb_checkpoints" not in ours.class_indices
    assert len(ours.class_indices) == 2
