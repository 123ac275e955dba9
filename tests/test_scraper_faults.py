"""Each fault the Flickr stand-in injects, against ``download_flickr_photos``.

The tests check up to four things per fault. No class folder contains a partial
or invalid file. The counts of downloads, skips and failures are right. The number
of requests is bounded. A rerun without the fault completes the set and requests
only the photos that were missing. ``run_download`` retries 3 times after the
first attempt, so a photo is requested at most 4 times per run.
"""

import logging

import pytest

from scraper import RetryPolicy, ScraperError

from flickr_standin import (
    FlickrStandIn,
    SleepRecorder,
    class_ids,
    folder_problems,
    run_download,
)

KEYWORD = "meadow brown"
FOLDER = "maniola_jurtina"
SPEC = f"{KEYWORD}={FOLDER}"
ATTEMPTS = 4


@pytest.fixture
def standin():
    with FlickrStandIn() as server:
        yield server


def listed_ids(standin):
    return [photo.id for photo in standin.listing(KEYWORD)]


def assert_rerun_completes(standin, dest, missing):
    """Rerun without faults: only ``missing`` is fetched and the set is complete."""
    standin.clear_faults()
    standin.reset_log()
    summary = run_download(standin, dest, SPEC)

    assert summary.downloaded == len(missing)
    assert standin.requested_photo_ids() == set(missing)
    assert class_ids(dest, FOLDER) == set(listed_ids(standin))
    assert folder_problems(dest) == []


# Faults on photo files --------------------------------------------------------

PERMANENT_FAULTS = {
    "server_error": "HTTP status 500",
    "timeout": "timed out",
    "truncated": "truncated body",
    "html": "not an image",
    "empty": "empty body",
    "corrupt": "invalid image",
}


@pytest.mark.parametrize("kind", sorted(PERMANENT_FAULTS))
def test_photo_fault_that_persists(standin, tmp_path, kind):
    ids = listed_ids(standin)
    broken = ids[:2]
    standin.inject_photo_fault(kind, broken, seconds=2.0)

    summary = run_download(standin, tmp_path, SPEC)

    assert folder_problems(tmp_path) == []
    assert class_ids(tmp_path, FOLDER) == set(ids) - set(broken)
    assert summary.downloaded == len(ids) - len(broken)
    assert dict(summary.failed) == {PERMANENT_FAULTS[kind]: len(broken)}
    assert sum(summary.skipped.values()) == 0
    for photo_id in broken:
        assert standin.photo_requests(photo_id) == ATTEMPTS
    assert standin.photo_requests() == len(ids) - len(broken) + ATTEMPTS * len(broken)
    assert_rerun_completes(standin, tmp_path, broken)


@pytest.mark.parametrize("kind", sorted(PERMANENT_FAULTS))
def test_photo_fault_once_is_retried(standin, tmp_path, kind):
    ids = listed_ids(standin)
    standin.inject_photo_fault(kind, ids[:3], times=1, seconds=2.0)
    sleep = SleepRecorder()

    summary = run_download(standin, tmp_path, SPEC, sleep=sleep)

    assert folder_problems(tmp_path) == []
    assert class_ids(tmp_path, FOLDER) == set(ids)
    assert summary.downloaded == len(ids)
    assert sum(summary.failed.values()) == 0
    assert standin.photo_requests() == len(ids) + 3
    # Without Retry-After, the first retry waits the base backoff of 1 s.
    assert sorted(sleep.waits) == [1.0, 1.0, 1.0]
    assert_rerun_completes(standin, tmp_path, [])


def test_rate_limit_honours_retry_after(standin, tmp_path):
    ids = listed_ids(standin)
    standin.inject_photo_fault("rate_limit", ids[:2], times=2, retry_after=7)
    sleep = SleepRecorder()

    summary = run_download(standin, tmp_path, SPEC, sleep=sleep)

    assert folder_problems(tmp_path) == []
    assert summary.downloaded == len(ids)
    assert sleep.waits == [7.0, 7.0, 7.0, 7.0]
    for photo_id in ids[:2]:
        assert standin.photo_requests(photo_id) == 3
    assert standin.photo_requests() == len(ids) + 4
    assert_rerun_completes(standin, tmp_path, [])


