"""`download_flickr_photos` and `python -m scraper download` against the stand-in."""

import csv
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import flickrapi
import pytest
from PIL import Image

from scraper import ScraperError
from scraper.cli import main
from scraper.credentials import load_credentials
from scraper.search import FlickrSearch

from flickr_standin import (
    API_KEY,
    API_SECRET,
    FlickrStandIn,
    class_ids,
    folder_problems,
    run_download,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def standin():
    with FlickrStandIn() as server:
        yield server


def run_cli(folder, arguments):
    """Run ``python -m scraper`` in a real process, without Flickr variables."""
    return subprocess.run(
        [sys.executable, "-m", "scraper", *arguments],
        capture_output=True,
        text=True,
        cwd=folder,
        env={"PATH": "", "PYTHONPATH": str(REPO)},
        timeout=60,
    )


def read_attribution(dest):
    with open(Path(dest) / "attribution.csv", newline="", encoding="utf-8") as file:
        return {row["photo_id"]: row for row in csv.DictReader(file)}


def test_two_keywords_fill_two_folders(standin, tmp_path):
    keywords = ["meadow brown=maniola_jurtina", "gatekeeper"]

    summary = run_download(standin, tmp_path, keywords)

    meadow = {photo.id for photo in standin.listing("meadow brown")}
    gatekeeper = {photo.id for photo in standin.listing("gatekeeper")}
    assert class_ids(tmp_path, "maniola_jurtina") == meadow
    assert class_ids(tmp_path, "gatekeeper") == gatekeeper
    assert summary.downloaded == len(meadow) + len(gatekeeper)
    assert [item.folder for item in summary.keywords] == [
        "maniola_jurtina",
        "gatekeeper",
    ]
    assert sum(summary.skipped.values()) == 0
    assert sum(summary.failed.values()) == 0
    assert folder_problems(tmp_path) == []
    assert standin.photo_requests() == len(meadow) + len(gatekeeper)


def test_files_are_the_square_jpegs(standin, tmp_path):
    run_download(standin, tmp_path, "gatekeeper")

    for photo in standin.listing("gatekeeper"):
        path = tmp_path / "gatekeeper" / f"{photo.id}.jpg"
        assert path.read_bytes() == standin.image_bytes(photo, "square")
        with Image.open(path) as image:
            assert image.size == (75, 75)


def test_attribution_rows(standin, tmp_path):
    run_download(standin, tmp_path, "small heath=coenonympha_pamphilus")

    rows = read_attribution(tmp_path)
    listing = standin.listing("small heath")
    assert set(rows) == {photo.id for photo in listing}
    for photo in listing:
        row = rows[photo.id]
        assert row["title"] == photo.title
        assert row["owner"] == photo.owner
        assert row["owner_name"] == photo.owner_name
        assert row["license_id"] == str(photo.license)
        assert row["class"] == "coenonympha_pamphilus"
        assert row["file"] == f"{photo.id}.jpg"
        assert row["size"] == "square"
        assert row["keyword"] == "small heath"
        assert row["page_url"] == (
            f"https://www.flickr.com/photos/{photo.owner}/{photo.id}"
        )
    by_license = {row["license_id"]: row for row in rows.values()}
    assert by_license["4"]["license_name"] == "Attribution License"
    assert by_license["4"]["license_url"] == (
        "https://creativecommons.org/licenses/by/2.0/"
    )


def test_attribution_kept_across_runs(standin, tmp_path):
    run_download(standin, tmp_path, "gatekeeper", max_nb_img=2)
    first = read_attribution(tmp_path)
    run_download(standin, tmp_path, "meadow brown")

    rows = read_attribution(tmp_path)
    assert len(first) == 2
    assert set(first) <= set(rows)
    assert len(rows) == 2 + len(standin.listing("meadow brown"))


def test_size_fallback_order(standin, tmp_path):
    listing = standin.listing("meadow brown")
    no_square = listing[0]
    standin.remove_urls([no_square.id, listing[1].id], sizes=["square"])

    run_download(standin, tmp_path, "meadow brown")

    rows = read_attribution(tmp_path)
    # The stand-in withholds the original of every other photo, as owners may.
    assert "original" in no_square.sizes
    assert "original" not in listing[1].sizes
    assert rows[no_square.id]["size"] == "original"
    assert rows[listing[1].id]["size"] == "medium"
    assert {rows[photo.id]["size"] for photo in listing[2:]} == {"square"}


def test_original_size_falls_back_to_medium(standin, tmp_path):
    run_download(standin, tmp_path, "meadow brown", size="original")

    rows = read_attribution(tmp_path)
    for photo in standin.listing("meadow brown"):
        expected = "original" if "original" in photo.sizes else "medium"
        assert rows[photo.id]["size"] == expected
        stored = (tmp_path / "meadow_brown" / f"{photo.id}.jpg").read_bytes()
        assert stored == standin.image_bytes(photo, expected)


def test_max_images_and_rerun(standin, tmp_path):
    first = run_download(standin, tmp_path, "gatekeeper", max_nb_img=3)
    standin.reset_log()
    second = run_download(standin, tmp_path, "gatekeeper", max_nb_img=5)
    after_second = standin.photo_requests()
    standin.reset_log()
    third = run_download(standin, tmp_path, "gatekeeper", max_nb_img=5)

    assert first.downloaded == 3
    assert second.downloaded == 2
    assert after_second == 2
    assert len(class_ids(tmp_path, "gatekeeper")) == 5
    # A full folder needs no search at all.
    assert third.downloaded == 0
    assert standin.hits == []


def test_identical_bytes_kept_once(standin, tmp_path):
    original = standin.listing("meadow brown")[0]
    copy = standin.add_photo("meadow brown", like=original, photo_id="52000009999")

    summary = run_download(standin, tmp_path, "meadow brown")

    assert copy.id not in class_ids(tmp_path, "meadow_brown")
    assert original.id in class_ids(tmp_path, "meadow_brown")
    assert dict(summary.skipped) == {"same bytes as another photo": 1}
    assert copy.id not in read_attribution(tmp_path)
    assert folder_problems(tmp_path) == []


def test_photo_in_two_searches_gets_one_class(standin, tmp_path):
    standin.catalogue["myrtil"] = standin.catalogue["meadow brown"]

    summary = run_download(standin, tmp_path, ["meadow brown=first", "myrtil=second"])

    listed = {photo.id for photo in standin.listing("meadow brown")}
    assert class_ids(tmp_path, "first") == listed
    assert class_ids(tmp_path, "second") == set()
    assert dict(summary.keywords[1].skipped) == {
        "already in another class": len(listed)
    }


def test_unknown_keyword_downloads_nothing(standin, tmp_path):
    summary = run_download(standin, tmp_path, "purple emperor")

    assert summary.downloaded == 0
    assert standin.search_pages() == [1]
    assert (tmp_path / "purple_emperor").is_dir()


def test_secrets_stay_out_of_logs(standin, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    standin.inject_photo_fault("server_error", times=1)

    run_download(standin, tmp_path, "gatekeeper")

    # oauthlib logs the signed parameters at DEBUG, consumer key included.
    assert "Collected params" in caplog.text
    assert "oauth_consumer_key" in caplog.text
    assert API_KEY not in caplog.text
    assert API_SECRET not in caplog.text


def test_secrets_stay_out_of_reprs():
    credentials = load_credentials(API_KEY, API_SECRET)
    search = FlickrSearch(credentials, rest_url="http://127.0.0.1:9/services/rest/")

    for text in (repr(credentials), str(credentials), repr(search)):
        assert API_KEY not in text
        assert API_SECRET not in text


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [("wrong-key", API_SECRET, 100), (API_KEY, "wrong-secret", 96)],
)
def test_rejected_credentials(standin, tmp_path, key, secret, code):
    with pytest.raises(ScraperError) as raised:
        run_download(standin, tmp_path, "gatekeeper", api_key=key, api_secret=secret)

    assert raised.value.code == code
    assert "Flickr rejected flickr.photos.search" in str(raised.value)
    assert key not in str(raised.value)
    assert secret not in str(raised.value)
    assert standin.search_pages() == [1]


@pytest.mark.parametrize("response_format", ["etree", "xmlnode", "parsed-json"])
def test_flickrapi_formats(standin, response_format):
    flickr = flickrapi.FlickrAPI(
        API_KEY, API_SECRET, format=response_format, store_token=False
    )
    flickr.REST_URL = standin.rest_url

    response = flickr.photos.search(
        text="gatekeeper", extras="url_sq,license", per_page=4, license="4,5,9"
    )

    expected = [p.id for p in standin.listing("gatekeeper", licenses=(4, 5, 9))]
    if response_format == "etree":
        photos = response.find("photos")
        ids = [photo.get("id") for photo in photos.findall("photo")]
        assert photos.get("total") == str(len(expected))
        assert all(photo.get("url_sq") for photo in photos.findall("photo"))
    elif response_format == "xmlnode":
        ids = [photo["id"] for photo in response.photos[0].photo]
    else:
        ids = [photo["id"] for photo in response["photos"]["photo"]]
        assert int(response["photos"]["total"]) == len(expected)
    assert ids == expected[:4]


def test_json_with_callback(standin):
    flickr = flickrapi.FlickrAPI(API_KEY, API_SECRET, format="json", store_token=False)
    flickr.REST_URL = standin.rest_url

    raw = flickr.photos.search(text="gatekeeper", jsoncallback="jsonFlickrApi")

    text = raw.decode("utf-8")
    assert text.startswith("jsonFlickrApi(")
    payload = json.loads(text[len("jsonFlickrApi(") : -1])
    assert payload["stat"] == "ok"


def test_cli_download(standin, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FLICKR_API_KEY", API_KEY)
    monkeypatch.setenv("FLICKR_API_SECRET", API_SECRET)
    dest = tmp_path / "raw"

    status = main(
        [
            "download",
            "gatekeeper=pyronia_tithonus",
            "--out",
            str(dest),
            "--rest-url",
            standin.rest_url,
            "--max-images",
            "4",
            "--size",
            "thumbnail",
            "--no-progress",
        ]
    )

    output = capsys.readouterr().out
    assert status == 0
    assert len(class_ids(dest, "pyronia_tithonus")) == 4
    assert "pyronia_tithonus ('gatekeeper'): 4 downloaded" in output
    assert "Total: 4 downloaded, 0 skipped, 0 failed." in output
    assert {row["size"] for row in read_attribution(dest).values()} == {"thumbnail"}


def test_cli_exit_status_after_failures(standin, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FLICKR_API_KEY", API_KEY)
    monkeypatch.setenv("FLICKR_API_SECRET", API_SECRET)
    first = standin.listing("gatekeeper")[0]
    standin.inject_photo_fault("server_error", [first.id])
    arguments = ["download", "gatekeeper", "--out", str(tmp_path)]
    arguments += ["--rest-url", standin.rest_url, "--no-progress"]
    arguments += ["--retries", "1", "--backoff", "0"]

    status = main(arguments)

    error = capsys.readouterr().err
    assert status == 1
    assert "1 photos failed; run the same command again" in error
    assert standin.photo_requests(first.id) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["download", "x", "--size", "large"], "argument --size: invalid choice"),
        (
            ["download", "x", "--max-images", "0"],
            "argument --max-images: invalid value 0;",
        ),
        (["download", "x", "--max-images", "-2"], "expected an int >= 1 or -1"),
        (["download", "x", "--max-images", "ten"], "invalid int value: 'ten'"),
        (
            ["download", "x", "--licenses", "4,cc"],
            "argument --licenses: invalid value '4,cc'",
        ),
        (
            ["download", "x", "--per-page", "501"],
            "argument --per-page: invalid value 501",
        ),
        (["download", "x", "--workers", "0"], "argument --workers: invalid value 0;"),
        (["download", "x", "--retries", "-1"], "argument --retries: invalid value -1;"),
        (
            ["download", "x", "--backoff", "-1"],
            "argument --backoff: invalid value -1.0",
        ),
        (["download", "x", "--rest-url", "ftp://h/"], "argument --rest-url: invalid"),
        (["download", "=folder"], "a non-empty search text"),
        (["download", "a=.hidden"], "a folder name without"),
        (["download"], "the following arguments are required: KEYWORD"),
        (["split", "a"], "the following arguments are required: DEST"),
        (["split", "a", "b", "--validation", "1"], "argument --validation: invalid"),
        (["split", "a", "a"], "argument DEST: invalid value 'a'; expected a folder"),
        (["fetch"], "argument command: invalid choice: 'fetch'"),
    ],
)
def test_cli_bad_arguments(tmp_path, arguments, message):
    result = run_cli(tmp_path, arguments)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_key(tmp_path):
    result = run_cli(tmp_path, ["download", "x", "--out", "raw"])

    assert result.returncode == 2
    assert "Missing Flickr API key: set FLICKR_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_config_file(tmp_path):
    arguments = ["download", "x", "--config", str(tmp_path / "absent.ini")]

    result = run_cli(tmp_path, arguments)

    assert result.returncode == 2
    assert "Flickr config file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_progress_bar_per_keyword(standin, tmp_path, capsys):
    run_download(standin, tmp_path, ["gatekeeper", "small heath"], progress=True)

    error = capsys.readouterr().err
    assert "gatekeeper:" in error
    assert "small_heath:" in error


