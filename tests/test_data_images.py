"""`load_image`: colour modes, resizing, EXIF orientation and unreadable files.

The expected pixels are written out by hand from how Keras's `load_img` works: Pillow's
``convert('RGB')`` for any other mode, then a nearest-neighbour resize.
"""

import numpy as np
import pytest
from PIL import Image

from convnet_from_scratch.data import UnreadableImageError, load_image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_load_image_rgb_dtype_and_values(tmp_path):
    pixels = np.array([[RED, GREEN], [BLUE, (10, 20, 30)]], dtype=np.uint8)
    path = tmp_path / "rgb.png"
    Image.fromarray(pixels).save(path)

    image = load_image(path, (2, 2))

    assert image.dtype == np.float32
    assert image.shape == (2, 2, 3)
    np.testing.assert_array_equal(image, pixels.astype(np.float32))


def test_load_image_rgba_drops_alpha(tmp_path):
    # Keras converts with Pillow's convert('RGB'), which discards alpha without
    # blending, so a fully transparent pixel keeps its stored colour.
    pixels = np.array([[(200, 100, 50, 0), (1, 2, 3, 255)]], dtype=np.uint8)
    path = tmp_path / "rgba.png"
    Image.fromarray(pixels, "RGBA").save(path)

    image = load_image(path, (1, 2))

    assert image.shape == (1, 2, 3)
    np.testing.assert_array_equal(image[0, 0], [200, 100, 50])
    np.testing.assert_array_equal(image[0, 1], [1, 2, 3])


def test_load_image_palette_with_transparency(tmp_path):
    # Palette entry 0 is red and marked transparent, entry 1 is blue. The
    # transparent pixel still loads as red, because transparency is dropped.
    palette_image = Image.fromarray(np.array([[0, 1, 1]], dtype=np.uint8), "P")
    palette_image.putpalette([*RED, *BLUE] + [0] * (3 * 254))
    path = tmp_path / "palette.png"
    palette_image.save(path, transparency=0)
    with Image.open(path) as stored_image:
        assert stored_image.mode == "P"

    image = load_image(path, (1, 3))

    np.testing.assert_array_equal(image[0], [RED, BLUE, BLUE])


@pytest.mark.parametrize(
    ("mode", "stored", "expected"),
    [
        # 8-bit greyscale is copied to the three channels.
        ("L", np.array([[0, 77, 255]], dtype=np.uint8), [0, 77, 255]),
        # 16-bit greyscale saturates at 255 in Pillow's conversion, as in Keras.
        ("I;16", np.array([[100, 255, 300]], dtype=np.uint16), [100, 255, 255]),
    ],
)
def test_load_image_greyscale_modes(tmp_path, mode, stored, expected):
    path = tmp_path / "grey.png"
    Image.fromarray(stored).save(path)
    with Image.open(path) as stored_image:
        assert stored_image.mode == mode

    image = load_image(path, (1, 3))

    assert image.shape == (1, 3, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[0, :, channel], expected)


def test_load_image_greyscale_with_alpha(tmp_path):
    grey = Image.fromarray(np.array([[40, 90]], dtype=np.uint8))
    alpha = Image.fromarray(np.array([[0, 255]], dtype=np.uint8))
    path = tmp_path / "la.png"
    Image.merge("LA", [grey, alpha]).save(path)

    image = load_image(path, (1, 2))

    np.testing.assert_array_equal(image[0], [[40, 40, 40], [90, 90, 90]])


def test_load_image_cmyk(tmp_path):
    # Pillow maps CMYK to RGB as 255 - C (and so on) when K is 0: no ink is
    # white and full cyan ink is (0, 255, 255).
    cmyk = np.array([[(0, 0, 0, 0), (255, 0, 0, 0)]], dtype=np.uint8)
    path = tmp_path / "cmyk.tif"
    Image.fromarray(cmyk, "CMYK").save(path)

    image = load_image(path, (1, 2))

    np.testing.assert_array_equal(image[0], [[255, 255, 255], [0, 255, 255]])


def test_load_image_cmyk_jpeg_shape(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (9, 7), (10, 20, 30, 0)).save(path)
    with Image.open(path) as stored_image:
        assert stored_image.mode == "CMYK"

    image = load_image(path, (5, 4))

    assert image.shape == (5, 4, 3)
    assert image.dtype == np.float32


def test_load_image_nearest_upscale(tmp_path):
    # Doubling with nearest neighbour repeats each pixel in a 2x2 block.
    path = tmp_path / "small.png"
    Image.fromarray(np.array([[0, 50], [100, 150]], dtype=np.uint8)).save(path)

    image = load_image(path, (4, 4))

    expected = [[0, 0, 50, 50], [0, 0, 50, 50], [100, 100, 150, 150]]
    expected.append([100, 100, 150, 150])
    np.testing.assert_array_equal(image[..., 0], expected)


def test_load_image_nearest_downscale(tmp_path):
    # Halving samples source index (i + 0.5) * 2 = 1 and 3 on each axis.
    stored = (np.arange(16).reshape(4, 4) * 10).astype(np.uint8)
    path = tmp_path / "large.png"
    Image.fromarray(stored).save(path)

    image = load_image(path, (2, 2))

    np.testing.assert_array_equal(image[..., 0], [[50, 70], [130, 150]])


def test_load_image_target_size_is_height_width(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (30, 10)).save(path)

    assert load_image(path, (6, 8)).shape == (6, 8, 3)
    assert load_image(path, None).shape == (10, 30, 3)


def test_load_image_ignores_exif_orientation(tmp_path):
    # Stored 4 rows x 8 columns, left half red and right half blue, tagged
    # "rotate 90 degrees clockwise to display" (orientation 6). Keras does not
    # apply the tag, so the stored layout comes back unchanged.
    stored = np.zeros((4, 8, 3), dtype=np.uint8)
    stored[:, :4] = RED
    stored[:, 4:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "tagged.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=100, subsampling=0)

    image = load_image(path, None)

    assert image.shape == (4, 8, 3)
    assert image[:, :3, 0].min() > 200
    assert image[:, :3, 2].max() < 50
    assert image[:, 5:, 2].min() > 200
    assert image[:, 5:, 0].max() < 50


def test_load_image_truncated_jpeg_raises(tmp_path):
    whole = tmp_path / "whole.jpg"
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(whole, quality=95)
    data = whole.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: int(len(data) * 0.6)])

    with pytest.raises(UnreadableImageError, match="cut.jpg") as caught:
        load_image(cut, (8, 8))
    assert caught.value.path == str(cut)
    assert "truncated" in str(caught.value)


def test_load_image_not_an_image_raises(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are field notes, not a photo")

    with pytest.raises(UnreadableImageError, match="notes.jpg"):
        load_image(path, (8, 8))


def test_load_image_missing_file_raises(tmp_path):
    with pytest.raises(UnreadableImageError, match="absent.png"):
        load_image(tmp_path / "absent.png", (8, 8))


def test_unreadable_image_error_is_value_error():
    assert issubclass(UnreadableImageError, ValueError)


@pytest.mark.parametrize("target_size", [(0, 5), (5,), "75x75", (5.0, 5), (True, 5)])
def test_load_image_rejects_bad_target_size(tmp_path, target_size):
    path = tmp_path / "ok.png"
    Image.new("RGB", (4, 4)).save(path)

    with pytest.raises(ValueError, match="target_size"):
        load_image(path, target_size)
