"""Pictures: valid PNGs of the stated size, and the numbers behind them."""

import json

import numpy as np
import pytest
from PIL import Image

from convnet_from_scratch import cli, figures, reference
from convnet_from_scratch.blog_model import (
    BLOG_AUGMENTATION,
    BLOG_RESCALE,
    build_blog_model,
)
from convnet_from_scratch.data import ImageAugmenter, load_image

from photos import butterfly_data, link_subset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGE_SIZE = 24


def pixel_size(size_in_inches):
    return (
        round(size_in_inches[0] * figures.DPI),
        round(size_in_inches[1] * figures.DPI),
    )


def assert_png(path, size_in_inches=None):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        if size_in_inches is not None:
            assert image.size == pixel_size(size_in_inches)


def first_photo():
    folder = sorted(p for p in butterfly_data().iterdir() if p.is_dir())[0]
    return sorted(folder.glob("*.jpg"))[0]


def run(capsys, *argv):
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def small_model():
    model = build_blog_model(IMAGE_SIZE, seed=5)
    model.class_names = sorted(p.name for p in butterfly_data().iterdir() if p.is_dir())
    return model


# Augmentation preview


def test_augmentation_preview_files(tmp_path):
    image = load_image(first_photo(), (48, 48))
    results = figures.augmentation_preview(image, tmp_path, count=3, seed=1)
    assert list(results) == list(figures.PREVIEW_TRANSFORMS)
    for name in results:
        assert_png(tmp_path / f"augment_{name}.png", figures.AUGMENT_SIZE)


def test_augmentation_preview_one_transform_each(tmp_path):
    image = load_image(first_photo(), (48, 48))
    results = figures.augmentation_preview(image, tmp_path, count=4, seed=2)
    identity = {"theta": 0, "tx": 0, "ty": 0, "shear": 0, "zx": 1, "zy": 1}
    changed_keys = {
        "rotation": {"theta"},
        "width_shift": {"tx"},
        "height_shift": {"ty"},
        "shear": {"shear"},
        "zoom": {"zx", "zy"},
        "horizontal_flip": set(),
    }
    for name, keys in changed_keys.items():
        drawn, _ = results[name]
        for params in drawn:
            for key, neutral in identity.items():
                if key not in keys:
                    assert params.get(key, neutral) == neutral, (name, key)
    # Rotation angles stay within the blog's range of 40 degrees.
    angles = [p["theta"] for p in results["rotation"][0]]
    assert all(abs(a) <= BLOG_AUGMENTATION["rotation_range"] for a in angles)
    assert any(a != 0 for a in angles)
    # The width shift is at most 20% of 48 pixels.
    shifts = [p["tx"] for p in results["width_shift"][0]]
    assert all(abs(t) <= 0.2 * 48 for t in shifts)


def test_augmentation_preview_images_match_augmenter(tmp_path):
    image = load_image(first_photo(), (40, 40))
    results = figures.augmentation_preview(image, tmp_path, count=3, seed=4)
    drawn, images = results["combined"]
    augmenter = ImageAugmenter(**BLOG_AUGMENTATION)
    for params, shown in zip(drawn, images, strict=True):
        np.testing.assert_array_equal(shown, augmenter.apply_transform(image, params))
        assert not np.array_equal(shown, image)
    # Drawn again from the same seed, the combined parameters are the same.
    rng = np.random.default_rng(4)
    again = [augmenter.random_transform(image.shape, rng) for _ in range(3)]
    assert again == drawn


def test_augmentation_preview_seed_repeats(tmp_path):
    image = load_image(first_photo(), (32, 32))
    first = figures.augmentation_preview(image, tmp_path / "a", count=2, seed=7)
    second = figures.augmentation_preview(image, tmp_path / "b", count=2, seed=7)
    for name in first:
        assert first[name][0] == second[name][0]
        np.testing.assert_array_equal(first[name][1], second[name][1])


def test_augment_preview_command(capsys, tmp_path):
    status, out, err = run(
        capsys, "augment-preview", first_photo(), "--out", tmp_path,
        "--image-size", "32", "--count", "2",
    )  # fmt: skip
    assert status == 0
    assert err == ""
    assert len(out.splitlines()) == len(figures.PREVIEW_TRANSFORMS)
    assert_png(tmp_path / "augment_combined.png", figures.AUGMENT_SIZE)


