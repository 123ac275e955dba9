"""The README's commands and the `--help` texts tell a new user what they need."""

import argparse
import re
import subprocess

import pytest

from convnet_from_scratch import cli

from photos import REPOSITORY

README = (REPOSITORY / "README.md").read_text()


def _subparsers(parser):
    """Yield (command name, parser) for every command and sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield name, subparser
                for sub_name, nested in _subparsers(subparser):
                    yield f"{name} {sub_name}", nested


def _options_with_defaults():
    for command, parser in _subparsers(cli.build_parser()):
        for action in parser._actions:
            if action.option_strings and action.default not in (None, False):
                if action.default is not argparse.SUPPRESS:
                    yield command, action


@pytest.mark.parametrize(
    ("command", "action"),
    list(_options_with_defaults()),
    ids=lambda value: value if isinstance(value, str) else value.dest,
)
def test_help_shows_default(command, action):
    assert action.help is not None, f"{command} {action.option_strings[0]}"
    assert "(default: " in action.help, f"{command} {action.option_strings[0]}"


def test_readme_activates_venv_after_setup():
    setup_end = README.index(".venv/bin/python -m pytest")
    activate = README.index("source .venv/bin/activate")
    first_command = README.index("python -m convnet_from_scratch train DATA")
    assert setup_end < activate < first_command


def test_readme_train_synopsis_lists_options():
    synopsis = re.search(
        r"python -m convnet_from_scratch train DATA .*?\n(    .*\n)+", README
    ).group(0)
    parser = dict(_subparsers(cli.build_parser()))["train"]
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert option in synopsis, option


def test_readme_gives_benchmark_commands():
    assert "python -m benchmarks --quick" in README
    assert "docs/benchmarks.md" in README


@pytest.mark.parametrize(
    "path",
    [
        "data/train/a/1.jpg",
        "benchmark-results/benchmarks.md",
        "trace.gif",
        "preview/augment_zoom.png",
        "maps/01_conv2d.png",
        "filters.png",
        "confusion/confusion.png",
        "curves.png",
    ],
)
def test_gitignore_covers_default_outputs(path):
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=REPOSITORY
    )
    assert ignored.returncode == 0, path


def test_gitignore_keeps_data_package():
    path = "convnet_from_scratch/data/iterator.py"
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=REPOSITORY
    )
    assert ignored.returncode == 1
