"""Command line: ``python -m biometal.pileup BAM REFERENCE OUT.tsv.gz [options]``.

The same command as ``biometal pileup`` (one implementation, :mod:`biometal.cli`): writes
the pileup TSV (see :mod:`biometal.pileup.tsv`); a bad BAM or reference is one line on
stderr and exit status 1. ``biometal pileup --help`` lists the options.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """``biometal pileup`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from biometal.cli import main as cli_main

    return cli_main(["pileup", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
