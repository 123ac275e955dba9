"""``download_flickr_photos``: search Flickr by keyword and fill one folder per class.

A run can be repeated at will. Files are named by photo id and land in their class
folder only when whole and checked, so a rerun fetches only what is missing and an
interrupted run leaves no partial file behind.
"""

import logging
import os
import shutil
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from scraper._checks import (
    check_choice,
    check_float,
    check_int,
    check_path,
    type_error,
    value_error,
)
from scraper.attribution import attribution_row, read_attribution, write_attribution
from scraper.credentials import load_credentials
from scraper.fetch import OK, UNAVAILABLE, PhotoFetcher
from scraper.folders import class_folders, file_sha256, photo_files, photo_id
from scraper.keywords import parse_keywords
from scraper.licenses import LICENSES, parse_licenses
from scraper.photos import SIZES, PhotoRecord
from scraper.retry import RetryPolicy
from scraper.search import (
    FLICKR_REST_URL,
    MAX_PER_PAGE,
    MAX_SEARCH_RESULTS,
    FlickrSearch,
)
from scraper.summary import (
    SKIP_DUPLICATE,
    SKIP_LICENSE,
    SKIP_NO_ID,
    SKIP_NO_URL,
    SKIP_OTHER_CLASS,
    SKIP_PRESENT,
    SKIP_UNAVAILABLE,
    DownloadSummary,
    KeywordSummary,
)

logger = logging.getLogger(__name__)

PARTIAL_FOLDER = ".partial"


def download_flickr_photos(
    keywords,
    size="square",
    max_nb_img=-1,
    *,
    dest="raw",
    licenses=None,
    per_page=100,
    workers=4,
    timeout=30.0,
    retry=None,
    api_key=None,
    api_secret=None,
    config_path=None,
    rest_url=FLICKR_REST_URL,
    progress=True,
    sleep=None,
):
    """Download Flickr photos for each keyword into ``dest/<folder>/<id>.<ext>``.

    Parameters
    ----------
    keywords : str or list of str
        Search texts, each optionally ``"text=folder"``; see
        :func:`scraper.keywords.parse_keywords`.
    size : {'square', 'thumbnail', 'medium', 'original'}, default='square'
        Size to fetch: square 75x75 px, thumbnail and medium 100 and 500 px on
        the longest side, or the original upload. A photo without that size is
        fetched at the first size it has among original, medium, square and
        thumbnail, and ``attribution.csv`` records the size fetched.
    max_nb_img : int, default=-1
        Photos wanted per class folder, counting those already there; ``-1`` means
        all that the search returns (at most 4,000 per keyword).
    dest : str or os.PathLike, default='raw'
        Folder that receives the class folders and ``attribution.csv``.
    licenses : str or iterable of int or None, default=None
        Flickr licence ids to accept, as ``"4,5"`` or ``(4, 5)``; ``None`` means
        ``scraper.licenses.DEFAULT_LICENSES``. Sent as the API's ``license``
        filter, and photos whose returned licence is not in it are dropped too.
    per_page : int, default=100
        Results per search page, 1 to 500.
    workers : int, default=4
        Photos downloaded in parallel, 1 to 32.
    timeout : float, default=30.0
        Seconds to wait for a connection or a read, API calls included.
    retry : RetryPolicy or None, default=None
        Retries per page and per file; ``None`` means ``RetryPolicy()``.
    api_key, api_secret, config_path : optional
        Credentials; see :func:`scraper.credentials.load_credentials`.
    rest_url : str, default=FLICKR_REST_URL
        REST endpoint of the Flickr API.
    progress : bool, default=True
        Show a progress bar per keyword on standard error.
    sleep : callable or None, default=None
        Called with the wait in seconds before each retry. ``None`` means
        ``time.sleep`` for API pages, and for photos a wait that an interruption
        cuts short.

    Returns
    -------
    DownloadSummary
        Counts per keyword: downloaded, skipped by reason, failed by reason.

    Raises
    ------
    TypeError, ValueError
        For an argument of the wrong type or value.
    KeyboardInterrupt
        After an interruption, re-raised once the downloads already sent have
        ended. No new request or retry starts after it, and no partial file is
        left.
    CredentialsError
        If no API key or secret is configured.
    ScraperError
        If Flickr rejects the search or it keeps failing after the retries.
    """
    specs = parse_keywords(keywords)
    size = check_choice("size", size, SIZES)
    max_nb_img = check_int("max_nb_img", max_nb_img, minimum=1, allowed=(-1,))
    dest = Path(check_path("dest", dest))
    allowed_licenses = parse_licenses(licenses)
    _warn_unknown_licenses(allowed_licenses)
    per_page = check_int("per_page", per_page, minimum=1, maximum=MAX_PER_PAGE)
    workers = check_int("workers", workers, minimum=1, maximum=32)
    timeout = check_float("timeout", timeout, minimum=0.001, maximum=3600.0)
    if retry is None:
        retry = RetryPolicy()
    elif not isinstance(retry, RetryPolicy):
        raise type_error("retry", "a RetryPolicy or None", retry)
    if not isinstance(rest_url, str) or not rest_url.startswith(
        ("http://", "https://")
    ):
        raise value_error("rest_url", "an http:// or https:// URL", rest_url)

    credentials = load_credentials(api_key, api_secret, config_path)
    search = FlickrSearch(
        credentials,
        rest_url=rest_url,
        timeout=timeout,
        retry=retry,
        sleep=time.sleep if sleep is None else sleep,
    )
    run = _DownloadRun(
        dest=dest,
        size=size,
        max_nb_img=max_nb_img,
        licenses=allowed_licenses,
        per_page=per_page,
        search=search,
        progress=progress,
    )
    fetcher = PhotoFetcher(run.temp_dir, retry=retry, timeout=timeout, sleep=sleep)
    return run.execute(specs, fetcher, workers)


