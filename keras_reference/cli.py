"""Command line: ``python -m keras_reference train DATA --out RUN_DIR``.

The options are the hand-written ``train``'s, plus ``--strategy``. Bad arguments and
bad files end with a one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from convnet_from_scratch.cli import CommandError, add_train_arguments
from convnet_from_scratch.model_file import ModelFileError

from .train import run_train

PROGRAM = "python -m keras_reference"


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROGRAM,
        description="Train the blog's convnet in Keras, the reference for the "
        "hand-written library.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_OneLineParser
    )
    train = commands.add_parser(
        "train",
        help="train the blog's model with ImageDataGenerator, flow_from_directory "
        "and model.fit",
    )
    add_train_arguments(train)
    train.add_argument(
        "--strategy",
        choices=("default", "mirrored"),
        default="default",
        help="'mirrored' trains under tf.distribute.MirroredStrategy on all local "
        "GPUs (one CPU replica without a GPU); --batch-size is the global batch",
    )
    return parser


def _print_warning(message, category, filename, lineno, file=None, line=None):
    """Print a warning as one line, without the source line Python adds."""
    print(f"{PROGRAM} train: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _print_warning
            return run_train(args)
    except (CommandError, ModelFileError, ValueError, OSError) as error:
        print(f"{PROGRAM} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROGRAM} {args.command}: interrupted", file=sys.stderr)
        return 130
