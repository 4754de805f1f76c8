"""Entry point for `python -m avatar_demo`."""

import sys

from .cli import main

sys.exit(main())
