"""Where the tests find real butterfly photos, and small subsets of them."""

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def butterfly_data() -> Path:
    """Return the folder named by BUTTERFLY_DATA, or the shared monarch/viceroy set.

    Raises instead of skipping when neither exists, because a test that needs real
    photos proves nothing without them.
    """
    folder = Path(
        os.environ.get(
            "BUTTERFLY_DATA", REPOSITORY.parent / "shared" / "data" / "monarch_viceroy"
        )
    ).resolve()  # Links made from a relative path would point nowhere.
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Real photos not found in {folder}. Set BUTTERFLY_DATA to a folder with "
            "one sub-folder of photos per class."
        )
    return folder


def link_subset(destination: Path, per_class: int) -> Path:
    """Link the first ``per_class`` photos of each class into ``destination``."""
    source = butterfly_data()
    classes = sorted(p for p in source.iterdir() if p.is_dir())
    for class_folder in classes:
        target = destination / class_folder.name
        target.mkdir(parents=True)
        for photo in sorted(class_folder.glob("*.jpg"))[:per_class]:
            (target / photo.name).symlink_to(photo)
    return destination
