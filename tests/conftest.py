"""Shared pytest configuration: hypothesis profiles and a CI check against skips.

CI sets the ``CI`` environment variable and gets the "ci" profile, which is
derandomized so a red run can be reproduced. Local runs get the smaller "dev" profile.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None)
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_sessionfinish(session, exitstatus):
    """Fail a CI run that skipped any test.

    A skipped Keras comparison proves nothing.
    """
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(
                f"CI: {skipped} test(s) were skipped; every test must run in CI.",
                red=True,
            )