def test_augment_preview_rejects_count(capsys, tmp_path):
    status, out, err = run(
        capsys, "augment-preview", first_photo(), "--out", tmp_path, "--count", "16"
    )
    assert status == 2
    assert "Expected 1 to 15" in err
    assert not list(tmp_path.iterdir())


# Filters


def test_filters_tiles_scaled_per_filter(tmp_path, small_model):
    path = tmp_path / "filters.png"
    tiles = figures.plot_filters(small_model, path)
    assert_png(path, figures.FILTERS_SIZE)
    kernel = small_model.layers[0].params["kernel"]
    assert tiles.shape == (32, 2, 2, 3)
    for index in range(32):
        weights = kernel[..., index].astype(np.float64)
        expected = (weights - weights.min()) / (weights.max() - weights.min())
        np.testing.assert_allclose(tiles[index], expected, rtol=1e-12)
        assert tiles[index].min() == 0.0
        assert tiles[index].max() == 1.0


def test_filter_tiles_constant_filter():
    kernel = np.ones((2, 2, 3, 2))
    kernel[..., 1] = np.arange(12).reshape(2, 2, 3)
    tiles = figures.filter_tiles(kernel)
    np.testing.assert_array_equal(tiles[0], np.full((2, 2, 3), 0.5))
    np.testing.assert_allclose(tiles[1], np.arange(12).reshape(2, 2, 3) / 11)


def test_filters_command(capsys, tmp_path, small_model):
    small_model.save(tmp_path / "model.npz")
    status, out, _ = run(
        capsys, "filters", tmp_path / "model.npz", "--out", tmp_path / "f.png"
    )
    assert status == 0
    assert "32 filters" in out
    assert_png(tmp_path / "f.png", figures.FILTERS_SIZE)


def test_filters_command_rejects_suffix(capsys, tmp_path, small_model):
    small_model.save(tmp_path / "model.npz")
    status, _, err = run(
        capsys, "filters", tmp_path / "model.npz", "--out", tmp_path / "f.jpg"
    )
    assert status == 2
    assert "Expected a file ending in .png" in err
    assert len(err.splitlines()) == 1


# Feature maps


def test_feature_maps_follow_layers(tmp_path, small_model):
    image = load_image(first_photo(), (IMAGE_SIZE, IMAGE_SIZE)) * BLOG_RESCALE
    outputs = figures.feature_maps(small_model, image, tmp_path, channels=9)
    assert [name for name, _ in outputs] == [layer.name for layer in small_model.layers]

    # The first layer's maps are a 'same' convolution: one zero row and column
    # after the image, none before (TensorFlow's rule for a 2x2 kernel).
    conv = small_model.layers[0]
    expected = reference.conv2d_forward(
        image[np.newaxis].astype(np.float32),
        conv.params["kernel"],
        conv.params["bias"],
        (1, 1),
        (0, 1, 0, 1),
    )
    np.testing.assert_allclose(outputs[0][1], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs[1][1], np.maximum(outputs[0][1], 0))
    np.testing.assert_allclose(
        outputs[-1][1], small_model.predict(image[np.newaxis]), rtol=1e-6
    )

    spatial = [
        (index, name)
        for index, (name, output) in enumerate(outputs, start=1)
        if output.ndim == 4
    ]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [f"{index:02d}_{name}.png" for index, name in spatial]
    for name in written:
        assert_png(tmp_path / name, figures.FEATURE_MAPS_SIZE)


def test_feature_maps_command(capsys, tmp_path, small_model):
    small_model.save(tmp_path / "model.npz")
    status, out, _ = run(
        capsys, "feature-maps", tmp_path / "model.npz", first_photo(),
        "--out", tmp_path / "maps",
    )  # fmt: skip
    assert status == 0
    image = load_image(first_photo(), (IMAGE_SIZE, IMAGE_SIZE)) * BLOG_RESCALE
    probability = small_model.predict(image[np.newaxis])[0, 0]
    assert f"p({small_model.class_names[1]}) = {probability:.4f}" in out
    assert len(list((tmp_path / "maps").glob("*.png"))) == 6


def test_feature_maps_command_missing_photo(capsys, tmp_path, small_model):
    small_model.save(tmp_path / "model.npz")
    status, _, err = run(
        capsys, "feature-maps", tmp_path / "model.npz", tmp_path / "none.jpg",
        "--out", tmp_path / "maps",
    )  # fmt: skip
    assert status == 2
    assert "none.jpg" in err


