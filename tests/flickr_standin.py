"""A Flickr stand-in for the scraper tests: an HTTP server on 127.0.0.1.

It responds to ``flickr.photos.search`` at ``/services/rest/`` as Flickr does, in
the formats flickrapi requests (``format=json`` with or without
``nojsoncallback``, and ``format=rest`` XML for ``etree``), checks the OAuth 1.0a
HMAC-SHA1 signature flickrapi puts on every call, and serves real photos from
``<repo>/../shared/data/butterflies`` at Flickr-style image URLs (original bytes,
or JPEGs resized with Pillow for the smaller sizes).

Each search text in ``DEFAULT_KEYWORDS`` lists the photos of one class folder. The
photos get 11-digit ids, unicode titles, and licences from ``LICENSE_CYCLE``, so the
``license`` filter has something to remove. Every other photo has no original
size, as on Flickr, where owners can withhold it.

Faults are injected on request, each for a number of requests (``times``, counted
per photo or per page) or for good: see :meth:`FlickrStandIn.inject_photo_fault`,
:meth:`FlickrStandIn.inject_search_fault` and :meth:`FlickrStandIn.remove_urls`.
Every request is recorded in :attr:`FlickrStandIn.hits`.
"""

import hashlib
import io
import json
import math
import os
import re
import threading
import types
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from oauthlib.oauth1.rfc5849 import signature
from PIL import Image

from scraper import download_flickr_photos
from scraper.folders import IMAGE_SUFFIXES, class_folders
from scraper.licenses import DEFAULT_LICENSES
from scraper.retry import RetryPolicy

# Test traffic must reach the stand-in directly, never through a proxy that the
# environment may configure for requests.
for _variable in ("NO_PROXY", "no_proxy"):
    _hosts = [os.environ.get(_variable), "127.0.0.1", "localhost"]
    os.environ[_variable] = ",".join(host for host in _hosts if host)

PHOTO_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "butterflies"
API_KEY = "standin-key-3f9a1c"
API_SECRET = "standin-secret-8d42e7"

DEFAULT_KEYWORDS = {
    "meadow brown": "maniola_jurtina",
    "gatekeeper": "pyronia_tithonus",
    "small heath": "coenonympha_pamphilus",
}
# Photo i of a class gets LICENSE_CYCLE[i % 9]: ids 2 (NonCommercial) and 0 (all
# rights reserved) are outside the scraper's default filter.
LICENSE_CYCLE = (4, 5, 9, 4, 2, 10, 4, 7, 0)

# flickr.photos.search returns at most this many distinct results per query.
MAX_RESULTS = 4000
PLACEHOLDER_PATH = "/images/photo_unavailable.png"

SIZE_SUFFIXES = {"square": "s", "thumbnail": "t", "medium": "", "original": "o"}
SIZE_FIELDS = {"square": "sq", "thumbnail": "t", "medium": "m", "original": "o"}
PHOTO_FAULTS = (
    "rate_limit",
    "server_error",
    "timeout",
    "truncated",
    "html",
    "empty",
    "corrupt",
    "placeholder",
)
SEARCH_FAULTS = (
    "rate_limit",
    "server_error",
    "timeout",
    "html",
    "duplicate_page",
    "repeat_forever",
    "empty_page",
    "ignore_license",
)
_PHOTO_PATH = re.compile(
    r"^/(?P<server>\d+)/(?P<id>\d+)_(?P<secret>[0-9a-f]+)(?:_(?P<suffix>[sto]))?\.jpg$"
)
_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Flickr: Service unavailable</title></head>"
    b"<body><p>Service temporarily unavailable.</p></body></html>"
)


@dataclass
class StandInPhoto:
    """One photo of the stand-in's catalogue."""

    id: str
    owner: str
    owner_name: str
    title: str
    license: int
    secret: str
    path: Path | None
    sizes: tuple = ("square", "thumbnail", "medium", "original")
    server: str = "65535"


