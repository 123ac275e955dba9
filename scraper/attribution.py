"""``attribution.csv``: who took each downloaded photo and under which licence.

The file sits in the download folder, next to the class folders, with one row per
photo id. Each run adds the rows of the photos it downloaded and keeps the rows
that earlier runs wrote, so the file covers every photo in the folder.
"""

import csv
import os
from pathlib import Path

from scraper.folders import create_temporary_file
from scraper.licenses import describe_license

FILE_NAME = "attribution.csv"
PARTIAL_PREFIX = ".attribution-"
FIELDS = (
    "photo_id",
    "class",
    "file",
    "size",
    "title",
    "owner",
    "owner_name",
    "license_id",
    "license_name",
    "license_url",
    "page_url",
    "keyword",
)


def attribution_row(record, *, folder, file_name, size, keyword):
    """Build the CSV row for a downloaded photo.

    Parameters
    ----------
    record : PhotoRecord
        The photo as the search returned it.
    folder : str
        Class folder the photo went to.
    file_name : str
        Name of the file inside ``folder``.
    size : str
        Size actually fetched, which differs from the requested one after a
        fallback.
    keyword : str
        Search text that found the photo.
    """
    license_ = describe_license(record.license)
    return {
        "photo_id": record.id,
        "class": folder,
        "file": file_name,
        "size": size,
        "title": record.title,
        "owner": record.owner,
        "owner_name": record.owner_name,
        "license_id": "" if record.license is None else str(record.license),
        "license_name": license_.name,
        "license_url": license_.url,
        "page_url": record.page_url,
        "keyword": keyword,
    }


def read_attribution(folder):
    """Return the rows of ``folder/attribution.csv`` keyed by photo id, if any."""
    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return {row["photo_id"]: row for row in rows if row.get("photo_id")}


def write_attribution(folder, rows):
    """Write ``rows`` (photo id -> row) to ``folder/attribution.csv`` atomically.

    The rows go to a temporary file that replaces the old one only when complete,
    so an interrupted run leaves the previous file intact. Temporary files that
    such a run left are deleted first.
    """
    folder = Path(folder)
    for leftover in folder.glob(f"{PARTIAL_PREFIX}*"):
        leftover.unlink(missing_ok=True)
    ordered = sorted(rows.values(), key=lambda row: (row["class"], row["photo_id"]))
    descriptor, temporary = create_temporary_file(folder, PARTIAL_PREFIX)
    try:
        with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(ordered)
        os.replace(temporary, folder / FILE_NAME)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
