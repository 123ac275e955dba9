"""Argument checks, keyword and licence parsing, photo records and credentials."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from scraper import (
    Credentials,
    CredentialsError,
    RetryPolicy,
    download_flickr_photos,
    load_credentials,
)
from scraper.fetch import is_placeholder, parse_retry_after
from scraper.keywords import KeywordSpec, parse_keywords
from scraper.licenses import DEFAULT_LICENSES, describe_license, parse_licenses
from scraper.photos import PhotoRecord

# The argument checks run before any request, so nothing is ever sent to this
# port. Credential values are long because every loaded key and secret is
# redacted from library logs for the rest of the process.
UNREACHABLE = "http://127.0.0.1:9/services/rest/"


def download(keywords="gatekeeper", **options):
    options.setdefault("rest_url", UNREACHABLE)
    options.setdefault("api_key", "unused-api-key-0001")
    options.setdefault("api_secret", "unused-api-secret-0001")
    return download_flickr_photos(keywords, **options)


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        (
            {"size": "large"},
            ValueError,
            r"argument `size`\. Expected one of 'thumbnail', 'square', 'medium', "
            r"'original'\. Received size='large'\.",
        ),
        (
            {"size": 75},
            TypeError,
            r"argument `size`\. Expected a str, one of .*Received size=75 of type int",
        ),
        (
            {"max_nb_img": 0},
            ValueError,
            r"argument `max_nb_img`\. Expected an int >= 1 or -1\. Received "
            r"max_nb_img=0\.",
        ),
        (
            {"max_nb_img": 2.5},
            TypeError,
            r"argument `max_nb_img`\. Expected an int\. Received max_nb_img=2\.5",
        ),
        (
            {"max_nb_img": True},
            TypeError,
            r"Received max_nb_img=True of type bool",
        ),
        ({"per_page": 501}, ValueError, r"Expected an int in \[1, 500\]"),
        ({"workers": 0}, ValueError, r"argument `workers`.*Received workers=0"),
        ({"timeout": -1}, ValueError, r"argument `timeout`.*Received timeout=-1\.0"),
        ({"timeout": "30"}, TypeError, r"argument `timeout`\. Expected a float"),
        ({"dest": 3}, TypeError, r"argument `dest`\. Expected a str or os.PathLike"),
        ({"licenses": "4,x"}, ValueError, r"argument `licenses`.*'4,x'"),
        ({"licenses": 4}, TypeError, r"argument `licenses`.*Received licenses=4"),
        ({"licenses": []}, ValueError, r"Received licenses=\[\]"),
        ({"retry": 3}, TypeError, r"argument `retry`\. Expected a RetryPolicy"),
        ({"rest_url": "127.0.0.1/services/rest/"}, ValueError, r"argument `rest_url`"),
    ],
)
def test_download_argument_errors(tmp_path, options, error, pattern):
    options.setdefault("dest", tmp_path / "raw")

    with pytest.raises(error, match=pattern):
        download(**options)

    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize(
    ("keywords", "error", "pattern"),
    [
        (None, TypeError, r"argument `keywords`\. Expected a str or a list of str"),
        (["a", 3], TypeError, r"Received keywords=\['a', 3\]"),
        ([], ValueError, r"Expected at least one keyword\. Received keywords=\[\]"),
        ("  ", ValueError, r"Expected a non-empty search text"),
        ("monarch=../up", ValueError, r"Expected a folder name without '/'"),
        ("monarch=.hidden", ValueError, r"leading '\.'"),
        (["a b", "a  b"], ValueError, r"one keyword per class folder.*\['a_b'\]"),
    ],
)
def test_keyword_errors(keywords, error, pattern):
    with pytest.raises(error, match=pattern):
        parse_keywords(keywords)


def test_keyword_folders():
    specs = parse_keywords(["meadow brown butterfly=maniola_jurtina", " gatekeeper "])

    assert specs == [
        KeywordSpec("meadow brown butterfly", "maniola_jurtina"),
        KeywordSpec("gatekeeper", "gatekeeper"),
    ]
    assert parse_keywords("small  heath") == [
        KeywordSpec("small  heath", "small_heath")
    ]


def test_license_parsing():
    assert parse_licenses(None) == DEFAULT_LICENSES
    assert parse_licenses("9, 4,4") == (4, 9)
    assert parse_licenses([5, "7"]) == (5, 7)
    assert parse_licenses((12,)) == (12,)
    with pytest.raises(ValueError, match="Received licenses=\\[-1\\]"):
        parse_licenses([-1])
    with pytest.raises(ValueError, match="Received licenses=\\[True\\]"):
        parse_licenses([True])


def test_license_names():
    assert describe_license(9).name == "Public Domain Dedication (CC0)"
    assert describe_license(5).url == "https://creativecommons.org/licenses/by-sa/2.0/"
    assert describe_license(14).name == "Flickr licence id 14"
    assert set(DEFAULT_LICENSES) == {4, 5, 7, 8, 9, 10}


def test_retry_policy_checks():
    assert RetryPolicy(backoff=0.5).delay(3) == 4.0
    assert RetryPolicy(backoff=10, max_delay=25).delay(2) == 25
    with pytest.raises(ValueError, match="Received max_retries=-1"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(TypeError, match="argument `backoff`"):
        RetryPolicy(backoff="1")


def test_record_from_sparse_entry():
    record = PhotoRecord.from_api({"id": "123", "url_m": "http://127.0.0.1/m.jpg"})

    assert record.owner == ""
    assert record.title == ""
    assert record.license is None
    assert record.choose_url("square") == ("medium", "http://127.0.0.1/m.jpg")


@pytest.mark.parametrize(
    "entry",
    [{}, {"id": ""}, {"id": "../12"}, {"id": None}, "12", None, {"title": "x"}],
)
def test_record_without_valid_id(entry):
    assert PhotoRecord.from_api(entry) is None


def test_record_url_choice():
    entry = {
        "id": "7",
        "license": "4",
        "title": {"_content": "caf\u00e9"},
        "url_t": "http://127.0.0.1/t.jpg",
        "url_sq": "javascript:alert(1)",
        "url_o": "https://127.0.0.1/o.jpg",
    }

    record = PhotoRecord.from_api(entry)

    assert record.title == "caf\u00e9"
    assert record.license == 4
    assert "square" not in record.urls
    assert record.choose_url("thumbnail") == ("thumbnail", "http://127.0.0.1/t.jpg")
    assert record.choose_url("square") == ("original", "https://127.0.0.1/o.jpg")
    assert PhotoRecord.from_api({"id": "8"}).choose_url("square") is None


def test_retry_after_values():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC))) == 0
    later = datetime.now(UTC) + timedelta(seconds=90)
    assert 80 < parse_retry_after(format_datetime(later, usegmt=True)) <= 90


def test_placeholder_urls():
    assert is_placeholder("https://s.yimg.com/pw/images/en-us/photo_unavailable.png")
    assert is_placeholder("http://127.0.0.1:1/images/photo_unavailable_t.gif")
    assert not is_placeholder("http://127.0.0.1:1/65535/123_abc.jpg")


def test_credentials_sources(tmp_path):
    config = tmp_path / "flickr.ini"
    config.write_text(
        "[flickr]\napi_key = file-key-0002\napi_secret = file-secret-0002\n"
    )
    environ = {"FLICKR_API_KEY": "env-key-0003"}

    from_file = load_credentials(config_path=config, environ={})
    mixed = load_credentials(config_path=config, environ=environ)
    from_arguments = load_credentials(
        "arg-key-0004", "arg-secret-0004", config, environ
    )

    assert from_file == Credentials("file-key-0002", "file-secret-0002")
    assert mixed == Credentials("env-key-0003", "file-secret-0002")
    assert from_arguments == Credentials("arg-key-0004", "arg-secret-0004")


def test_credentials_default_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flickr.ini").write_text(
        "[flickr]\napi_key=ini-key-0005\napi_secret=ini-secret-0005\n"
    )

    assert load_credentials(environ={}) == Credentials(
        "ini-key-0005", "ini-secret-0005"
    )


def test_missing_credentials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(CredentialsError, match="Missing Flickr API key: set FLICKR"):
        load_credentials(environ={})
    with pytest.raises(CredentialsError, match="Missing Flickr API secret"):
        load_credentials(environ={"FLICKR_API_KEY": "k"})
    with pytest.raises(CredentialsError, match="config file not found"):
        load_credentials(config_path=tmp_path / "absent.ini", environ={})


def test_unreadable_config_hides_its_lines(tmp_path):
    config = tmp_path / "flickr.ini"
    config.write_text("api_key = sup3r-s3cret-line\n")

    with pytest.raises(CredentialsError) as raised:
        load_credentials(config_path=config, environ={})

    assert "sup3r-s3cret-line" not in str(raised.value)
    assert "MissingSectionHeaderError" in str(raised.value)


def test_credentials_repr():
    credentials = Credentials("my-key-123", "my-secret-456")

    assert repr(credentials) == "Credentials(api_key=<redacted>, api_secret=<redacted>)"
    assert "my-key-123" not in str(credentials)
