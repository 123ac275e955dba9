"""The Flickr API key and secret: where they are read from, and keeping them secret.

The key and secret are read from the arguments first, then from the
``FLICKR_API_KEY`` and ``FLICKR_API_SECRET`` environment variables, and last from
the ``[flickr]`` section of an INI file. That file is ``flickr.ini`` in the working
directory unless another path is given, and ``.gitignore`` keeps it out of git::

    [flickr]
    api_key = ...
    api_secret = ...
"""

import configparser
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from scraper.errors import CredentialsError

DEFAULT_CONFIG_PATH = "flickr.ini"
KEY_VARIABLE = "FLICKR_API_KEY"
SECRET_VARIABLE = "FLICKR_API_SECRET"

# Loggers of the libraries under flickrapi that print request parameters at DEBUG
# level. oauthlib 4.0 writes the consumer key (our API key) into "Collected params"
# and requests-oauthlib into the Authorization header it logs. A logger's filters
# only see records created on that very logger, so each one is named here.
_CREDENTIAL_LOGGERS = (
    "flickrapi.core",
    "flickrapi.auth.OAuthFlickrInterface",
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
    "requests_oauthlib.oauth1_auth",
    "urllib3.connectionpool",
)
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Credentials:
    """A Flickr API key and its secret; ``repr`` shows neither."""

    api_key: str
    api_secret: str

    def __repr__(self):
        return f"Credentials(api_key={REDACTED}, api_secret={REDACTED})"

    __str__ = __repr__


def load_credentials(api_key=None, api_secret=None, config_path=None, environ=None):
    """Find the Flickr API key and secret.

    Parameters
    ----------
    api_key, api_secret : str or None, default=None
        Given values win over every other source.
    config_path : str or os.PathLike or None, default=None
        INI file with a ``[flickr]`` section. ``None`` reads ``flickr.ini`` in the
        working directory if it exists. A path that is given must exist.
    environ : mapping or None, default=None
        Environment to read; ``None`` means ``os.environ``.

    Returns
    -------
    Credentials

    Raises
    ------
    CredentialsError
        If the key or the secret is found nowhere, or the INI file cannot be read.
    """
    environ = os.environ if environ is None else environ
    key = api_key or environ.get(KEY_VARIABLE) or None
    secret = api_secret or environ.get(SECRET_VARIABLE) or None

    if key is None or secret is None:
        section = _read_config(config_path)
        key = key or section.get("api_key") or None
        secret = secret or section.get("api_secret") or None

    where = (
        f"set {KEY_VARIABLE} and {SECRET_VARIABLE}, or write api_key and api_secret "
        f"in the [flickr] section of {config_path or DEFAULT_CONFIG_PATH}"
    )
    if key is None:
        raise CredentialsError(f"Missing Flickr API key: {where}.")
    if secret is None:
        raise CredentialsError(f"Missing Flickr API secret: {where}.")

    credentials = Credentials(key.strip(), secret.strip())
    redact_in_logs(credentials)
    return credentials


def _read_config(config_path):
    path = Path(config_path) if config_path is not None else Path(DEFAULT_CONFIG_PATH)
    if not path.is_file():
        if config_path is not None:
            raise CredentialsError(f"Flickr config file not found: {path}.")
        return {}

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as error:
        # The parser's message may quote the line it choked on, which can be a key.
        raise CredentialsError(
            f"Cannot read Flickr config file {path}: {type(error).__name__}."
        ) from None
    if not parser.has_section("flickr"):
        return {}
    return dict(parser["flickr"])


class _RedactingFilter(logging.Filter):
    """Replace every registered secret in a record's message with a marker."""

    def __init__(self):
        super().__init__()
        self._secrets = set()
        self._lock = threading.Lock()

    def add(self, *secrets):
        with self._lock:
            self._secrets.update(secret for secret in secrets if secret)

    def filter(self, record):
        with self._lock:
            secrets = tuple(self._secrets)
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = message
        for secret in secrets:
            redacted = redacted.replace(secret, REDACTED)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_FILTER = _RedactingFilter()
for _name in _CREDENTIAL_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


def redact_in_logs(credentials):
    """Hide the key and secret from the DEBUG logs of flickrapi and its libraries."""
    _FILTER.add(credentials.api_key, credentials.api_secret)


def redact(text, credentials):
    """Return ``text`` with the key and secret of ``credentials`` replaced."""
    for secret in (credentials.api_key, credentials.api_secret):
        if secret:
            text = text.replace(secret, REDACTED)
    return text
