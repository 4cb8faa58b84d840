"""Where the CPU of one fresh ``biometal pileup`` process goes (README, pileup speed).

    python bench/pileup_startup.py BAM REFERENCE OUT [pileup options]   # e.g. OUT.tsv -q 20 -Q 13

Runs ``biometal pileup`` in this process, as a fresh ``python -m biometal.pileup`` would (one
OpenBLAS thread, no cyclic garbage collection: biometal/pileup/__main__.py), and prints CPU seconds
(``time.process_time``: user + system, all threads) per step: each import, numba's runtime
set-up (done here on purpose, before the first compiled call, so that it is counted apart;
the command defers numba's compiler set-up, :func:`biometal._startup.defer_numba_registries`),
then the run with the first call of each cached numba function and the time in each kernel,
inflate, compress, reference fetch, indel text, file writes and the rename over the old OUT
summed over the run; "rest of run" is the remainder (Python per run of blocks, the zeroing
of the count table). Run it as its own process, a few times: the
first steps only mean something in a fresh interpreter.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time

# as ``python -m biometal.pileup`` sets up its process (biometal/pileup/__main__.py _command)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
gc.disable()

T = time.process_time
_marks: list[tuple[str, float]] = []
_t = T()


def _mark(name: str) -> None:
    global _t
    now = T()
    _marks.append((name, now - _t))
    _t = now


import numpy  # noqa: E402, F401

_mark("import numpy")
import numba  # noqa: E402, F401

_mark("import numba")
from biometal._startup import defer_numba_registries, preload_cython_blas  # noqa: E402

preload_cython_blas()
defer_numba_registries()
_mark("preload scipy's cython_blas, defer numba's registries")
import biometal.cli as cli  # noqa: E402

_mark("import biometal.cli")
parser = cli.build_parser("pileup")
_mark("build the parser")
import biometal.kernels.pileup_cpu as KC  # noqa: E402

import biometal.pileup._kernels as PK  # noqa: E402
import biometal.pileup.engine as eng  # noqa: E402
import biometal.pileup.tsv as tsv  # noqa: E402
from biometal.io import _bam_kernels as BK  # noqa: E402
from biometal.io import atomic, bgzf, sinks  # noqa: E402

_mark("import the pileup modules")
from numba.core.registry import cpu_target  # noqa: E402
from numba.core.runtime import nrt  # noqa: E402

nrt.rtsys.initialize(cpu_target.target_context)
_mark("numba's runtime (NRT) set-up (else at the first compiled call)")

_acc: dict[str, float] = {}


def _wrap(mod, name: str, label: str, first: bool = True) -> None:
    f = getattr(mod, name)
    calls = [0]

    def timed(*a, **k):
        t0 = T()
        r = f(*a, **k)
        key = label + (" (first call: load from cache)" if first and not calls[0] else "")
        _acc[key] = _acc.get(key, 0.0) + T() - t0
        calls[0] += 1
        return r

    setattr(mod, name, timed)


_wrap(BK, "parse_records", "parse_records")
_wrap(KC, "pileup_cpu", "pileup_cpu")
_wrap(KC, "pileup_cpu_serial", "pileup_cpu_serial")
_wrap(PK, "indel_events", "indel_events")
_wrap(PK, "format_rows", "format_rows")
_wrap(PK, "format_rows_parallel", "format_rows_parallel")
_wrap(bgzf, "_inflate_all", "inflate", False)
_wrap(bgzf, "_compress_many", "compress", False)
_wrap(tsv._Reference, "fetch", "reference fetch", False)
_wrap(tsv, "_indel_texts", "indel text", False)
_wrap(eng, "_read_table", "_read_table", False)
_wrap(sinks.OutputFile, "write", "file writes (plain OUT)", False)
_wrap(atomic.os, "replace", "rename over the old OUT", False)
_wrap(eng, "read_filter", "read_filter", False)


def main() -> int:
    args = parser.parse_args(["pileup", *sys.argv[1:]])
    t0 = T()
    args.handler(args)
    run = T() - t0
    _mark("run")
    for name, sec in _marks:
        print(f"{sec:7.3f}  {name}")
    for name, sec in sorted(_acc.items(), key=lambda x: -x[1]):
        print(f"   {sec:7.3f}  {name}")
    print(f"   {run - sum(_acc.values()):7.3f}  rest of run")
    gc.freeze()  # as the command does before exit
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{r.ru_utime + r.ru_stime:7.3f}  whole process (user + system)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
