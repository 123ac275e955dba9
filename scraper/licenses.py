"""Flickr licence ids, their names and URLs, and the licence filter.

The ids are those of the Flickr API method ``flickr.photos.licenses.getInfo``, which
``flickr.photos.search`` takes in its ``license`` parameter as a comma-separated list
and returns in each photo's ``license`` field.
"""

from dataclasses import dataclass

from scraper._checks import type_error, value_error


@dataclass(frozen=True)
class License:
    """One Flickr licence: its id, its name as Flickr spells it, and its URL."""

    id: int
    name: str
    url: str


# NOTE: ids 0-10 as Flickr listed them before June 2025. Flickr has since added the
# Creative Commons 4.0 licences under ids this table does not hold. Those ids can
# still be requested, and attribution.csv then names them by number only.
LICENSES = {
    0: License(0, "All Rights Reserved", ""),
    1: License(
        1,
        "Attribution-NonCommercial-ShareAlike License",
        "https://creativecommons.org/licenses/by-nc-sa/2.0/",
    ),
    2: License(
        2,
        "Attribution-NonCommercial License",
        "https://creativecommons.org/licenses/by-nc/2.0/",
    ),
    3: License(
        3,
        "Attribution-NonCommercial-NoDerivs License",
        "https://creativecommons.org/licenses/by-nc-nd/2.0/",
    ),
    4: License(
        4, "Attribution License", "https://creativecommons.org/licenses/by/2.0/"
    ),
    5: License(
        5,
        "Attribution-ShareAlike License",
        "https://creativecommons.org/licenses/by-sa/2.0/",
    ),
    6: License(
        6,
        "Attribution-NoDerivs License",
        "https://creativecommons.org/licenses/by-nd/2.0/",
    ),
    7: License(
        7, "No known copyright restrictions", "https://www.flickr.com/commons/usage/"
    ),
    8: License(
        8, "United States Government Work", "http://www.usa.gov/copyright.shtml"
    ),
    9: License(
        9,
        "Public Domain Dedication (CC0)",
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
    10: License(
        10, "Public Domain Mark", "https://creativecommons.org/publicdomain/mark/1.0/"
    ),
}

# Licences that let anyone copy and adapt a photo, commercially too, as long as the
# author is credited (CC BY, CC BY-SA), or with no condition at all (7 to 10).
# Resizing a photo for training is an adaptation, which the NoDerivs licences forbid,
# and NonCommercial ones would bind every later use of the data set.
DEFAULT_LICENSES = (4, 5, 7, 8, 9, 10)


def parse_licenses(licenses):
    """Parse a licence filter into a sorted tuple of Flickr licence ids.

    Parameters
    ----------
    licenses : str or iterable of int
        Licence ids as the API spells them, ``"4,5,9"``, or as ints, ``(4, 5, 9)``.
        ``None`` selects ``DEFAULT_LICENSES``.

    Returns
    -------
    tuple of int
        The distinct ids, sorted.

    Raises
    ------
    TypeError
        If ``licenses`` is neither a string nor an iterable of ints.
    ValueError
        If it is empty or holds something other than non-negative integer ids.
    """
    expected = 'comma-separated licence ids such as "4,5,9" or a list of ints'
    if licenses is None:
        return DEFAULT_LICENSES
    if isinstance(licenses, str):
        parts = [part.strip() for part in licenses.split(",")]
    else:
        try:
            parts = list(licenses)
        except TypeError:
            raise type_error("licenses", expected, licenses) from None

    ids = set()
    for part in parts:
        if isinstance(part, bool):
            raise value_error("licenses", expected, licenses)
        if isinstance(part, int):
            number = part
        elif isinstance(part, str) and part.isdigit():
            number = int(part)
        else:
            raise value_error("licenses", expected, licenses)
        if number < 0:
            raise value_error("licenses", expected, licenses)
        ids.add(number)
    if not ids:
        raise value_error("licenses", expected, licenses)
    return tuple(sorted(ids))


def describe_license(license_id):
    """Return the :class:`License` for an id, naming unknown ids by their number."""
    if license_id in LICENSES:
        return LICENSES[license_id]
    return License(license_id, f"Flickr licence id {license_id}", "")
