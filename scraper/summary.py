"""Counts of what a download run did, per keyword and in total."""

from collections import Counter
from dataclasses import dataclass, field

from scraper.search import MAX_SEARCH_RESULTS

# Reasons a photo is skipped, as the summary prints them.
SKIP_NO_ID = "no photo id"
SKIP_LICENSE = "licence not allowed"
SKIP_PRESENT = "already present"
SKIP_OTHER_CLASS = "already in another class"
SKIP_NO_URL = "no usable URL"
SKIP_DUPLICATE = "same bytes as another photo"
SKIP_UNAVAILABLE = "photo unavailable"


@dataclass
class KeywordSummary:
    """Counts for one keyword of a run.

    Attributes
    ----------
    keyword : str
        Search text.
    folder : str
        Class folder name.
    present_before : int
        Photos already in the folder when the run started.
    downloaded : int
        Photos added by this run.
    skipped : collections.Counter
        Photos not downloaded, by reason (licence, missing URL, placeholder...).
    failed : collections.Counter
        Photos given up after the allowed retries, by reason. A rerun tries them
        again.
    reported_total : int
        Matching photos Flickr reported for the query.
    """

    keyword: str
    folder: str
    present_before: int = 0
    downloaded: int = 0
    skipped: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    reported_total: int = 0

    @property
    def capped(self):
        """True when Flickr reported more matches than one query can return."""
        return self.reported_total > MAX_SEARCH_RESULTS

    def format(self):
        """Return a one-line summary."""
        line = (
            f"{self.folder} ({self.keyword!r}): {self.downloaded} downloaded, "
            f"{self.present_before} present before"
        )
        if self.skipped:
            line += "; skipped: " + _format_counts(self.skipped)
        if self.failed:
            line += "; failed: " + _format_counts(self.failed)
        if self.capped:
            line += (
                f"; Flickr reported {self.reported_total} matches but returns at "
                f"most {MAX_SEARCH_RESULTS}"
            )
        return line


@dataclass
class DownloadSummary:
    """Counts of one run of :func:`download_flickr_photos`, per keyword."""

    keywords: list = field(default_factory=list)

    @property
    def downloaded(self):
        return sum(item.downloaded for item in self.keywords)

    @property
    def skipped(self):
        return sum((item.skipped for item in self.keywords), Counter())

    @property
    def failed(self):
        return sum((item.failed for item in self.keywords), Counter())

    def format(self):
        """Return the closing summary, one line per keyword and a total."""
        lines = [item.format() for item in self.keywords]
        lines.append(
            f"Total: {self.downloaded} downloaded, "
            f"{sum(self.skipped.values())} skipped, "
            f"{sum(self.failed.values())} failed."
        )
        return "\n".join(lines)


def _format_counts(counts):
    return ", ".join(f"{count} {reason}" for reason, count in sorted(counts.items()))