def test_rate_limit_persisting_gives_up(standin, tmp_path):
    ids = listed_ids(standin)
    standin.inject_photo_fault("rate_limit", ids[:1], retry_after=1)
    sleep = SleepRecorder()

    summary = run_download(standin, tmp_path, SPEC, sleep=sleep)

    assert folder_problems(tmp_path) == []
    assert summary.downloaded == len(ids) - 1
    assert dict(summary.failed) == {"HTTP status 429": 1}
    assert standin.photo_requests(ids[0]) == ATTEMPTS
    assert sleep.waits == [1.0] * (ATTEMPTS - 1)
    assert_rerun_completes(standin, tmp_path, ids[:1])


def test_retry_after_beyond_max_delay(standin, tmp_path):
    ids = listed_ids(standin)
    standin.inject_photo_fault("rate_limit", ids[:1], retry_after=3600)
    sleep = SleepRecorder()

    summary = run_download(standin, tmp_path, SPEC, sleep=sleep)

    # Waiting less than the server requested would only earn another 429.
    assert dict(summary.failed) == {"HTTP status 429": 1}
    assert standin.photo_requests(ids[0]) == 1
    assert sleep.waits == []
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, ids[:1])


def test_placeholder_redirect_is_skipped(standin, tmp_path):
    ids = listed_ids(standin)
    unavailable = ids[2:5]
    standin.inject_photo_fault("placeholder", unavailable)

    summary = run_download(standin, tmp_path, SPEC)

    assert folder_problems(tmp_path) == []
    assert class_ids(tmp_path, FOLDER) == set(ids) - set(unavailable)
    assert dict(summary.skipped) == {"photo unavailable": len(unavailable)}
    assert sum(summary.failed.values()) == 0
    for photo_id in unavailable:
        assert standin.photo_requests(photo_id) == 1
    # The placeholder is a valid PNG: it is recognised by its URL and never fetched.
    assert [hit for hit in standin.hits if hit.kind == "placeholder"] == []
    assert_rerun_completes(standin, tmp_path, unavailable)


def test_photos_without_url_fields(standin, tmp_path):
    ids = listed_ids(standin)
    standin.remove_urls(ids[:2])

    summary = run_download(standin, tmp_path, SPEC)

    assert folder_problems(tmp_path) == []
    assert dict(summary.skipped) == {"no usable URL": 2}
    assert summary.downloaded == len(ids) - 2
    assert standin.photo_requests() == len(ids) - 2
    assert_rerun_completes(standin, tmp_path, ids[:2])


# Faults on flickr.photos.search -----------------------------------------------


def test_search_rate_limit_is_retried(standin, tmp_path):
    standin.inject_search_fault("rate_limit", pages=[1], times=2)
    sleep = SleepRecorder()

    summary = run_download(standin, tmp_path, SPEC, sleep=sleep)

    assert standin.search_pages() == [1, 1, 1]
    # flickrapi hides the response headers, so the API calls back off 1 s, 2 s.
    assert sleep.waits == [1.0, 2.0]
    assert summary.downloaded == len(listed_ids(standin))
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, [])


@pytest.mark.parametrize("kind", ["server_error", "timeout", "html"])
def test_search_fault_once_is_retried(standin, tmp_path, kind):
    standin.inject_search_fault(kind, pages=[1], times=1, seconds=2.0)

    summary = run_download(standin, tmp_path, SPEC)

    assert standin.search_pages() == [1, 1]
    assert summary.downloaded == len(listed_ids(standin))
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, [])


def test_search_failing_for_good(standin, tmp_path):
    standin.inject_search_fault("server_error")

    with pytest.raises(ScraperError, match="failed after 4 attempts: HTTP status 500"):
        run_download(standin, tmp_path, SPEC)

    assert standin.search_pages() == [1] * ATTEMPTS
    assert standin.photo_requests() == 0
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, listed_ids(standin))


