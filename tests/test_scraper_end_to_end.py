"""Scrape two keywords from the Flickr stand-in, split them, train one epoch.

Each step runs as its documented command in a separate process, as a user would
run them against the real Flickr API with ``--rest-url`` left at its default.
"""

import json
import math
import os
import subprocess
import sys

from flickr_standin import API_KEY, API_SECRET, FlickrStandIn, folder_problems

CLASSES = {"meadow brown": "maniola_jurtina", "gatekeeper": "pyronia_tithonus"}


def run(module, *arguments, cwd, env=None):
    result = subprocess.run(
        [sys.executable, "-m", module, *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_scrape_split_and_train(tmp_path):
    environment = dict(os.environ, FLICKR_API_KEY=API_KEY, FLICKR_API_SECRET=API_SECRET)
    keywords = [f"{text}={folder}" for text, folder in CLASSES.items()]

    with FlickrStandIn() as standin:
        listed = {text: standin.listing(text) for text in CLASSES}
        run(
            "scraper", "download", *keywords, "--out", "raw",
            "--rest-url", standin.rest_url, "--no-progress", "--timeout", "10",
            cwd=tmp_path, env=environment,
        )  # fmt: skip
    run(
        "scraper", "split", "raw", "data", "--validation", "0.2", "--seed", "5",
        cwd=tmp_path,
    )  # fmt: skip
    result = run(
        "convnet_from_scratch", "train", "data", "--out", "run", "--epochs", "1",
        "--image-size", "32", "--batch-size", "8",
        cwd=tmp_path,
    )  # fmt: skip

    assert folder_problems(tmp_path / "raw") == []
    for text, folder in CLASSES.items():
        count = len(listed[text])
        train = list((tmp_path / "data" / "train" / folder).iterdir())
        validation = list((tmp_path / "data" / "validation" / folder).iterdir())
        assert len(train) + len(validation) == count
        assert len(validation) == round(0.2 * count)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["loss"]) == 1
    assert math.isfinite(history["loss"][0])
    assert history["meta"]["class_names"] == sorted(CLASSES.values())
    assert (tmp_path / "run" / "model.npz").is_file()
    assert "val_accuracy" in result.stdout
