"""``split_dataset`` and ``python -m scraper split``."""

import warnings
from pathlib import Path

import pytest
from PIL import Image

from scraper import ScraperError, split_dataset
from scraper.cli import main


def make_source(root, counts, start=10_000):
    """Write small JPEGs named by id: ``counts`` maps class name -> photo count."""
    number = start
    for name, count in counts.items():
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            colour = (number % 256, number // 256 % 256, 90)
            Image.new("RGB", (8, 8), colour).save(folder / f"{number}.jpg")
            number += 1
    return Path(root)


def split_ids(dest, split, name):
    folder = Path(dest) / split / name
    return {path.stem for path in folder.iterdir()} if folder.is_dir() else set()


def all_files(root):
    return sorted(
        str(path.relative_to(root)) for path in Path(root).rglob("*") if path.is_file()
    )


def test_split_sizes_and_coverage(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 20, "viceroy": 11})

    summary = split_dataset(source, tmp_path / "data", validation=0.2, seed=3)

    for name, count in (("monarch", 20), ("viceroy", 11)):
        train = split_ids(tmp_path / "data", "train", name)
        validation = split_ids(tmp_path / "data", "validation", name)
        source_ids = {path.stem for path in (source / name).iterdir()}
        assert len(validation) == round(count * 0.2)
        assert train | validation == source_ids
        assert not train & validation
    counts = {item.name: (item.train, item.validation) for item in summary.classes}
    assert counts == {"monarch": (16, 4), "viceroy": (9, 2)}


def test_split_copies_bytes(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 5})

    split_dataset(source, tmp_path / "data", validation=0.4, seed=0)

    for path in (tmp_path / "data").rglob("*.jpg"):
        assert path.read_bytes() == (source / "monarch" / path.name).read_bytes()
    assert len(list((source / "monarch").iterdir())) == 5


def test_split_is_deterministic(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 30, "viceroy": 30})

    split_dataset(source, tmp_path / "a", seed=7)
    split_dataset(source, tmp_path / "b", seed=7)
    split_dataset(source, tmp_path / "c", seed=8)

    assert all_files(tmp_path / "a") == all_files(tmp_path / "b")
    assert all_files(tmp_path / "a") != all_files(tmp_path / "c")


def test_classes_shuffle_independently(tmp_path):
    # Two classes with ids in the same order must not get the same positions.
    source = tmp_path / "raw"
    for name in ("monarch", "viceroy"):
        make_source(source, {name: 30}, start=10_000 if name == "monarch" else 20_000)

    split_dataset(source, tmp_path / "data", seed=1)

    def positions(name, offset):
        ids = split_ids(tmp_path / "data", "validation", name)
        return {int(identifier) - offset for identifier in ids}

    assert positions("monarch", 10_000) != positions("viceroy", 20_000)


def test_rerun_copies_nothing(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 12, "viceroy": 9})
    split_dataset(source, tmp_path / "data", seed=2)
    before = all_files(tmp_path / "data")

    summary = split_dataset(source, tmp_path / "data", seed=2)

    assert all_files(tmp_path / "data") == before
    assert [item.copied for item in summary.classes] == [0, 0]


def test_rerun_with_new_photos(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 10})
    split_dataset(source, tmp_path / "data", seed=4)
    train_before = split_ids(tmp_path / "data", "train", "monarch")
    validation_before = split_ids(tmp_path / "data", "validation", "monarch")
    make_source(source, {"monarch": 10}, start=50_000)

    summary = split_dataset(source, tmp_path / "data", seed=4)

    train = split_ids(tmp_path / "data", "train", "monarch")
    validation = split_ids(tmp_path / "data", "validation", "monarch")
    assert train_before <= train
    assert validation_before <= validation
    assert len(validation) == 4
    assert not train & validation
    assert summary.classes[0].copied == 10


def test_rerun_keeps_photos_gone_from_source(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 10})
    split_dataset(source, tmp_path / "data", seed=4)
    removed = sorted((source / "monarch").iterdir())[0]
    removed.unlink()

    summary = split_dataset(source, tmp_path / "data", seed=4)

    placed = {path.name for path in (tmp_path / "data").rglob("*.jpg")}
    assert removed.name in placed
    assert summary.classes[0].train + summary.classes[0].validation == 10


def test_warning_for_empty_validation(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 10, "rare": 2})

    with pytest.warns(UserWarning, match="Class 'rare' has no validation photo"):
        split_dataset(source, tmp_path / "data", validation=0.2)

    assert len(split_ids(tmp_path / "data", "train", "rare")) == 2


def test_rerun_with_other_fraction_warns(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 7, "viceroy": 10})
    dest = tmp_path / "data"
    split_dataset(source, dest, validation=0.5)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = split_dataset(source, dest, validation=0.2)

    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1, messages
    assert f"{dest} was split with another validation fraction" in messages[0]
    assert "monarch: 4 of 7 photos in validation/, 1 requested" in messages[0]
    assert "viceroy: 5 of 10 photos in validation/, 2 requested" in messages[0]
    assert "choose a new destination folder" in messages[0]
    assert [item.copied for item in summary.classes] == [0, 0]


