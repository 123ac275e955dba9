"""Photo records as ``flickr.photos.search`` returns them, and which URL to fetch.

Each size the scraper offers maps to one ``extras`` field of the search response.
Flickr leaves a field out when that size does not exist or may not be shown (the
original is often withheld), so a record may hold any subset of them.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

# Size name -> the `extras` field that contains its URL. Pixel sizes are Flickr's:
# thumbnail 100 px on the longest side, square 75x75, medium 500 px on the
# longest side, original as uploaded.
SIZE_FIELDS = {
    "thumbnail": "url_t",
    "square": "url_sq",
    "medium": "url_m",
    "original": "url_o",
}
SIZES = tuple(SIZE_FIELDS)

# After the requested size, the others are tried largest first, so a photo that
# lacks one size is fetched at the best size it has.
FALLBACK_ORDER = ("original", "medium", "square", "thumbnail")


@dataclass(frozen=True)
class PhotoRecord:
    """One photo of a search result, with the fields the scraper uses.

    Attributes
    ----------
    id : str
        Flickr photo id; files are named after it.
    owner : str
        Owner's NSID (the id with an ``@`` in it).
    owner_name : str
        Owner's display name, empty when Flickr did not send one.
    title : str
        Photo title, possibly empty, any unicode.
    license : int or None
        Flickr licence id, ``None`` when the field is missing or not a number.
    urls : dict of str to str
        Size name -> URL, for the sizes the response holds.
    """

    id: str
    owner: str
    owner_name: str
    title: str
    license: int | None
    urls: dict

    @classmethod
    def from_api(cls, item):
        """Build a record from one entry of ``photos.photo``; ``None`` if it has no id.

        Missing fields become empty strings, so a sparse entry never raises
        ``KeyError``. URLs other than ``http`` or ``https`` are dropped.
        """
        if not isinstance(item, dict):
            return None
        photo_id = str(item.get("id") or "").strip()
        # The id becomes a file name, so anything but digits is refused.
        if not photo_id.isdigit():
            return None

        urls = {}
        for size, field in SIZE_FIELDS.items():
            url = item.get(field)
            if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
                urls[size] = url

        return cls(
            id=photo_id,
            owner=str(item.get("owner") or ""),
            owner_name=str(item.get("ownername") or ""),
            title=_title(item.get("title")),
            license=_license_id(item.get("license")),
            urls=urls,
        )

    @property
    def page_url(self):
        """The photo's page on flickr.com, which the licences ask credits to link."""
        return f"https://www.flickr.com/photos/{self.owner}/{self.id}"

    def choose_url(self, size):
        """Return ``(size, url)`` for ``size``, or the first fallback that exists.

        Returns ``None`` when the record contains no usable URL at all.
        """
        for candidate in (size, *FALLBACK_ORDER):
            if candidate in self.urls:
                return candidate, self.urls[candidate]
        return None


def _title(value):
    # photos.search sends a plain string; other methods such as photos.getInfo
    # wrap text fields as {"_content": ...}, which is accepted here too.
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("_content", ""))
    return "" if value is None else str(value)


def _license_id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
