"""How often and how long to wait before trying a failed request again."""

from dataclasses import dataclass

from scraper._checks import check_float, check_int


@dataclass(frozen=True)
class RetryPolicy:
    """Retry limits shared by the API calls and the photo downloads.

    Parameters
    ----------
    max_retries : int, default=4
        Retries after the first attempt, per API page or per photo file.
    backoff : float, default=1.0
        Seconds to wait before the first retry. The wait doubles on every further
        retry, up to ``max_delay``.
    max_delay : float, default=60.0
        Maximum wait in seconds. A photo whose server asks, through
        ``Retry-After``, for a longer wait is given up for this run instead.
    """

    max_retries: int = 4
    backoff: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self):
        check_int("max_retries", self.max_retries, minimum=0, maximum=100)
        check_float("backoff", self.backoff, minimum=0.0, maximum=3600.0)
        check_float("max_delay", self.max_delay, minimum=0.0, maximum=3600.0)

    def delay(self, retry_number):
        """Return the backoff in seconds before retry ``retry_number`` (from 0)."""
        return min(self.max_delay, self.backoff * 2.0**retry_number)
