"""``python -m biometal``: the ``biometal`` command (see :mod:`biometal.cli`)."""

import sys

from biometal.cli import main

if __name__ == "__main__":
    sys.exit(main())
