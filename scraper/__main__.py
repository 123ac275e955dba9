"""Entry point of ``python -m scraper``."""

import sys

from scraper.cli import main

sys.exit(main())