def _warn_unknown_licenses(license_ids):
    unknown = [
        str(license_id) for license_id in license_ids if license_id not in LICENSES
    ]
    if unknown:
        logger.warning(
            "Unknown Flickr licence %s %s (known ids: %s). Sent to Flickr as given, "
            "because Flickr has added licences since this list was written.",
            "id" if len(unknown) == 1 else "ids",
            ", ".join(unknown),
            ", ".join(str(license_id) for license_id in sorted(LICENSES)),
        )


class _DownloadRun:
    """State of one run: the files already on disk and the counts so far."""

    def __init__(self, *, dest, size, max_nb_img, licenses, per_page, search, progress):
        self.dest = dest
        self.temp_dir = dest / PARTIAL_FOLDER
        self.size = size
        self.max_nb_img = max_nb_img
        self.licenses = set(licenses)
        self.per_page = per_page
        self.search = search
        self.progress = progress
        self.summary = DownloadSummary()

    def execute(self, specs, fetcher, workers):
        self.dest.mkdir(parents=True, exist_ok=True)
        # Partial files of an interrupted run are useless: start clean.
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.temp_dir.mkdir()
        self._index_existing_files()
        self.attribution = read_attribution(self.dest)
        logger.info(
            "Downloading %s photos per class into %s (size %s, licences %s).",
            "all" if self.max_nb_img < 0 else self.max_nb_img,
            self.dest,
            self.size,
            ",".join(str(license_id) for license_id in sorted(self.licenses)),
        )
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="download") as pool:
                try:
                    for spec in specs:
                        self._download_keyword(spec, fetcher, pool)
                except KeyboardInterrupt:
                    self._stop(fetcher, pool)
                    raise
        finally:
            write_attribution(self.dest, self.attribution)
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        logger.info(
            "Run finished: %d downloaded, %d skipped, %d failed.",
            self.summary.downloaded,
            sum(self.summary.skipped.values()),
            sum(self.summary.failed.values()),
        )
        return self.summary

    def _stop(self, fetcher, pool):
        """Stop new requests and retries; leaving the pool waits for the rest."""
        running = fetcher.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        logger.warning(
            "Interrupted, waiting for %d downloads to stop (--timeout %g s).",
            running,
            fetcher.timeout,
        )

    def _index_existing_files(self):
        """Record the id, class and content hash of every photo already on disk."""
        self.folder_of_id = {}
        self.path_of_hash = {}
        for folder in class_folders(self.dest):
            for path in photo_files(folder):
                self.folder_of_id.setdefault(photo_id(path), folder.name)
                self.path_of_hash.setdefault(file_sha256(path), path)

    def _download_keyword(self, spec, fetcher, pool):
        class_dir = self.dest / spec.folder
        class_dir.mkdir(exist_ok=True)
        present = {photo_id(path) for path in photo_files(class_dir)}
        summary = KeywordSummary(spec.text, spec.folder, present_before=len(present))
        self.summary.keywords.append(summary)

        def is_full():
            return 0 < self.max_nb_img <= len(present)

        if is_full():
            logger.info(
                "%s already contains %d photos; nothing to download for %r.",
                class_dir,
                len(present),
                spec.text,
            )
            return

        logger.info("Searching Flickr for %r into %s.", spec.text, class_dir)
        bar = tqdm(
            total=self.max_nb_img if self.max_nb_img > 0 else None,
            initial=len(present),
            desc=spec.folder,
            unit="photo",
            disable=not self.progress,
        )
        pages = self.search.pages(
            spec.text, licenses=sorted(self.licenses), per_page=self.per_page
        )
        try:
            for page in pages:
                if not summary.reported_total:
                    summary.reported_total = page.total
                    if bar.total is None:
                        bar.total = min(page.total, MAX_SEARCH_RESULTS)
                        bar.refresh()
                logger.debug(
                    "Page %d of %d: %d new entries.",
                    page.number,
                    page.pages,
                    len(page.photos),
                )

                candidates = deque(self._candidates(page.photos, present, summary))
                while candidates and not is_full():
                    room = len(candidates)
                    if self.max_nb_img > 0:
                        room = min(room, self.max_nb_img - len(present))
                    batch = [candidates.popleft() for _ in range(room)]
                    urls = [url for _, _, url in batch]
                    for (record, size, _), result in zip(
                        batch, pool.map(fetcher.fetch, urls), strict=True
                    ):
                        if self._keep(record, size, result, spec, present, summary):
                            bar.update(1)
                if is_full():
                    break
        finally:
            # Closing the generator now means no further page is requested.
            pages.close()
            bar.close()
        logger.info("%s", summary.format())

    def _candidates(self, entries, present, summary):
        """Yield ``(record, size, url)`` for the entries worth downloading."""
        for entry in entries:
            record = PhotoRecord.from_api(entry)
            if record is None:
                reason = SKIP_NO_ID
            elif record.license not in self.licenses:
                reason = SKIP_LICENSE
            elif record.id in present:
                reason = SKIP_PRESENT
            elif record.id in self.folder_of_id:
                reason = SKIP_OTHER_CLASS
            else:
                choice = record.choose_url(self.size)
                if choice is None:
                    reason = SKIP_NO_URL
                else:
                    yield record, *choice
                    continue
            summary.skipped[reason] += 1
            logger.debug("Skipped %s: %s.", getattr(record, "id", entry), reason)

    def _keep(self, record, size, result, spec, present, summary):
        """Move a fetched file into its class folder; return True if it was kept."""
        if result.status == UNAVAILABLE:
            summary.skipped[SKIP_UNAVAILABLE] += 1
            logger.info("Photo %s is no longer available on Flickr.", record.id)
            return False
        if result.status != OK:
            summary.failed[result.category] += 1
            logger.warning(
                "Gave up on photo %s after %d requests: %s. A rerun will try again.",
                record.id,
                result.requests,
                result.reason,
            )
            return False

        twin = self.path_of_hash.get(result.sha256)
        if twin is not None:
            result.path.unlink(missing_ok=True)
            summary.skipped[SKIP_DUPLICATE] += 1
            logger.info("Photo %s has the same bytes as %s; not kept.", record.id, twin)
            return False

        final = self.dest / spec.folder / f"{record.id}{result.extension}"
        os.replace(result.path, final)
        self.path_of_hash[result.sha256] = final
        self.folder_of_id[record.id] = spec.folder
        present.add(record.id)
        summary.downloaded += 1
        self.attribution[record.id] = attribution_row(
            record,
            folder=spec.folder,
            file_name=final.name,
            size=size,
            keyword=spec.text,
        )
        if size != self.size:
            logger.info(
                "Photo %s has no %s size; fetched %s.", record.id, self.size, size
            )
        return True