def test_downloaded_images_decode(standin, tmp_path):
    run_download(standin, tmp_path, "gatekeeper", size="medium")

    for path in (tmp_path / "gatekeeper").iterdir():
        with Image.open(io.BytesIO(path.read_bytes())) as image:
            image.load()
            assert max(image.size) <= 500


def test_unknown_licence_id_is_named(standin, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="scraper"):
        run_download(standin, tmp_path, "gatekeeper", licenses="4,99")

    warnings = [r.getMessage() for r in caplog.records if "licence" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("Unknown Flickr licence id 99 ")
    assert "known ids: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10" in warnings[0]
    assert "\n" not in warnings[0]


def test_known_licence_ids_give_no_warning(standin, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="scraper"):
        run_download(standin, tmp_path, "gatekeeper", licenses="4,5")

    assert not [r for r in caplog.records if "licence" in r.getMessage()]


def test_cli_split_warning_is_one_line(tmp_path):
    folder = tmp_path / "raw" / "maniola_jurtina"
    folder.mkdir(parents=True)
    for number in range(7):
        Image.new("RGB", (8, 8), (number, 40, 90)).save(folder / f"{number + 1}.jpg")
    first = run_cli(tmp_path, ["split", "raw", "d2", "--validation", "0"])

    second = run_cli(tmp_path, ["split", "raw", "d2"])

    assert first.returncode == 0
    assert second.returncode == 0
    lines = second.stderr.strip().splitlines()
    warnings = [line for line in lines if " WARNING " in line]
    assert len(warnings) == 1, lines
    assert "d2 was split with another validation fraction" in warnings[0]
    assert "choose a new destination folder" in warnings[0]
    assert "UserWarning" not in second.stderr
    assert "warnings.warn(" not in second.stderr
