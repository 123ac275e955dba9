"""Paging through ``flickr.photos.search`` with ``flickrapi``.

flickrapi 2.4's ``walk()`` calls ElementTree's ``getchildren()``, which Python 3.9
removed, so this module requests the pages itself. It requests the ``parsed-json``
format, which flickrapi sends as ``format=json&nojsoncallback=1``.
"""

import logging
import math
import re
import time

import flickrapi
import requests

from scraper._checks import check_int
from scraper.credentials import redact
from scraper.errors import ScraperError
from scraper.photos import SIZE_FIELDS
from scraper.retry import RetryPolicy

logger = logging.getLogger(__name__)

FLICKR_REST_URL = flickrapi.FlickrAPI.REST_URL

# flickr.photos.search returns at most this many distinct photos per query, however
# many it reports in `total`. Past it, further pages repeat earlier results.
MAX_SEARCH_RESULTS = 4000
MAX_PER_PAGE = 500

EXTRAS = ",".join(("license", "owner_name", *SIZE_FIELDS.values()))

# flickrapi 2.4 raises FlickrError("do_request: Status code 500 received"), without
# a code, when the HTTP status is not 200; the status is only in the message.
_STATUS_PATTERN = re.compile(r"Status code (\d{3})")


class SearchPage:
    """One page of results.

    Attributes
    ----------
    number : int
        Page number, from 1.
    pages : int
        Number of pages Flickr reports for the query.
    total : int
        Number of matching photos Flickr reports, which may exceed what it returns.
    photos : list of dict
        Entries of ``photos.photo`` whose ids no earlier page returned, and any
        entries without an id.
    """

    def __init__(self, number, pages, total, photos):
        self.number = number
        self.pages = pages
        self.total = total
        self.photos = photos

    def __repr__(self):
        return (
            f"SearchPage(number={self.number}, pages={self.pages}, "
            f"total={self.total}, photos=<{len(self.photos)} new>)"
        )


