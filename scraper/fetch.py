"""Downloading one photo file: retries, checks, and a temporary file until it is whole.

A file counts as whole only when the response had status 200 and an ``image/*``
content type, the body was not empty, its length matched ``Content-Length``, and
Pillow could both verify and fully decode it. ``Image.verify()`` alone accepts a
JPEG cut short (checked with Pillow 13), so the pixels are decoded too.
"""

import email.utils
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from scraper.folders import InvalidImageError, check_image, create_temporary_file
from scraper.retry import RetryPolicy

logger = logging.getLogger(__name__)

USER_AGENT = "butterfly-convnet-scraper/0.1 (+python-requests)"

# Flickr's image servers redirect a request for a deleted or private photo to a
# generic image whose file name starts with this.
PLACEHOLDER_PREFIX = "photo_unavailable"

# Pillow format -> file extension. Flickr serves JPEG for every size except
# originals, which keep the upload's format.
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif"}

OK = "ok"
UNAVAILABLE = "unavailable"
FAILED = "failed"
INTERRUPTED = "interrupted"


@dataclass
class FetchResult:
    """Outcome of downloading one photo URL.

    Attributes
    ----------
    status : str
        ``"ok"``, ``"unavailable"`` (Flickr's placeholder), ``"failed"``, or
        ``"interrupted"`` when :meth:`PhotoFetcher.stop` ended the attempts.
    reason : str
        Why it failed, in words; empty when ``status`` is ``"ok"``.
    path : pathlib.Path or None
        Temporary file holding the checked image, only when ``status`` is ``"ok"``.
        The caller moves it into place or deletes it.
    sha256 : str
        Hex digest of the file, only when ``status`` is ``"ok"``.
    extension : str
        ``".jpg"``, ``".png"`` or ``".gif"``, from the decoded format.
    requests : int
        HTTP requests made for this URL, redirects and retries included.
    """

    status: str
    reason: str = ""
    path: Path | None = None
    sha256: str = ""
    extension: str = ""
    requests: int = 0

    @property
    def category(self):
        """``reason`` without its details, for counting failures by kind."""
        return self.reason.split(" (")[0].split(";")[0]