def test_rerun_after_zero_fraction_warns(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 7})
    dest = tmp_path / "data"
    with pytest.warns(UserWarning, match="has no validation photo"):
        split_dataset(source, dest, validation=0.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        split_dataset(source, dest, validation=0.2)

    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1, messages
    assert "monarch: 0 of 7 photos in validation/, 1 requested" in messages[0]
    assert "change --validation" not in messages[0]


def test_unreadable_source_file_is_not_copied(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 5})
    text_file = source / "monarch" / "1.jpg"
    text_file.write_text("not an image\n")
    whole = (source / "monarch" / "10000.jpg").read_bytes()
    truncated = source / "monarch" / "2.jpg"
    truncated.write_bytes(whole[: len(whole) // 2])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = split_dataset(source, tmp_path / "data")

    messages = [str(warning.message) for warning in caught]
    for path in (text_file, truncated):
        naming = [message for message in messages if str(path) in message]
        assert len(naming) == 1, messages
        assert "not a readable image" in naming[0]
    copied = {path.name for path in (tmp_path / "data").rglob("*.jpg")}
    assert "1.jpg" not in copied
    assert "2.jpg" not in copied
    assert len(copied) == 5
    assert summary.classes[0].unreadable == 2
    assert "2 unreadable left out" in summary.format()


def test_no_warning_when_balanced(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 10, "viceroy": 5})

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split_dataset(source, tmp_path / "data", validation=0.2)


def test_id_in_two_source_classes(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 3})
    (source / "viceroy").mkdir()
    (source / "viceroy" / "10001.jpg").write_bytes(b"x")

    with pytest.raises(ScraperError, match="10001 is in both 'monarch' and 'viceroy'"):
        split_dataset(source, tmp_path / "data")

    assert not (tmp_path / "data").exists()


def test_id_in_both_dest_splits(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 5})
    split_dataset(source, tmp_path / "data", validation=0.4)
    moved = next((tmp_path / "data" / "validation" / "monarch").iterdir())
    copy = tmp_path / "data" / "train" / "monarch" / moved.name
    copy.write_bytes(moved.read_bytes())

    with pytest.raises(ScraperError, match="is in both train/monarch and validation"):
        split_dataset(source, tmp_path / "data", validation=0.4)


def test_id_moved_to_other_class(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 4, "viceroy": 4})
    split_dataset(source, tmp_path / "data", validation=0.25)
    photo = sorted((source / "monarch").iterdir())[0]
    photo.rename(source / "viceroy" / photo.name)

    with pytest.raises(ScraperError, match="is in class 'viceroy'.*but in class"):
        split_dataset(source, tmp_path / "data", validation=0.25)


def test_partial_copy_is_removed(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 5})
    split_dataset(source, tmp_path / "data")
    leftover = tmp_path / "data" / "train" / "monarch" / ".copy-0123.part"
    leftover.write_bytes(b"half a photo")

    split_dataset(source, tmp_path / "data")

    assert not leftover.exists()


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"validation": 1.0}, ValueError, r"in \[0\.0, 1\.0\)\. Received validation"),
        ({"validation": -0.1}, ValueError, r"Received validation=-0\.1"),
        ({"validation": "0.2"}, TypeError, r"argument `validation`\. Expected a"),
        ({"seed": 1.5}, TypeError, r"argument `seed`\. Expected an int"),
    ],
)
def test_split_argument_errors(tmp_path, options, error, pattern):
    source = make_source(tmp_path / "raw", {"monarch": 3})

    with pytest.raises(error, match=pattern):
        split_dataset(source, tmp_path / "data", **options)

    assert not (tmp_path / "data").exists()


def test_dest_inside_source(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 3})

    with pytest.raises(ValueError, match="argument `dest`.*nor is inside the source"):
        split_dataset(source, source / "split")
    with pytest.raises(ValueError, match="argument `dest`"):
        split_dataset(source, source)


def test_source_without_classes(tmp_path):
    (tmp_path / "raw").mkdir()

    with pytest.raises(ScraperError, match="No class folder found"):
        split_dataset(tmp_path / "raw", tmp_path / "data")


def test_hidden_folders_are_not_classes(tmp_path):
    source = make_source(tmp_path / "raw", {"monarch": 5})
    (source / ".partial").mkdir()
    (source / ".partial" / "1.jpg").write_bytes(b"partial")
    (source / "attribution.csv").write_text("photo_id\n")

    summary = split_dataset(source, tmp_path / "data")

    assert [item.name for item in summary.classes] == ["monarch"]


def test_cli_split(tmp_path, capsys):
    source = make_source(tmp_path / "raw", {"monarch": 10, "viceroy": 10})
    dest = tmp_path / "data"

    status = main(["split", str(source), str(dest), "--validation", "0.3"])

    output = capsys.readouterr().out
    assert status == 0
    assert "monarch: 7 train, 3 validation (10 copied by this run)" in output
    assert len(split_ids(dest, "validation", "viceroy")) == 3


def test_cli_split_reports_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()

    status = main(["split", str(tmp_path / "empty"), str(tmp_path / "data")])

    error = capsys.readouterr().err
    assert status == 1
    assert error.strip().endswith(
        "No class folder found in " + str(tmp_path / "empty") + "."
    )


def test_cli_split_missing_source(tmp_path, capsys):
    status = main(["split", str(tmp_path / "absent"), str(tmp_path / "data")])

    error = capsys.readouterr().err
    assert status == 2
    assert error.strip().endswith(
        "Source folder " + str(tmp_path / "absent") + " does not exist."
    )
    assert not (tmp_path / "data").exists()
