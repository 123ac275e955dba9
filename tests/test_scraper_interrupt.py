"""Ctrl-C during ``python -m scraper download`` while the image server stalls.

A helper thread sends SIGINT to the main thread once the stand-in has received the
first image requests, which it keeps open without responding. The checks count requests
instead of timing the run: after the interrupt, no retry and no new download may
start.
"""

import logging
import signal
import threading

from scraper.cli import main

from flickr_standin import API_KEY, API_SECRET, FlickrStandIn, folder_problems

WORKERS = 2


def interrupt_main_thread_when(condition):
    """Start a thread that sends SIGINT to the main thread once ``condition()``.

    The thread gives up without a signal after about 60 s, so a download that never
    reaches ``condition`` fails its checks instead of hanging.
    """
    main_thread = threading.main_thread().ident
    done = threading.Event()

    def watch():
        for _ in range(1200):
            if condition():
                signal.pthread_kill(main_thread, signal.SIGINT)
                return
            done.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_interrupt_stops_stalled_downloads(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FLICKR_API_KEY", API_KEY)
    monkeypatch.setenv("FLICKR_API_SECRET", API_SECRET)
    dest = tmp_path / "raw"
    arguments = ["download", "meadow brown=maniola_jurtina", "--out", str(dest)]
    arguments += ["--workers", str(WORKERS), "--timeout", "2", "--retries", "4"]
    arguments += ["--backoff", "0.1", "--no-progress"]

    with FlickrStandIn() as standin:
        listed = len(standin.listing("meadow brown"))
        # Every image request is held for longer than the run may last.
        standin.inject_photo_fault("timeout", seconds=120.0)
        watcher = interrupt_main_thread_when(
            lambda: standin.photo_requests() >= WORKERS
        )
        with caplog.at_level(logging.INFO, logger="scraper"):
            status = main([*arguments, "--rest-url", standin.rest_url])
        watcher.join()
        requests_made = standin.photo_requests()

    assert listed > WORKERS
    assert status == 130
    assert requests_made == WORKERS
    assert f"Interrupted, waiting for {WORKERS} downloads to stop" in caplog.text
    assert "retry" not in caplog.text
    assert folder_problems(dest) == []
    assert list((dest / "maniola_jurtina").iterdir()) == []
