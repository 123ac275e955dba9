"""`fold_class_folders`: the stratified, seeded k-fold split of a class-folder tree.

The trees are empty ``.jpg`` files in ``tmp_path``: listing looks at names only.
"""

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convnet_from_scratch.cli import CommandError, split_files
from convnet_from_scratch.data import fold_class_folders, list_class_files


def make_tree(root: Path, sizes: dict[str, int]) -> Path:
    """Create one folder per class with ``sizes[name]`` empty JPEG files in it."""
    for name, count in sizes.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            (folder / f"{index:03d}.jpg").touch()
    # Clutter that must not become a class or an image.
    (root / ".ipynb_checkpoints").mkdir(exist_ok=True)
    (root / next(iter(sizes)) / ".DS_Store").touch()
    return root


def all_folds(root: Path, folds: int, seed: int) -> list[tuple[list[str], list[str]]]:
    return [fold_class_folders(root, folds, fold, seed) for fold in range(folds)]


def class_of(path: str) -> str:
    return Path(path).parts[0]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(5, 40), min_size=2, max_size=3),
    folds=st.integers(2, 5),
    seed=st.integers(0, 2**16),
)
def test_folds_partition_every_class(tmp_path_factory, sizes, folds, seed):
    sizes = {f"class_{i}": n for i, n in enumerate(sizes)}
    root = make_tree(tmp_path_factory.mktemp("tree"), sizes)
    everything = sorted(f for name in sizes for f in list_class_files(root, name))
    splits = all_folds(root, folds, seed)

    validated = [f for _, validation in splits for f in validation]
    assert sorted(validated) == everything, "each image is validated exactly once"
    for train, validation in splits:
        assert not set(train) & set(validation), "a fold's lists overlap"
        assert sorted(train + validation) == everything

    for name, size in sizes.items():
        per_fold = [
            sum(class_of(f) == name for f in validation) for _, validation in splits
        ]
        assert max(per_fold) - min(per_fold) <= 1, f"{name} per fold: {per_fold}"
        assert sum(per_fold) == size
    totals = [len(validation) for _, validation in splits]
    assert max(totals) - min(totals) <= 1, f"fold sizes {totals}"


def test_folds_are_deterministic(tmp_path):
    root = make_tree(tmp_path, {"monarch": 23, "viceroy": 17})

    first = all_folds(root, 5, seed=3)
    second = all_folds(root, 5, seed=3)
    other = all_folds(root, 5, seed=4)

    assert first == second
    assert first != other


def test_folds_keep_listing_order(tmp_path):
    root = make_tree(tmp_path, {"monarch": 12, "viceroy": 9})
    order = {f: i for i, f in enumerate(list_class_files(root, "monarch"))}
    order.update(
        {f: len(order) + i for i, f in enumerate(list_class_files(root, "viceroy"))}
    )

    train, validation = fold_class_folders(root, 3, 1, seed=0)

    assert train == sorted(train, key=order.__getitem__)
    assert validation == sorted(validation, key=order.__getitem__)


def test_folds_of_real_sizes_are_balanced(tmp_path):
    # The monarch/viceroy folder's class sizes: 161 and 129 photos.
    root = make_tree(tmp_path, {"danaus_plexippus": 161, "limenitis_archippus": 129})

    splits = all_folds(root, 5, seed=0)

    counts = [Counter(class_of(f) for f in validation) for _, validation in splits]
    assert sorted(c["danaus_plexippus"] for c in counts) == [32, 32, 32, 32, 33]
    assert sorted(c["limenitis_archippus"] for c in counts) == [25, 26, 26, 26, 26]
    assert [sum(c.values()) for c in counts] == [58, 58, 58, 58, 58]


@pytest.mark.parametrize(
    ("folds", "fold", "message"),
    [
        (1, 0, r"`folds`. Expected an int of at least 2. Received folds=1"),
        (True, 0, r"Received folds=True"),
        (5.0, 0, r"Received folds=5.0"),
        (5, 5, r"`fold`. Expected an int from 0 to 4. Received fold=5"),
        (5, -1, r"Received fold=-1"),
        (3, "0", r"Received fold='0'"),
    ],
)
def test_folds_reject_bad_arguments(tmp_path, folds, fold, message):
    root = make_tree(tmp_path, {"a": 6, "b": 6})
    with pytest.raises(ValueError, match=message):
        fold_class_folders(root, folds, fold)


def test_folds_reject_class_smaller_than_k(tmp_path):
    root = make_tree(tmp_path, {"a": 6, "b": 3})
    with pytest.raises(ValueError, match=r"class 'b' .* into 4 folds: it has 3"):
        fold_class_folders(root, 4, 0)


@pytest.mark.parametrize(
    ("folds", "fold", "message"),
    [
        (5, None, "--folds and --fold must be given together"),
        (None, 2, "--folds and --fold must be given together"),
        (3, 3, r"--fold from 0 to --folds minus 1. Received --folds 3 --fold 3"),
        (1, 0, r"--folds must be at least 2"),
    ],
)
def test_split_files_rejects_bad_fold_options(tmp_path, folds, fold, message):
    root = make_tree(tmp_path, {"a": 6, "b": 6})
    with pytest.raises(CommandError, match=message):
        split_files(root, 0.2, 0, folds, fold)


def test_split_files_rejects_folds_of_split_tree(tmp_path):
    make_tree(tmp_path / "train", {"a": 6, "b": 6})
    make_tree(tmp_path / "validation", {"a": 2, "b": 2})
    with pytest.raises(CommandError, match="already split into train/ and validation/"):
        split_files(tmp_path, 0.2, 0, 3, 0)


def test_keras_split_links_the_same_fold(tmp_path):
    from keras_reference.train import split_folders

    root = make_tree(tmp_path / "photos", {"monarch": 11, "viceroy": 8})
    expected = fold_class_folders(root, 4, 2, seed=9)

    with split_folders(root, 0.2, 9, folds=4, fold=2) as (train_dir, validation_dir):
        linked = [
            sorted(str(p.relative_to(folder)) for p in folder.rglob("*.jpg"))
            for folder in (train_dir, validation_dir)
        ]

    assert linked == [sorted(files) for files in expected]
