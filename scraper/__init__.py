"""Download labelled butterfly photos from Flickr and split them for training.

``download_flickr_photos`` fills one folder per class from keyword searches, and
``split_dataset`` copies those folders into ``train/`` and ``validation/``. Both are
also commands: ``python -m scraper download`` and ``python -m scraper split``.
"""

from scraper.credentials import Credentials, load_credentials
from scraper.download import download_flickr_photos
from scraper.errors import CredentialsError, ScraperError
from scraper.licenses import DEFAULT_LICENSES, LICENSES
from scraper.retry import RetryPolicy
from scraper.split import SplitSummary, split_dataset
from scraper.summary import DownloadSummary, KeywordSummary

__all__ = [
    "DEFAULT_LICENSES",
    "LICENSES",
    "Credentials",
    "CredentialsError",
    "DownloadSummary",
    "KeywordSummary",
    "RetryPolicy",
    "ScraperError",
    "SplitSummary",
    "download_flickr_photos",
    "load_credentials",
    "split_dataset",
]