# Learning curves


def write_history(folder, engine, accuracies):
    folder.mkdir()
    history = {
        "loss": [1.0 - a for a in accuracies],
        "accuracy": accuracies,
        "val_loss": [1.1 - a for a in accuracies],
        "val_accuracy": [a - 0.05 for a in accuracies],
        "meta": {"engine": engine},
    }
    (folder / "history.json").write_text(json.dumps(history))
    return folder


def test_learning_curves_both_engines(capsys, tmp_path):
    ours = write_history(tmp_path / "ours", "convnet_from_scratch", [0.5, 0.6, 0.7])
    keras = write_history(tmp_path / "keras", "keras_reference", [0.55, 0.65, 0.72])
    path = tmp_path / "curves.png"
    status, out, _ = run(capsys, "curves", ours, keras / "history.json", "--out", path)
    assert status == 0
    assert_png(path)
    assert "convnet_from_scratch: 3 epochs, final val_accuracy 0.6500" in out
    assert "keras_reference: 3 epochs, final val_accuracy 0.6700" in out


def test_learning_curves_same_engine_twice(tmp_path):
    first = write_history(tmp_path / "run1", "keras_reference", [0.5])
    second = write_history(tmp_path / "run2", "keras_reference", [0.6])
    histories = figures.compare_learning_curves([first, second], tmp_path / "c.png")
    assert list(histories) == ["keras_reference", "keras_reference (run2)"]
    assert histories["keras_reference (run2)"]["accuracy"] == [0.6]
    assert "meta" not in histories["keras_reference"]


def test_learning_curves_missing_history(capsys, tmp_path):
    status, _, err = run(capsys, "curves", tmp_path, "--out", tmp_path / "c.png")
    assert status == 2
    assert "History file not found" in err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[]", "expected a JSON object"),
        ('{"loss": "x", "accuracy": [0.5]}', '"loss" must be a list of numbers'),
        ('{"loss": [0.7], "accuracy": [null]}', '"accuracy" has null at epoch 1'),
        ('{"loss": [0.7, true]}', '"loss" has true at epoch 2'),
        ('{"loss": [], "val_loss": []}', "no values for any of loss"),
        ('{"loss": [0.7], "meta": 3}', '"meta" must be a JSON object'),
    ],
)
def test_learning_curves_malformed_history(capsys, tmp_path, content, problem):
    history = tmp_path / "history.json"
    history.write_text(content)
    status, out, err = run(capsys, "curves", tmp_path, "--out", tmp_path / "c.png")
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert f"Invalid history file {history}: {problem}" in err
    assert not (tmp_path / "c.png").exists()


def test_learning_curves_without_validation(capsys, tmp_path):
    (tmp_path / "history.json").write_text(
        '{"loss": [0.7, 0.6], "accuracy": [0.5, 0.6]}'
    )
    path = tmp_path / "c.png"
    status, out, _ = run(capsys, "curves", tmp_path, "--out", path)
    assert status == 0
    assert_png(path)
    assert "2 epochs, no val_accuracy recorded" in out
    assert "nan" not in out


# Confusion matrix and misclassified photos


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    return link_subset(tmp_path_factory.mktemp("photos"), per_class=10)


def test_confusion_counts_match_hand_count(capsys, tmp_path, small_model, subset):
    small_model.save(tmp_path / "model.npz")
    out_dir = tmp_path / "confusion"
    status, out, err = run(
        capsys, "confusion", tmp_path / "model.npz", subset, "--out", out_dir
    )
    assert status == 0
    assert_png(out_dir / "confusion.png", figures.CONFUSION_SIZE)
    assert_png(out_dir / "misclassified.png", figures.MISCLASSIFIED_SIZE)

    # The same split as train's defaults (seed 0, 20%), predicted photo by photo.
    split = cli.build_parser().parse_args(["train", str(subset), "--out", "unused"])
    split.image_size = IMAGE_SIZE
    _, validation = cli.make_iterators(split, augment=False)
    counts = {(t, p): 0 for t in (0, 1) for p in (0, 1)}
    for path, label in zip(validation.filepaths, validation.classes, strict=True):
        image = load_image(path, (IMAGE_SIZE, IMAGE_SIZE)) * BLOG_RESCALE
        probability = small_model.predict(image[np.newaxis])[0, 0]
        counts[(int(label), int(probability > 0.5))] += 1

    names = small_model.class_names
    rows = [line.split() for line in out.splitlines() if line.split()[0] in names]
    assert rows == [
        [names[0], str(counts[(0, 0)]), str(counts[(0, 1)])],
        [names[1], str(counts[(1, 0)]), str(counts[(1, 1)])],
    ]
    wrong = counts[(0, 1)] + counts[(1, 0)]
    assert f"on {validation.samples} images, {wrong} misclassified" in out