@dataclass
class Hit:
    """One request the stand-in received."""

    kind: str
    path: str
    photo_id: str = ""
    size: str = ""
    page: int = 0
    status: int = 0


@dataclass
class _Fault:
    kind: str
    target: str
    keys: frozenset | None
    times: int | None
    options: dict
    fired: dict = field(default_factory=dict)

    def take(self, key):
        """Return True, and count it, if this fault applies to ``key`` now."""
        if self.keys is not None and key not in self.keys:
            return False
        count = self.fired.get(key, 0)
        if self.times is not None and count >= self.times:
            return False
        self.fired[key] = count + 1
        return True


class FlickrStandIn:
    """A threaded HTTP server on 127.0.0.1 that plays the Flickr API and image CDN.

    Use it as a context manager; :attr:`rest_url` is the endpoint to give
    flickrapi. ``photo_root`` must hold the folders named in ``keywords``.
    """

    def __init__(self, photo_root=PHOTO_ROOT, keywords=None):
        self.photo_root = Path(photo_root)
        if not self.photo_root.is_dir():
            raise FileNotFoundError(
                f"Photo folder for the Flickr stand-in not found: {self.photo_root}"
            )
        self.keywords = dict(DEFAULT_KEYWORDS if keywords is None else keywords)
        self.catalogue = {}
        self.photos_by_id = {}
        for index, (text, folder) in enumerate(self.keywords.items()):
            self._add_class(index, text, folder)
        self.hits = []
        self._faults = []
        self._stripped = {}
        self._lock = threading.Lock()
        self._bytes = {}
        self._stopping = threading.Event()
        self._server = None

    # Catalogue ---------------------------------------------------------------

    def _add_class(self, index, text, folder):
        files = sorted((self.photo_root / folder).glob("*.jpg"))
        if not files:
            raise FileNotFoundError(f"No photo in {self.photo_root / folder}")
        photos = []
        for number, path in enumerate(files):
            photo_id = str(52_000_000_000 + index * 100_000 + number)
            sizes = ("square", "thumbnail", "medium")
            if number % 2 == 0:
                sizes += ("original",)
            photos.append(
                StandInPhoto(
                    id=photo_id,
                    owner=f"{1234567 + index}@N0{index % 9}",
                    owner_name=f"Sommerv\u00f6gel {index} \u2013 \u00c9tude",
                    title=(
                        f"{text.title()} n\u00b0{number}, \u00ab{folder}\u00bb "
                        f'\u00e9t\u00e9 "2023" \U0001f98b'
                    ),
                    license=LICENSE_CYCLE[number % len(LICENSE_CYCLE)],
                    secret=hashlib.sha1(photo_id.encode()).hexdigest()[:10],
                    path=path,
                    sizes=sizes,
                )
            )
        self.catalogue[text] = photos
        self.photos_by_id.update((photo.id, photo) for photo in photos)

    def add_photo(self, text, *, like, photo_id, license=None):
        """Append to ``text``'s results a new id serving the same file as ``like``."""
        photo = StandInPhoto(
            id=photo_id,
            owner=like.owner,
            owner_name=like.owner_name,
            title=like.title + " (copy)",
            license=like.license if license is None else license,
            secret=hashlib.sha1(photo_id.encode()).hexdigest()[:10],
            path=like.path,
            sizes=like.sizes,
        )
        self.catalogue.setdefault(text, []).append(photo)
        self.photos_by_id[photo.id] = photo
        return photo

    def add_bulk(self, text, count):
        """List ``count`` photos without any URL for ``text``, to test the 4,000 cap."""
        photos = [
            StandInPhoto(
                id=str(53_000_000_000 + number),
                owner="99999999@N00",
                owner_name="bulk",
                title=f"bulk {number}",
                license=4,
                secret="0" * 10,
                path=None,
                sizes=(),
            )
            for number in range(count)
        ]
        self.catalogue[text] = photos
        self.photos_by_id.update((photo.id, photo) for photo in photos)
        return photos

    def listing(self, text, licenses=DEFAULT_LICENSES):
        """Return the photos a search for ``text`` lists with that licence filter."""
        allowed = {int(item) for item in licenses}
        photos = self.catalogue.get(text.strip().lower(), [])
        return [photo for photo in photos if photo.license in allowed]

    # Faults ------------------------------------------------------------------

    def inject_photo_fault(self, kind, photo_ids=None, times=None, **options):
        """Make image requests fail.

        Parameters
        ----------
        kind : str
            One of ``PHOTO_FAULTS``: ``rate_limit`` (429 with ``Retry-After``,
            option ``retry_after``), ``server_error`` (option ``status``, default
            500), ``timeout`` (no response for option ``seconds``), ``truncated``
            (half the body, then the connection closes), ``html`` (an HTML page
            with status 200), ``empty`` (an empty image/jpeg body), ``corrupt``
            (half a JPEG with a matching Content-Length), ``placeholder`` (302 to
            Flickr's "photo unavailable" image).
        photo_ids : iterable of str or None
            Photos concerned; ``None`` means all.
        times : int or None
            Requests per photo that fail; ``None`` means every request.
        """
        self._add_fault("photo", kind, photo_ids, times, options)

    def inject_search_fault(self, kind, pages=None, times=None, **options):
        """Make ``flickr.photos.search`` misbehave.

        Parameters
        ----------
        kind : str
            One of ``SEARCH_FAULTS``: ``rate_limit``, ``server_error``,
            ``timeout`` and ``html`` as for photos; ``duplicate_page`` (the page
            starts with option ``overlap`` photos of the previous page, default a
            whole page); ``repeat_forever`` (reports option ``pages`` pages, a
            million by default, and every page lists page 1); ``empty_page`` (the
            page lists nothing); ``ignore_license`` (the ``license`` filter is
            ignored).
        pages : iterable of int or None
            Pages concerned; ``None`` means all.
        times : int or None
            Requests per page that misbehave; ``None`` means every request.
        """
        self._add_fault("search", kind, pages, times, options)

    def _add_fault(self, target, kind, keys, times, options):
        known = PHOTO_FAULTS if target == "photo" else SEARCH_FAULTS
        if kind not in known:
            raise ValueError(f"Unknown {target} fault {kind!r}; expected {known}")
        keys = None if keys is None else frozenset(keys)
        with self._lock:
            self._faults.append(_Fault(kind, target, keys, times, options))

    def remove_urls(self, photo_ids, sizes=None):
        """List these photos without the URL fields of ``sizes`` (``None``: all)."""
        with self._lock:
            for photo_id in photo_ids:
                self._stripped[photo_id] = None if sizes is None else set(sizes)

    def clear_faults(self):
        """Remove every fault and restore every URL field."""
        with self._lock:
            self._faults.clear()
            self._stripped.clear()

    def _take_fault(self, target, key, kinds=None):
        with self._lock:
            for fault in self._faults:
                if fault.target != target:
                    continue
                if kinds is not None and fault.kind not in kinds:
                    continue
                if fault.take(key):
                    return fault
        return None

    # Request log -------------------------------------------------------------

    def record(self, hit):
        with self._lock:
            self.hits.append(hit)

    def search_pages(self):
        """Return the page numbers of every search request, in order."""
        with self._lock:
            return [hit.page for hit in self.hits if hit.kind == "search"]

    def photo_requests(self, photo_id=None):
        """Return how many image requests were made, for one photo or in all."""
        with self._lock:
            return sum(
                1
                for hit in self.hits
                if hit.kind == "photo" and photo_id in (None, hit.photo_id)
            )

    def requested_photo_ids(self):
        """Return the set of photo ids whose image was requested."""
        with self._lock:
            return {hit.photo_id for hit in self.hits if hit.kind == "photo"}

    def reset_log(self):
        with self._lock:
            self.hits.clear()

    # Server ------------------------------------------------------------------

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def rest_url(self):
        return f"{self.base_url}/services/rest/"

    def photo_url(self, photo, size):
        suffix = SIZE_SUFFIXES[size]
        name = f"{photo.id}_{photo.secret}" + (f"_{suffix}" if suffix else "")
        return f"{self.base_url}/{photo.server}/{name}.jpg"

    def start(self):
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # Responses ---------------------------------------------------------------

    def image_bytes(self, photo, size):
        """Return the bytes served for ``photo`` at ``size``; cached."""
        key = (photo.path, size)
        with self._lock:
            if key in self._bytes:
                return self._bytes[key]
        data = _render(photo.path, size)
        with self._lock:
            self._bytes[key] = data
        return data

    def search_response(self, params):
        """Return ``(status, content type, body)`` for a REST call's parameters."""
        response_format = params.get("format", "rest")
        method = params.get("method", "")
        if method != "flickr.photos.search":
            message = f'Method "{method}" not found'
            return _api_error(response_format, params, 112, message)

        page = max(1, _int(params.get("page"), 1))
        per_page = min(500, max(1, _int(params.get("per_page"), 100)))
        text = params.get("text", "").strip().lower()
        licenses = {_int(item, -1) for item in params.get("license", "").split(",")}
        extras = set(params.get("extras", "").split(","))

        photos = self.catalogue.get(text, [])
        if not self._take_fault("search", page, {"ignore_license"}):
            if params.get("license"):
                photos = [photo for photo in photos if photo.license in licenses]
        total = len(photos)
        pages = math.ceil(total / per_page)
        # Past the 4,000th result Flickr serves earlier results again.
        last_reachable = max(1, math.ceil(min(total, MAX_RESULTS) / per_page))
        start = (min(page, last_reachable) - 1) * per_page
        listed = photos[start : start + per_page]

        fault = self._take_fault(
            "search", page, {"duplicate_page", "repeat_forever", "empty_page"}
        )
        if fault is not None and fault.kind == "duplicate_page" and page > 1:
            overlap = min(per_page, fault.options.get("overlap", per_page))
            previous = photos[start - per_page : start]
            listed = previous[len(previous) - overlap :] + listed[: per_page - overlap]
        elif fault is not None and fault.kind == "repeat_forever":
            pages = fault.options.get("pages", 1_000_000)
            total = pages * per_page
            listed = photos[:per_page]
        elif fault is not None and fault.kind == "empty_page":
            listed = []

        entries = [self._entry(photo, extras) for photo in listed]
        block = {
            "page": page,
            "pages": pages,
            "perpage": per_page,
            "total": str(total),
            "photo": entries,
        }
        return _api_ok(response_format, params, block)

    def _entry(self, photo, extras):
        entry = {
            "id": photo.id,
            "owner": photo.owner,
            "secret": photo.secret,
            "server": photo.server,
            "farm": 66,
            "title": photo.title,
            "ispublic": 1,
            "isfriend": 0,
            "isfamily": 0,
        }
        if "license" in extras:
            entry["license"] = str(photo.license)
        if "owner_name" in extras:
            entry["ownername"] = photo.owner_name
        with self._lock:
            stripped = self._stripped.get(photo.id, set())
        for size in photo.sizes:
            name = SIZE_FIELDS[size]
            if f"url_{name}" not in extras:
                continue
            if stripped is None or size in stripped:
                continue
            entry[f"url_{name}"] = self.photo_url(photo, size)
        return entry