class FlickrSearch:
    """Run ``flickr.photos.search`` through ``flickrapi``, one page at a time.

    Parameters
    ----------
    credentials : Credentials
        API key and secret; flickrapi signs every call with them (OAuth 1.0a).
    rest_url : str, default=FLICKR_REST_URL
        Endpoint of the REST API. flickrapi reads it from the ``REST_URL``
        attribute of its client, which this class sets; tests point it at a local
        stand-in.
    timeout : float, default=30.0
        Seconds to wait for a response.
    retry : RetryPolicy or None, default=None
        Retries for pages that fail with HTTP 429 or 5xx, a timeout or a body that
        is not JSON. ``None`` means ``RetryPolicy()``.
    sleep : callable, default=time.sleep
        Called with the wait in seconds before each retry.
    """

    def __init__(
        self,
        credentials,
        *,
        rest_url=FLICKR_REST_URL,
        timeout=30.0,
        retry=None,
        sleep=time.sleep,
    ):
        self._credentials = credentials
        self.rest_url = rest_url
        self.retry = RetryPolicy() if retry is None else retry
        self._sleep = sleep
        self._flickr = flickrapi.FlickrAPI(
            credentials.api_key,
            credentials.api_secret,
            format="parsed-json",
            store_token=False,
            cache=False,
            timeout=timeout,
        )
        self._flickr.REST_URL = rest_url

    def __repr__(self):
        return f"FlickrSearch(rest_url={self.rest_url!r})"

    def pages(self, text, *, licenses, per_page=100, **params):
        """Yield the pages of results for a free-text search.

        Paging stops after the last page Flickr reports, after the page that
        reaches ``MAX_SEARCH_RESULTS``, or at the first page that returns no id
        unseen before, whichever comes first; no page past those is requested.
        An empty page is logged and skipped.

        Parameters
        ----------
        text : str
            Search text, matched by Flickr against titles, descriptions and tags.
        licenses : tuple of int
            Licence ids, sent as the API's comma-separated ``license`` parameter.
        per_page : int, default=100
            Results per page, 1 to 500.
        **params
            Further ``flickr.photos.search`` parameters, such as ``sort``.

        Yields
        ------
        SearchPage
        """
        per_page = check_int("per_page", per_page, minimum=1, maximum=MAX_PER_PAGE)
        last_reachable = math.ceil(MAX_SEARCH_RESULTS / per_page)
        query = {
            "text": text,
            "license": ",".join(str(license_id) for license_id in licenses),
            "extras": EXTRAS,
            "per_page": per_page,
            "content_type": 1,
            "media": "photos",
            **params,
        }
        seen = set()
        number = 1
        while True:
            block = self._call(page=number, **query)
            pages = _as_int(block.get("pages"))
            total = _as_int(block.get("total"))
            if number == 1 and total > MAX_SEARCH_RESULTS:
                logger.warning(
                    "Flickr reports %d photos for %r but returns at most %d per "
                    "query; narrow the search (for example by date) to reach the "
                    "rest.",
                    total,
                    text,
                    MAX_SEARCH_RESULTS,
                )

            entries = block.get("photo") or []
            if not isinstance(entries, list):
                entries = []
            new, new_ids = _unseen(entries, seen)
            if not entries:
                logger.info(
                    "Page %d of %d for %r is empty; skipped.", number, pages, text
                )
            elif not new_ids:
                logger.info(
                    "Page %d for %r returned only photos already seen; stopping.",
                    number,
                    text,
                )
                return
            else:
                yield SearchPage(number, pages, total, new)

            if number >= pages:
                return
            if number >= last_reachable:
                logger.warning(
                    "Stopping %r at page %d: Flickr returns at most %d results per "
                    "query.",
                    text,
                    number,
                    MAX_SEARCH_RESULTS,
                )
                return
            number += 1

    def _call(self, **params):
        """Call ``flickr.photos.search``, retrying transient failures.

        Returns the ``photos`` object of the response.

        NOTE: flickrapi does not expose the response headers, so these retries wait
        for the backoff and cannot honour a ``Retry-After`` header.
        """
        attempts = self.retry.max_retries + 1
        for attempt in range(attempts):
            try:
                response = self._flickr.photos.search(**params)
            except flickrapi.FlickrError as error:
                reason, status = self._classify(error)
            except requests.Timeout:
                reason, status = "timed out", None
            except requests.RequestException as error:
                reason, status = f"connection failed ({type(error).__name__})", None
            except ValueError:
                # flickrapi parses the body with json.loads, which raises
                # ValueError on an HTML error page served with status 200.
                reason, status = "response is not JSON", None
            else:
                block = response.get("photos") if isinstance(response, dict) else None
                if isinstance(block, dict):
                    return block
                reason, status = "response has no `photos` object", None

            if attempt + 1 == attempts:
                raise ScraperError(
                    f"flickr.photos.search page {params['page']} failed after "
                    f"{attempts} attempts: {reason}.",
                    status=status,
                )
            delay = self.retry.delay(attempt)
            logger.warning(
                "flickr.photos.search page %d failed (%s); retry %d of %d in %.1f s.",
                params["page"],
                reason,
                attempt + 1,
                self.retry.max_retries,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _classify(self, error):
        """Return ``(reason, status)`` for a retryable error, raise for the rest."""
        message = redact(str(error), self._credentials)
        if error.code is not None:
            # Flickr returned an API error such as 100 (invalid API key), so
            # retrying cannot help.
            raise ScraperError(
                f"Flickr rejected flickr.photos.search: {message}", code=error.code
            ) from None
        match = _STATUS_PATTERN.search(message)
        status = int(match.group(1)) if match else None
        if status is not None and status != 429 and status < 500:
            raise ScraperError(
                f"flickr.photos.search failed with HTTP status {status}.",
                status=status,
            ) from None
        return (f"HTTP status {status}" if status else message), status


def _unseen(entries, seen):
    """Split off the entries that no earlier page returned, and remember their ids.

    Returns the new entries and how many distinct new ids they hold. Entries
    without an id are kept, so that the caller can count them as skipped.
    """
    new = []
    new_ids = 0
    for entry in entries:
        photo_id = str(entry.get("id") or "") if isinstance(entry, dict) else ""
        if not photo_id:
            new.append(entry)
        elif photo_id not in seen:
            seen.add(photo_id)
            new_ids += 1
            new.append(entry)
    return new, new_ids


def _as_int(value):
    # JSON responses have given `total` both as a number and as a string.
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