def test_evaluate_images_order_and_matrix(small_model, subset):
    from convnet_from_scratch.data import DirectoryIterator

    iterator = DirectoryIterator(
        subset,
        target_size=(IMAGE_SIZE, IMAGE_SIZE),
        batch_size=7,
        shuffle=False,
        augmenter=ImageAugmenter(rescale=BLOG_RESCALE),
    )
    evaluation = figures.evaluate_images(small_model, iterator)
    assert evaluation.matrix.sum() == iterator.samples == 20
    for index, path in enumerate(evaluation.paths):
        image = load_image(path, (IMAGE_SIZE, IMAGE_SIZE)) * BLOG_RESCALE
        expected = small_model.predict(image[np.newaxis])[0, 0]
        assert evaluation.probabilities[index] == pytest.approx(expected, rel=1e-6)
    for true in (0, 1):
        for predicted in (0, 1):
            hand = sum(
                1
                for label, guess in zip(
                    evaluation.labels, evaluation.predicted, strict=True
                )
                if label == true and guess == predicted
            )
            assert evaluation.matrix[true, predicted] == hand
    expected_wrong = [
        i
        for i, (label, guess) in enumerate(
            zip(evaluation.labels, evaluation.predicted, strict=True)
        )
        if label != guess
    ]
    assert list(evaluation.misclassified) == expected_wrong


def test_evaluate_images_rejects_shuffle(small_model, subset):
    from convnet_from_scratch.data import DirectoryIterator

    iterator = DirectoryIterator(
        subset, target_size=(IMAGE_SIZE, IMAGE_SIZE), shuffle=True, seed=0
    )
    with pytest.raises(ValueError, match="shuffle=False"):
        figures.evaluate_images(small_model, iterator)


def test_misclassified_most_confident_first(tmp_path):
    probabilities = np.array([0.9, 0.2, 0.6, 0.45, 0.99, 0.15])
    labels = np.array([0, 0, 1, 1, 0, 1])
    photos = [str(first_photo())] * 6
    evaluation = figures.Evaluation(
        matrix=np.zeros((2, 2), dtype=int),
        probabilities=probabilities,
        labels=labels,
        paths=photos,
        class_names=["a", "b"],
    )
    # Wrong, with the distance from 0.5: 0 (0.4), 3 (0.05), 4 (0.49), 5 (0.35).
    shown = figures.plot_misclassified(evaluation, tmp_path / "m.png", limit=3)
    assert shown == [4, 0, 5]
    assert_png(tmp_path / "m.png", figures.MISCLASSIFIED_SIZE)


def test_misclassified_none(tmp_path):
    evaluation = figures.Evaluation(
        matrix=np.array([[1, 0], [0, 1]]),
        probabilities=np.array([0.2, 0.8]),
        labels=np.array([0, 1]),
        paths=[str(first_photo())] * 2,
        class_names=["a", "b"],
    )
    assert figures.plot_misclassified(evaluation, tmp_path / "m.png") == []
    assert_png(tmp_path / "m.png", figures.MISCLASSIFIED_SIZE)


def test_confusion_command_missing_data(capsys, tmp_path, small_model):
    small_model.save(tmp_path / "model.npz")
    status, _, err = run(
        capsys, "confusion", tmp_path / "model.npz", tmp_path / "nothing",
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert status == 2
    assert "Data folder not found" in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--validation-fraction", "1.5", "expected a value in (0, 1), got 1.5"),
        ("--validation-fraction", "0", "expected a value in (0, 1), got 0.0"),
        ("--batch-size", "0", "expected a positive int, got 0"),
    ],
)
def test_confusion_rejects_bad_options(
    capsys, tmp_path, small_model, option, value, message
):
    small_model.save(tmp_path / "model.npz")
    with pytest.raises(SystemExit) as raised:
        cli.main(
            [
                "confusion",
                str(tmp_path / "model.npz"),
                str(tmp_path),
                "--out",
                str(tmp_path / "out"),
                option,
                value,
            ]
        )
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {message}" in err
