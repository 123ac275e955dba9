"""Shared pytest configuration: hypothesis profiles.

CI sets the ``CI`` environment variable and gets the "ci" profile, which is
derandomized so a red run can be reproduced. Local runs get the smaller "dev" profile.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None)
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