class _TransientError(Exception):
    """A failure that a later attempt may not meet (timeouts, 429, 5xx, bad bodies)."""

    def __init__(self, reason, retry_after=None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _FinalResult(Exception):
    """Carries a result that ends the attempts for this URL."""

    def __init__(self, result):
        super().__init__(result.reason)
        self.result = result


class PhotoFetcher:
    """Download photo URLs into checked temporary files; safe to share by threads.

    Parameters
    ----------
    temp_dir : str or os.PathLike
        Folder for partial files. It must be on the same file system as the class
        folders, so that the final rename is atomic.
    retry : RetryPolicy or None, default=None
        Attempts per file; ``None`` means ``RetryPolicy()``.
    timeout : float, default=30.0
        Seconds to wait for the connection and for each read.
    sleep : callable or None, default=None
        Called with the wait in seconds before each retry. ``None`` waits in a way
        that :meth:`stop` cuts short.
    max_bytes : int, default=64 MiB
        Larger bodies are abandoned.
    max_redirects : int, default=5
        Redirects followed per attempt.
    """

    def __init__(
        self,
        temp_dir,
        *,
        retry=None,
        timeout=30.0,
        sleep=None,
        max_bytes=64 * 2**20,
        max_redirects=5,
    ):
        self.temp_dir = Path(temp_dir)
        self.retry = RetryPolicy() if retry is None else retry
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._stopped = threading.Event()
        self._sleep = self._stopped.wait if sleep is None else sleep
        self._active = 0
        self._active_lock = threading.Lock()
        # requests does not promise that a Session is thread-safe: one per thread.
        self._local = threading.local()

    def stop(self):
        """Make every running and later `fetch` return before its next request.

        A request already sent is not cancelled, so it ends within ``timeout``
        seconds per read. A backoff wait ends at once unless a custom ``sleep``
        was given.

        Returns
        -------
        int
            The number of `fetch` calls running when the stop was requested.
        """
        self._stopped.set()
        with self._active_lock:
            return self._active

    def fetch(self, url):
        """Download ``url`` with retries and return a :class:`FetchResult`."""
        with self._active_lock:
            self._active += 1
        try:
            return self._fetch(url)
        finally:
            with self._active_lock:
                self._active -= 1

    def _fetch(self, url):
        attempts = self.retry.max_retries + 1
        counter = [0]
        for attempt in range(attempts):
            if self._stopped.is_set():
                return FetchResult(INTERRUPTED, "interrupted", requests=counter[0])
            try:
                result = self._attempt(url, counter)
            except _TransientError as error:
                transient = error
            except _FinalResult as final:
                final.result.requests = counter[0]
                return final.result
            else:
                result.requests = counter[0]
                return result

            reason = transient.reason
            if self._stopped.is_set():
                return FetchResult(INTERRUPTED, "interrupted", requests=counter[0])
            if attempt + 1 == attempts:
                return FetchResult(FAILED, reason, requests=counter[0])
            if transient.retry_after is not None:
                delay = transient.retry_after
                if delay > self.retry.max_delay:
                    reason += (
                        f"; Retry-After asks for {delay:.0f} s, more than "
                        f"max_delay={self.retry.max_delay:.0f} s"
                    )
                    return FetchResult(FAILED, reason, requests=counter[0])
            else:
                delay = self.retry.delay(attempt)
            logger.warning(
                "Download of %s failed (%s); retry %d of %d in %.1f s.",
                url,
                reason,
                attempt + 1,
                self.retry.max_retries,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable: the loop returns")

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    def _attempt(self, url, counter):
        """Make one attempt, following redirects by hand to spot the placeholder."""
        current = url
        for _ in range(self.max_redirects + 1):
            if self._stopped.is_set():
                raise _FinalResult(FetchResult(INTERRUPTED, "interrupted"))
            if is_placeholder(current):
                raise _FinalResult(FetchResult(UNAVAILABLE, "photo unavailable"))
            try:
                counter[0] += 1
                response = self._session().get(
                    current, stream=True, timeout=self.timeout, allow_redirects=False
                )
            except requests.Timeout:
                raise _TransientError("timed out") from None
            except requests.RequestException as error:
                raise _TransientError(
                    f"connection failed ({type(error).__name__})"
                ) from None

            with response:
                location = response.headers.get("Location")
                if response.is_redirect and location:
                    current = urljoin(current, location)
                    if urlsplit(current).scheme not in ("http", "https"):
                        raise _FinalResult(
                            FetchResult(FAILED, f"redirect to a non-HTTP URL {current}")
                        )
                    continue
                return self._read(response)
        raise _FinalResult(FetchResult(FAILED, "too many redirects"))

    def _read(self, response):
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _TransientError(f"HTTP status {status}", retry_after)
        if status != 200:
            raise _FinalResult(FetchResult(FAILED, f"HTTP status {status}"))

        content_type = response.headers.get("Content-Type", "")
        content_type = content_type.split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            raise _TransientError(
                f"not an image (Content-Type {content_type or 'missing'})"
            )

        descriptor, path = create_temporary_file(self.temp_dir, ".photo-")
        try:
            sha256, size = self._write_body(response, descriptor)
            _check_length(response, size)
            extension = _check_image(path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return FetchResult(OK, path=path, sha256=sha256, extension=extension)

    def _write_body(self, response, descriptor):
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(descriptor, "wb") as file:
            try:
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise _FinalResult(
                            FetchResult(FAILED, f"larger than {self.max_bytes} bytes")
                        )
                    digest.update(chunk)
                    file.write(chunk)
            except requests.RequestException as error:
                # urllib3 2.x raises when the connection closes before the
                # Content-Length bytes arrived; requests wraps that error.
                raise _TransientError(
                    f"truncated body (connection broken after {size} bytes, "
                    f"{type(error).__name__})"
                ) from None
        return digest.hexdigest(), size


def _check_length(response, size):
    if size == 0:
        raise _TransientError("empty body")
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) != size:
        raise _TransientError(f"truncated body ({size} of {declared} bytes)")


def _check_image(path):
    """Return the file extension for the image at ``path``, or raise if it is bad."""
    try:
        image_format = check_image(path)
    except InvalidImageError as error:
        raise _TransientError(f"invalid image ({error})") from None
    if image_format not in EXTENSIONS:
        raise _FinalResult(
            FetchResult(FAILED, f"unsupported image format {image_format}")
        )
    return EXTENSIONS[image_format]


def is_placeholder(url):
    """Return True if ``url`` points at Flickr's "photo unavailable" image."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name.startswith(PLACEHOLDER_PREFIX)


def parse_retry_after(value):
    """Return the wait in seconds that a ``Retry-After`` header requests.

    The header contains either a number of seconds or an HTTP date. Returns ``None``
    when the header is missing or malformed.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
