"""Command line: ``python -m scraper download ...`` and ``python -m scraper split ...``.

Exit status: 0 on success, 1 when the run failed or left photos to retry, 2 for
invalid arguments (missing credentials, a missing config file or SOURCE folder, and
an output folder that cannot be written included), 130 when interrupted.
"""

import argparse
import logging
import sys
import warnings

from tqdm.contrib.logging import logging_redirect_tqdm

from scraper.download import download_flickr_photos
from scraper.errors import (
    CredentialsError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ScraperError,
)
from scraper.licenses import DEFAULT_LICENSES
from scraper.photos import SIZES
from scraper.retry import RetryPolicy
from scraper.search import FLICKR_REST_URL
from scraper.split import split_dataset

logger = logging.getLogger(__name__)

# The command-line name of each library parameter that a command sets, so that an
# argument error names the option the user typed.
OPTION_NAMES = {
    "download": {
        "keywords": "KEYWORD",
        "size": "--size",
        "max_nb_img": "--max-images",
        "dest": "--out",
        "licenses": "--licenses",
        "per_page": "--per-page",
        "workers": "--workers",
        "timeout": "--timeout",
        "max_retries": "--retries",
        "backoff": "--backoff",
        "max_delay": "--max-delay",
        "rest_url": "--rest-url",
    },
    "split": {
        "source": "SOURCE",
        "dest": "DEST",
        "validation": "--validation",
        "seed": "--seed",
    },
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors take one line, with no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    """Return the parser of the ``scraper`` command line."""
    parser = _Parser(
        prog="python -m scraper",
        description="Download labelled photos from Flickr and split them.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log DEBUG messages too"
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    download = commands.add_parser(
        "download",
        help="search Flickr and download one folder per keyword",
        description=(
            "Download Flickr photos by keyword into OUT/<folder>/<photo id>.jpg. "
            "Rerun the same command to fetch what is missing."
        ),
    )
    download.add_argument(
        "keywords",
        nargs="+",
        metavar="KEYWORD",
        help='search text, or "search text=folder" to name its class folder',
    )
    download.add_argument(
        "--out", default="raw", help="folder for the class folders (default: raw)"
    )
    download.add_argument(
        "--size", default="square", choices=SIZES, help="photo size (default: square)"
    )
    download.add_argument(
        "--max-images",
        type=int,
        default=-1,
        help="photos wanted per class folder, -1 for all (default: -1)",
    )
    download.add_argument(
        "--licenses",
        default=",".join(str(item) for item in DEFAULT_LICENSES),
        help="comma-separated Flickr licence ids (default: %(default)s)",
    )
    download.add_argument(
        "--per-page", type=int, default=100, help="results per API page, 1-500"
    )
    download.add_argument(
        "--workers", type=int, default=4, help="parallel downloads (default: 4)"
    )
    download.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per request (default: 30)"
    )
    download.add_argument(
        "--retries", type=int, default=4, help="retries per file and page (default: 4)"
    )
    download.add_argument(
        "--backoff",
        type=float,
        default=1.0,
        help="seconds before the first retry, doubled each time (default: 1)",
    )
    download.add_argument(
        "--max-delay",
        type=float,
        default=60.0,
        help="maximum wait between retries in seconds (default: 60)",
    )
    download.add_argument(
        "--config",
        default=None,
        help="INI file with api_key and api_secret under [flickr] "
        "(default: flickr.ini if present)",
    )
    download.add_argument(
        "--rest-url",
        default=FLICKR_REST_URL,
        help="Flickr REST endpoint (default: %(default)s)",
    )
    download.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars"
    )

    split = commands.add_parser(
        "split",
        help="copy class folders into train/ and validation/",
        description="Split SOURCE/<class>/ into DEST/train/ and DEST/validation/.",
    )
    split.add_argument("source", metavar="SOURCE", help="folder of class folders")
    split.add_argument("dest", metavar="DEST", help="folder for train/ and validation/")
    split.add_argument(
        "--validation",
        type=float,
        default=0.2,
        help="share of each class for validation, in [0, 1) (default: 0.2)",
    )
    split.add_argument("--seed", type=int, default=0, help="shuffle seed (default: 0)")
    return parser


def main(argv=None):
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # flickrapi logs every call at INFO and every non-200 response at ERROR,
        # retried ones included. The scraper logs each retry and failure itself.
        logging.getLogger("flickrapi").setLevel(logging.CRITICAL)
    try:
        with logging_redirect_tqdm(), warnings.catch_warnings():
            warnings.showwarning = _log_warning
            if args.command == "download":
                return _download(args)
            return _split(args)
    except (InvalidArgumentError, InvalidArgumentTypeError) as error:
        # The library's own argument checks: reported as argparse reports its own.
        parser.error(describe_argument_error(args.command, error))
    except CredentialsError as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except ScraperError as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        # An output folder that is a file, read-only, or blocked by another file.
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130


def describe_argument_error(command, error):
    """Reword a library argument error with the option name of ``command``.

    Errors about a parameter that has no option of that command keep their
    message.
    """
    option = OPTION_NAMES[command].get(error.argument)
    if option is None:
        return str(error)
    value = error.value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        value = repr(str(value))
    return f"argument {option}: invalid value {value}; expected {error.expected}"


def _log_warning(message, category, filename, lineno, file=None, line=None):
    """Log a warning as one line, without the source line Python prints."""
    logger.warning("%s", message)


def _download(args):
    retry = RetryPolicy(args.retries, args.backoff, args.max_delay)
    summary = download_flickr_photos(
        args.keywords,
        size=args.size,
        max_nb_img=args.max_images,
        dest=args.out,
        licenses=args.licenses,
        per_page=args.per_page,
        workers=args.workers,
        timeout=args.timeout,
        retry=retry,
        config_path=args.config,
        rest_url=args.rest_url,
        progress=not args.no_progress,
    )
    print(summary.format())
    failed = sum(summary.failed.values())
    if failed:
        print(
            f"{failed} photos failed; run the same command again to retry them.",
            file=sys.stderr,
        )
        return 1
    return 0


def _split(args):
    summary = split_dataset(
        args.source, args.dest, validation=args.validation, seed=args.seed
    )
    print(summary.format())
    return 0