def test_last_page_is_not_passed(standin, tmp_path):
    ids = listed_ids(standin)

    summary = run_download(standin, tmp_path, SPEC, per_page=3)

    assert len(ids) == 7
    assert standin.search_pages() == [1, 2, 3]
    assert summary.downloaded == len(ids)


def test_duplicate_page_stops_paging(standin, tmp_path):
    ids = listed_ids(standin)
    standin.inject_search_fault("duplicate_page", pages=[2])

    summary = run_download(standin, tmp_path, SPEC, per_page=3)

    # Page 2 repeats page 1 whole: no new id, so paging stops there.
    assert standin.search_pages() == [1, 2]
    assert summary.downloaded == 3
    assert standin.photo_requests() == 3
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, ids[3:])


def test_overlapping_page_is_deduplicated(standin, tmp_path):
    ids = listed_ids(standin)
    standin.inject_search_fault("duplicate_page", pages=[2], overlap=1)

    summary = run_download(standin, tmp_path, SPEC, per_page=3)

    # Page 2 lists ids[2] again, pushing ids[5] out of the results.
    assert standin.search_pages() == [1, 2, 3]
    assert summary.downloaded == len(ids) - 1
    assert standin.photo_requests(ids[2]) == 1
    assert standin.photo_requests() == len(ids) - 1
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, [ids[5]])


def test_pages_repeating_forever(standin, tmp_path):
    ids = listed_ids(standin)
    standin.inject_search_fault("repeat_forever")

    summary = run_download(standin, tmp_path, SPEC, per_page=3)

    assert standin.search_pages() == [1, 2]
    assert summary.downloaded == 3
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, ids[3:])


def test_empty_page_is_skipped(standin, tmp_path):
    ids = listed_ids(standin)
    standin.inject_search_fault("empty_page", pages=[2])

    summary = run_download(standin, tmp_path, SPEC, per_page=3)

    assert standin.search_pages() == [1, 2, 3]
    assert summary.downloaded == len(ids) - 3
    assert class_ids(tmp_path, FOLDER) == set(ids[:3] + ids[6:])
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, ids[3:6])


def test_ignored_license_filter(standin, tmp_path):
    everything = standin.catalogue[KEYWORD]
    rejected = [photo.id for photo in everything if photo.license in (0, 2)]
    standin.inject_search_fault("ignore_license")

    summary = run_download(standin, tmp_path, SPEC)

    assert len(rejected) == 2
    assert dict(summary.skipped) == {"licence not allowed": len(rejected)}
    assert not standin.requested_photo_ids() & set(rejected)
    assert class_ids(tmp_path, FOLDER) == set(listed_ids(standin))
    assert folder_problems(tmp_path) == []
    assert_rerun_completes(standin, tmp_path, [])


def test_result_cap_of_4000(standin, tmp_path, caplog):
    standin.add_bulk("bulk", 4500)
    caplog.set_level(logging.WARNING, logger="scraper")

    summary = run_download(standin, tmp_path, "bulk", per_page=500)

    # 4,000 results are 8 pages of 500; page 9 would only repeat earlier ones.
    assert standin.search_pages() == list(range(1, 9))
    assert dict(summary.skipped) == {"no usable URL": 4000}
    assert summary.keywords[0].reported_total == 4500
    assert summary.keywords[0].capped
    assert "returns at most 4000" in caplog.text
    assert "returns at most 4000" in summary.format()


def test_max_images_stops_paging(standin, tmp_path):
    summary = run_download(standin, tmp_path, SPEC, per_page=3, max_nb_img=2)

    assert standin.search_pages() == [1]
    assert standin.photo_requests() == 2
    assert summary.downloaded == 2


def test_api_timeout_uses_retry_policy(standin, tmp_path):
    standin.inject_search_fault("timeout", pages=[1], seconds=2.0)
    retry = RetryPolicy(max_retries=1, backoff=0.0)

    with pytest.raises(ScraperError, match="failed after 2 attempts: timed out"):
        run_download(standin, tmp_path, SPEC, retry=retry)

    assert standin.search_pages() == [1, 1]
    assert folder_problems(tmp_path) == []
