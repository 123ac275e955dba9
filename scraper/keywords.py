"""Keywords: the search text of each class and the folder its photos go to."""

from dataclasses import dataclass

from scraper._checks import type_error, value_error


@dataclass(frozen=True)
class KeywordSpec:
    """A search text and the class folder its photos go to."""

    text: str
    folder: str


def parse_keywords(keywords):
    """Parse keywords into :class:`KeywordSpec` objects.

    Parameters
    ----------
    keywords : str or list of str
        Each entry is a search text, or ``"search text=folder"`` to name its class
        folder. Without ``=``, the folder is the text with runs of white space
        replaced by ``_``.

    Returns
    -------
    list of KeywordSpec

    Raises
    ------
    TypeError
        If ``keywords`` is not a string or a list or tuple of strings.
    ValueError
        If it is empty, an entry has an empty text or an invalid folder name, or
        two entries share a folder.
    """
    expected = "a str or a list of str"
    if isinstance(keywords, str):
        entries = [keywords]
    elif isinstance(keywords, (list, tuple)):
        entries = list(keywords)
    else:
        raise type_error("keywords", expected, keywords)
    if not entries:
        raise value_error("keywords", "at least one keyword", keywords)

    specs = []
    for entry in entries:
        if not isinstance(entry, str):
            raise type_error("keywords", expected, keywords)
        text, separator, folder = entry.rpartition("=")
        if not separator:
            text, folder = entry, "_".join(entry.split())
        text, folder = text.strip(), folder.strip()
        if not text:
            raise value_error("keywords", "a non-empty search text", entry)
        if not _valid_folder(folder):
            raise value_error(
                "keywords",
                "a folder name without '/', '\\\\' or a leading '.'",
                entry,
            )
        specs.append(KeywordSpec(text, folder))

    folders = [spec.folder for spec in specs]
    repeated = sorted({name for name in folders if folders.count(name) > 1})
    if repeated:
        raise value_error(
            "keywords", "one keyword per class folder", f"folders {repeated}"
        )
    return specs


def _valid_folder(name):
    return (
        bool(name)
        and not name.startswith(".")
        and not any(character in name for character in "/\\\0")
    )
