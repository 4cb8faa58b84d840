"""Command line: ``python -m biometal.pileup BAM REFERENCE OUT.tsv.gz [options]``.

The same command as ``biometal pileup`` (one implementation, :mod:`biometal.cli`): writes
the pileup TSV (see :mod:`biometal.pileup.tsv`); a bad BAM or reference is one line on
stderr and exit status 1. ``biometal pileup --help`` lists the options.

Run as its own process (:func:`_command`), it also sets up that process for a short run:
see there.
"""

from __future__ import annotations

import gc
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """``biometal pileup`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from biometal.cli import main as cli_main

    return cli_main(["pileup", *(sys.argv[1:] if argv is None else argv)])


def _command() -> int:
    """:func:`main` as the whole process, with two start-up settings (0.1-0.2 s of CPU of a
    0.8 s run on a sparse BAM, 2 cores; bench/pileup_density.py):

    - one OpenBLAS thread (unless ``OPENBLAS_NUM_THREADS`` is set): the pileup calls no
      BLAS, but numpy's OpenBLAS, and scipy's that numba's start-up loads, start a thread
      per core when they load, and each spins a while waiting for work. Set before numpy is
      imported (``biometal.pileup`` imports it lazily, so ``-m`` gets here first).
    - no cyclic garbage collection: a run makes no reference cycles (``gc.collect()`` after
      a run finds none), so the collections during the imports, and the interpreter's last
      one at exit over the ~70,000 objects of numpy and numba (frozen first), are waste.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    gc.disable()
    try:
        return main()
    finally:
        gc.freeze()


if __name__ == "__main__":
    sys.exit(_command())
