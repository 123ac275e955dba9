"""`DirectoryIterator` and `split_class_folders` on folders built in ``tmp_path``.

Each dataset mixes images made with Pillow (in several colour modes) with a few real
photos copied from ``BUTTERFLY_DATA``, plus the clutter real folders collect: hidden
folders and files, macOS resource forks, a text file and a truncated JPEG.
"""

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convnet_from_scratch.data import (
    DirectoryIterator,
    ImageAugmenter,
    UnreadableImageWarning,
    load_image,
    split_class_folders,
)

REPOSITORY = Path(__file__).resolve().parent.parent
SIZE = (12, 16)


def butterfly_data() -> Path:
    """Return BUTTERFLY_DATA, or the shared monarch/viceroy folder beside the repo."""
    default = REPOSITORY.parent / "shared" / "data" / "monarch_viceroy"
    folder = Path(os.environ.get("BUTTERFLY_DATA", default))
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Real photos not found in {folder}. Set BUTTERFLY_DATA to a folder with "
            "one sub-folder of photos per class."
        )
    return folder


def real_photos(count: int) -> list[Path]:
    """Return ``count`` real photos, taken from the first class folder in order."""
    first_class = sorted(p for p in butterfly_data().iterdir() if p.is_dir())[0]
    photos = sorted(first_class.glob("*.jpg"))[:count]
    assert len(photos) == count, f"expected {count} photos in {first_class}"
    return photos


def save_noise(path: Path, mode: str = "RGB", seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)


def write_truncated_jpeg(path: Path) -> None:
    """Write a JPEG cut after 60% of its bytes."""
    noise = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    whole = path.with_name("whole-" + path.name)
    Image.fromarray(noise).save(whole, quality=95)
    data = whole.read_bytes()
    whole.unlink()
    path.write_bytes(data[: int(len(data) * 0.6)])