class _Handler(BaseHTTPRequestHandler):
    standin = None

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._dispatch(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(length).decode("utf-8")
        params = dict(parse_qsl(urlsplit(self.path).query))
        params.update(parse_qsl(self._body))
        self._dispatch(params)

    def _dispatch(self, params):
        path = urlsplit(self.path).path
        if path == "/services/rest/":
            self._serve_api(params)
        elif path == PLACEHOLDER_PATH:
            self.standin.record(Hit("placeholder", path, status=200))
            self._send(200, "image/png", _placeholder_png())
        else:
            self._serve_photo(path)

    def _serve_api(self, params):
        standin = self.standin
        page = _int(params.get("page"), 1)
        hit = Hit("search", self.path, page=page)
        standin.record(hit)
        fault = standin._take_fault(
            "search", page, {"rate_limit", "server_error", "timeout", "html"}
        )
        if fault is not None and self._apply_transport_fault(fault, hit):
            return

        error = self._check_signature(params)
        if error is not None:
            status, content_type, body = _api_error(
                params.get("format", "rest"), params, *error
            )
        else:
            status, content_type, body = standin.search_response(params)
        hit.status = status
        self._send(status, content_type, body)

    def _check_signature(self, params):
        """Return ``(code, message)`` of Flickr's error if the OAuth check fails."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return 100, "Invalid API Key (Key not found)"
        query = urlsplit(self.path).query
        oauth = signature.collect_parameters(
            uri_query=query,
            body=getattr(self, "_body", ""),
            headers={"Authorization": header},
        )
        oauth_fields = {
            key: signature.utils.unescape(value)
            for key, value in signature.utils.parse_authorization_header(header)
        }
        if oauth_fields.get("oauth_consumer_key") != API_KEY:
            return 100, "Invalid API Key (Key not found)"
        request = types.SimpleNamespace(
            params=oauth,
            uri=f"http://{self.headers['Host']}{urlsplit(self.path).path}",
            http_method=self.command,
            signature=oauth_fields.get("oauth_signature", ""),
        )
        if not signature.verify_hmac_sha1(request, client_secret=API_SECRET):
            return 96, "Invalid signature"
        return None

    def _serve_photo(self, path):
        standin = self.standin
        match = _PHOTO_PATH.match(path)
        photo = standin.photos_by_id.get(match["id"]) if match else None
        if photo is None or photo.secret != match["secret"] or photo.path is None:
            standin.record(Hit("photo", path, status=404))
            self._send(404, "text/html", b"<html>Not found</html>")
            return
        size = {"s": "square", "t": "thumbnail", None: "medium", "o": "original"}
        size = size[match["suffix"]]
        hit = Hit("photo", path, photo_id=photo.id, size=size)
        standin.record(hit)
        if size not in photo.sizes:
            hit.status = 404
            self._send(404, "text/html", b"<html>Not found</html>")
            return

        body = standin.image_bytes(photo, size)
        fault = standin._take_fault("photo", photo.id)
        if fault is not None:
            if self._apply_transport_fault(fault, hit):
                return
            hit.status = self._apply_body_fault(fault, body)
            return
        hit.status = 200
        self._send(200, "image/jpeg", body)

    def _apply_transport_fault(self, fault, hit):
        """Send the faulty response of a fault shared by API and images."""
        if fault.kind == "rate_limit":
            hit.status = 429
            retry_after = str(fault.options.get("retry_after", 2))
            self._send(
                429, "text/plain", b"Too Many Requests", {"Retry-After": retry_after}
            )
        elif fault.kind == "server_error":
            hit.status = fault.options.get("status", 500)
            self._send(hit.status, "text/html", _HTML_PAGE)
        elif fault.kind == "timeout":
            hit.status = 0
            self.standin._stopping.wait(fault.options.get("seconds", 3.0))
            self.close_connection = True
        elif fault.kind == "html":
            hit.status = 200
            self._send(200, "text/html; charset=utf-8", _HTML_PAGE)
        else:
            return False
        return True

    def _apply_body_fault(self, fault, body):
        if fault.kind == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return 200
        if fault.kind == "empty":
            self._send(200, "image/jpeg", b"")
            return 200
        if fault.kind == "corrupt":
            self._send(200, "image/jpeg", body[: len(body) // 2])
            return 200
        if fault.kind == "placeholder":
            self._send(302, "text/html", b"", {"Location": PLACEHOLDER_PATH})
            return 302
        raise AssertionError(f"unhandled photo fault {fault.kind}")

    def _send(self, status, content_type, body, headers=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first, as the timeout tests intend.
            pass


def _api_ok(response_format, params, block):
    if response_format == "json":
        return _json_response(params, {"photos": block, "stat": "ok"})
    root = ElementTree.Element("rsp", stat="ok")
    photos = ElementTree.SubElement(
        root, "photos", {key: str(block[key]) for key in block if key != "photo"}
    )
    for entry in block["photo"]:
        ElementTree.SubElement(photos, "photo", {k: str(v) for k, v in entry.items()})
    return 200, "text/xml; charset=utf-8", ElementTree.tostring(root, "utf-8")


def _api_error(response_format, params, code, message):
    # Flickr reports API errors with HTTP status 200 and stat="fail".
    if response_format == "json":
        body = {"stat": "fail", "code": code, "message": message}
        return _json_response(params, body)
    root = ElementTree.Element("rsp", stat="fail")
    ElementTree.SubElement(root, "err", code=str(code), msg=message)
    return 200, "text/xml; charset=utf-8", ElementTree.tostring(root, "utf-8")


def _json_response(params, payload):
    text = json.dumps(payload, ensure_ascii=False)
    if params.get("nojsoncallback") != "1":
        text = f"jsonFlickrApi({text})"
    return 200, "application/json; charset=utf-8", text.encode("utf-8")


def _render(path, size):
    """Return the bytes Flickr would serve for the photo at ``path`` and ``size``."""
    if size == "original":
        return path.read_bytes()
    with Image.open(path) as image:
        image = image.convert("RGB")
        if size == "square":
            side = min(image.size)
            left = (image.width - side) // 2
            top = (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side)).resize((75, 75))
        else:
            image.thumbnail((100, 100) if size == "thumbnail" else (500, 500))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        return buffer.getvalue()


_PLACEHOLDER = []


def _placeholder_png():
    # A real, valid PNG, so only its URL distinguishes it from a photo.
    if not _PLACEHOLDER:
        buffer = io.BytesIO()
        Image.new("RGB", (500, 374), (222, 222, 222)).save(buffer, "PNG")
        _PLACEHOLDER.append(buffer.getvalue())
    return _PLACEHOLDER[0]


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# Test helpers ----------------------------------------------------------------


class SleepRecorder:
    """Stands in for ``time.sleep``: records each wait and returns at once."""

    def __init__(self):
        self.waits = []
        self._lock = threading.Lock()

    def __call__(self, seconds):
        with self._lock:
            self.waits.append(seconds)


def run_download(standin, dest, keywords, **options):
    """Run ``download_flickr_photos`` against the stand-in with test settings.

    Retries back off by 1 s, doubled, but ``sleep`` only records the waits, and
    requests time out after 0.5 s. ``options`` override any argument.
    """
    arguments = {
        "dest": dest,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "rest_url": standin.rest_url,
        "timeout": 0.5,
        "retry": RetryPolicy(max_retries=3, backoff=1.0, max_delay=30.0),
        "progress": False,
        "sleep": SleepRecorder(),
        "workers": 4,
    }
    arguments.update(options)
    return download_flickr_photos(keywords, **arguments)


def folder_problems(dest):
    """Return what is wrong with the class folders of ``dest``; empty when clean.

    Every file of a class folder must be ``<digits><image suffix>``, open and
    decode fully with Pillow, and no partial-file folder may be left behind.
    """
    dest = Path(dest)
    problems = []
    for leftover in dest.glob(".partial*"):
        problems.append(f"leftover {leftover}")
    for folder in class_folders(dest):
        for path in folder.iterdir():
            stem_ok = path.stem.isdigit() and path.suffix in IMAGE_SUFFIXES
            if not path.is_file() or not stem_ok:
                problems.append(f"unexpected entry {path}")
                continue
            try:
                with Image.open(path) as image:
                    image.load()
            except OSError as error:
                problems.append(f"invalid image {path}: {error}")
    return problems


def class_ids(dest, folder):
    """Return the photo ids present in ``dest/folder``."""
    return {path.stem for path in (Path(dest) / folder).glob("*") if path.is_file()}
