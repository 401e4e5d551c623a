"""Allows ``python -m kerasx``."""

import sys

from kerasx.cli import main

if __name__ == "__main__":
    sys.exit(main())