@pytest.fixture
def dataset(tmp_path) -> Path:
    """Two classes, 'monarch' (5 images) and 'viceroy' (4 readable + 1 truncated)."""
    root = tmp_path / "butterflies"
    monarch = root / "monarch"
    viceroy = root / "viceroy"
    monarch.mkdir(parents=True)
    (viceroy / "nested").mkdir(parents=True)

    for index, photo in enumerate(real_photos(2)):
        shutil.copy(photo, monarch / f"real_{index}.jpg")
    save_noise(monarch / "rgba.png", "RGBA", seed=2)
    save_noise(monarch / "grey.png", "L", seed=3)
    save_noise(monarch / "cmyk.tif", "CMYK", seed=4)
    (monarch / "notes.txt").write_text("not an image")
    (monarch / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (monarch / "._real_0.jpg").write_bytes(b"\x00\x05\x16\x07resource fork")

    palette = Image.new("RGB", (20, 24), (200, 30, 30)).convert("P")
    palette.save(viceroy / "palette.png", transparency=0)
    save_noise(viceroy / "b.jpg", seed=5)
    save_noise(viceroy / "a.PNG", seed=6)
    save_noise(viceroy / "nested" / "deep.bmp", seed=7)
    write_truncated_jpeg(viceroy / "truncated.jpg")

    checkpoints = root / ".ipynb_checkpoints"
    checkpoints.mkdir()
    save_noise(checkpoints / "stale.png", seed=8)
    (viceroy / ".hidden").mkdir()
    save_noise(viceroy / ".hidden" / "skip.png", seed=9)
    return root


def make_iterator(directory, **kwargs):
    """Build a DirectoryIterator, absorbing the truncated file's warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableImageWarning)
        return DirectoryIterator(directory, target_size=SIZE, **kwargs)


def collect_epoch(iterator):
    batches = list(iterator)
    x = np.concatenate([xb for xb, _ in batches])
    y = np.concatenate([yb for _, yb in batches])
    return batches, x, y


def test_iterator_ignores_hidden_entries(dataset):
    iterator = make_iterator(dataset, shuffle=False)

    assert iterator.class_indices == {"monarch": 0, "viceroy": 1}
    assert iterator.filenames == [
        os.path.join("monarch", "cmyk.tif"),
        os.path.join("monarch", "grey.png"),
        os.path.join("monarch", "real_0.jpg"),
        os.path.join("monarch", "real_1.jpg"),
        os.path.join("monarch", "rgba.png"),
        os.path.join("viceroy", "a.PNG"),
        os.path.join("viceroy", "b.jpg"),
        os.path.join("viceroy", "palette.png"),
        os.path.join("viceroy", "nested", "deep.bmp"),
    ]
    np.testing.assert_array_equal(iterator.classes, [0, 0, 0, 0, 0, 1, 1, 1, 1])
    assert iterator.samples == 9


def test_iterator_class_indices_sorted(tmp_path):
    # Created out of order. Keras sorts the folder names with Python's sorted(),
    # which puts upper case first: "Monarch" < "admiral".
    for name in ["admiral", "Monarch"]:
        (tmp_path / name).mkdir()
        save_noise(tmp_path / name / "x.png")

    iterator = DirectoryIterator(tmp_path, target_size=SIZE)

    assert iterator.class_indices == {"Monarch": 0, "admiral": 1}
    assert iterator.filenames == [
        os.path.join("Monarch", "x.png"),
        os.path.join("admiral", "x.png"),
    ]


def test_truncated_jpeg_warns_and_is_dropped(dataset):
    with pytest.warns(UnreadableImageWarning, match="truncated.jpg") as caught:
        iterator = DirectoryIterator(dataset, target_size=SIZE, shuffle=False)

    assert len([w for w in caught if "truncated.jpg" in str(w.message)]) == 1
    assert os.path.join("viceroy", "truncated.jpg") not in iterator.filenames
    _, x, y = collect_epoch(iterator)
    assert x.shape == (9, *SIZE, 3)
    assert y.shape == (9, 1)


def test_truncated_jpeg_without_cache_warns_once(dataset):
    iterator = DirectoryIterator(
        dataset, target_size=SIZE, batch_size=4, shuffle=True, seed=3, cache=False
    )
    assert iterator.samples == 10

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first_batches, first_x, _ = collect_epoch(iterator)
        second_batches, second_x, _ = collect_epoch(iterator)

    named = [w for w in caught if "truncated.jpg" in str(w.message)]
    assert len(named) == 1
    assert issubclass(named[0].category, UnreadableImageWarning)
    assert first_x.shape[0] == 9
    assert second_x.shape[0] == 9
    assert iterator.samples == 9
    assert len(iterator) == 3
    assert [len(xb) for xb, _ in second_batches] == [4, 4, 1]


def test_iterator_batch_shapes_and_dtypes(dataset):
    iterator = make_iterator(dataset, batch_size=4, shuffle=False)

    batches, x, y = collect_epoch(iterator)

    assert len(iterator) == 3
    assert [len(xb) for xb, _ in batches] == [4, 4, 1]
    assert x.dtype == np.float32
    assert y.dtype == np.float32
    assert x.shape == (9, *SIZE, 3)
    np.testing.assert_array_equal(y[:, 0], iterator.classes)


def test_iterator_values_match_load_image(dataset):
    iterator = make_iterator(dataset, shuffle=False)

    _, x, _ = collect_epoch(iterator)

    for image, path in zip(x, iterator.filepaths, strict=True):
        np.testing.assert_array_equal(image, load_image(path, SIZE))


def test_iterator_batch_count_with_partial_batch(dataset):
    iterator = make_iterator(dataset, batch_size=2)

    batches, _, _ = collect_epoch(iterator)

    # 9 images in batches of 2: four full batches and one of 1.
    assert len(iterator) == 5
    assert [len(xb) for xb, _ in batches] == [2, 2, 2, 2, 1]


def test_shuffle_same_seed_same_order(dataset):
    first = make_iterator(dataset, seed=11, batch_size=4)
    second = make_iterator(dataset, seed=11, batch_size=4)

    for _ in range(2):
        _, first_x, first_y = collect_epoch(first)
        _, second_x, second_y = collect_epoch(second)
        np.testing.assert_array_equal(first_x, second_x)
        np.testing.assert_array_equal(first_y, second_y)


def test_shuffle_new_order_each_epoch(dataset):
    iterator = make_iterator(dataset, seed=11)

    _, epoch0, _ = collect_epoch(iterator)
    _, epoch1, _ = collect_epoch(iterator)

    order0 = iterator.epoch_order(0)
    order1 = iterator.epoch_order(1)
    assert not np.array_equal(order0, order1)
    assert sorted(order0) == list(range(9))
    expected0 = np.stack([load_image(iterator.filepaths[i], SIZE) for i in order0])
    expected1 = np.stack([load_image(iterator.filepaths[i], SIZE) for i in order1])
    np.testing.assert_array_equal(epoch0, expected0)
    np.testing.assert_array_equal(epoch1, expected1)


def test_no_shuffle_keeps_listing_order(dataset):
    iterator = make_iterator(dataset, shuffle=False)

    np.testing.assert_array_equal(iterator.epoch_order(5), np.arange(9))


def test_augmentation_fresh_each_epoch(dataset):
    augmenter = ImageAugmenter(rotation_range=30, zoom_range=0.2, rescale=1 / 255)
    iterator = make_iterator(dataset, shuffle=False, seed=0, augmenter=augmenter)

    _, epoch0, _ = collect_epoch(iterator)
    _, epoch1, _ = collect_epoch(iterator)

    assert epoch0.min() >= 0.0
    assert epoch0.max() <= 1.0
    assert not np.allclose(epoch0, epoch1)


def test_augmentation_same_seed_same_images(dataset):
    augmenter = ImageAugmenter(rotation_range=30, horizontal_flip=True)
    first = make_iterator(dataset, seed=4, augmenter=augmenter)
    second = make_iterator(dataset, seed=4, augmenter=augmenter)

    _, first_x, _ = collect_epoch(first)
    _, second_x, _ = collect_epoch(second)

    np.testing.assert_array_equal(first_x, second_x)


def test_augmentation_keeps_shuffle_order(dataset):
    plain = make_iterator(dataset, seed=9)
    augmented = make_iterator(dataset, seed=9, augmenter=ImageAugmenter(rescale=0.5))

    _, plain_x, _ = collect_epoch(plain)
    _, augmented_x, _ = collect_epoch(augmented)

    np.testing.assert_array_equal(augmented_x, plain_x * np.float32(0.5))


def test_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory"):
        DirectoryIterator(tmp_path / "absent")


def test_three_classes_raise(tmp_path):
    for name in ["zebra", "admiral", "monarch"]:
        (tmp_path / name).mkdir()
        save_noise(tmp_path / name / "x.png")

    with pytest.raises(ValueError, match="exactly 2") as caught:
        DirectoryIterator(tmp_path, target_size=SIZE)

    message = str(caught.value)
    assert str(tmp_path) in message
    assert "['admiral', 'monarch', 'zebra']" in message


def test_one_class_raises(tmp_path):
    (tmp_path / "monarch").mkdir()
    save_noise(tmp_path / "monarch" / "x.png")

    with pytest.raises(ValueError, match=r"Found 1: \['monarch'\]"):
        DirectoryIterator(tmp_path, target_size=SIZE)


def test_no_images_raise(tmp_path):
    for name in ["monarch", "viceroy"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "readme.txt").write_text("no photos yet")

    with pytest.raises(ValueError, match="No images found"):
        DirectoryIterator(tmp_path, target_size=SIZE)


def test_only_unreadable_images_raise(tmp_path):
    for name in ["monarch", "viceroy"]:
        (tmp_path / name).mkdir()
        write_truncated_jpeg(tmp_path / name / "cut.jpg")

    with pytest.warns(UnreadableImageWarning), pytest.raises(ValueError, match="read"):
        DirectoryIterator(tmp_path, target_size=SIZE)


def test_explicit_classes_set_label_order(dataset):
    iterator = make_iterator(dataset, classes=["viceroy", "monarch"], shuffle=False)

    assert iterator.class_indices == {"viceroy": 0, "monarch": 1}
    assert iterator.filenames[0] == os.path.join("viceroy", "a.PNG")
    np.testing.assert_array_equal(iterator.classes, [0, 0, 0, 0, 1, 1, 1, 1, 1])


def test_explicit_missing_class_raises(dataset):
    with pytest.raises(ValueError, match="swallowtail"):
        DirectoryIterator(dataset, classes=["monarch", "swallowtail"])


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"target_size": (75,)}, "target_size"),
        ({"seed": -1}, "seed"),
        ({"files": ["swallowtail/x.png"]}, "files"),
    ],
)
def test_iterator_rejects_bad_arguments(dataset, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        DirectoryIterator(dataset, **kwargs)


def test_split_is_stratified_and_disjoint(tmp_path):
    for name, count in [("monarch", 10), ("viceroy", 7)]:
        (tmp_path / name).mkdir()
        for index in range(count):
            save_noise(tmp_path / name / f"{index:02d}.png", seed=index)

    train, validation = split_class_folders(tmp_path, 0.3, seed=0)

    # round(0.3 * 10) = 3 monarchs and round(0.3 * 7) = round(2.1) = 2 viceroys.
    assert sum(f.startswith("monarch") for f in validation) == 3
    assert sum(f.startswith("viceroy") for f in validation) == 2
    assert len(train) == 12
    assert not set(train) & set(validation)
    assert len(set(train) | set(validation)) == 17
    assert train == sorted(train)
    assert validation == sorted(validation)


def test_split_deterministic_per_seed(tmp_path):
    for name in ["monarch", "viceroy"]:
        (tmp_path / name).mkdir()
        for index in range(10):
            save_noise(tmp_path / name / f"{index:02d}.png", seed=index)

    first = split_class_folders(tmp_path, 0.3, seed=5)
    second = split_class_folders(tmp_path, 0.3, seed=5)
    other = split_class_folders(tmp_path, 0.3, seed=6)

    assert first == second
    assert first != other


def test_split_keeps_one_image_each_side(tmp_path):
    for name in ["monarch", "viceroy"]:
        (tmp_path / name).mkdir()
        for index in range(2):
            save_noise(tmp_path / name / f"{index}.png", seed=index)

    train, validation = split_class_folders(tmp_path, 0.01, seed=0)

    assert len(train) == 2
    assert len(validation) == 2


def test_split_rejects_tiny_class(tmp_path):
    for name, count in [("monarch", 3), ("viceroy", 1)]:
        (tmp_path / name).mkdir()
        for index in range(count):
            save_noise(tmp_path / name / f"{index}.png", seed=index)

    with pytest.raises(ValueError, match="viceroy"):
        split_class_folders(tmp_path, 0.2, seed=0)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.2, True])
def test_split_rejects_bad_fraction(dataset, fraction):
    with pytest.raises(ValueError, match="validation_fraction"):
        split_class_folders(dataset, fraction, seed=0)


def test_iterator_from_split_files(dataset):
    train_files, validation_files = split_class_folders(dataset, 0.4, seed=1)

    train = make_iterator(dataset, files=train_files, shuffle=False)
    validation = make_iterator(dataset, files=validation_files, shuffle=False)

    # The truncated JPEG is listed by the split and dropped by whichever iterator
    # receives it.
    assert train.samples + validation.samples == 9
    assert set(train.filenames).isdisjoint(validation.filenames)
    assert train.class_indices == validation.class_indices
    for iterator in (train, validation):
        labels = [
            iterator.class_indices[f.split(os.sep)[0]] for f in iterator.filenames
        ]
        np.testing.assert_array_equal(iterator.classes, labels)


def test_iterator_on_real_photos():
    folder = butterfly_data()
    photo_count = sum(
        1
        for class_folder in folder.iterdir()
        if class_folder.is_dir() and not class_folder.name.startswith(".")
        for path in class_folder.rglob("*")
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"}
    )
    augmenter = ImageAugmenter(
        rotation_range=40,
        width_shift_range=0.2,
        height_shift_range=0.2,
        shear_range=0.2,
        zoom_range=0.2,
        horizontal_flip=True,
        rescale=1 / 255,
    )

    iterator = DirectoryIterator(folder, batch_size=64, seed=0, augmenter=augmenter)
    batches, x, y = collect_epoch(iterator)

    assert iterator.samples == photo_count
    assert len(batches) == len(iterator)
    assert x.shape == (photo_count, 75, 75, 3)
    assert x.min() >= 0.0
    assert x.max() <= 1.0
    assert set(np.unique(y)) == {0.0, 1.0}
