"""Command line: ``python -m biometal.pileup BAM REFERENCE OUT.tsv.gz [options]``.

Writes the pileup TSV (see :mod:`biometal.pileup.tsv`); a bad BAM or reference is one line
on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import sys

from biometal.errors import BiometalError
from biometal.pileup.engine import DEFAULT_EXCLUDE, PileupParams
from biometal.pileup.tsv import write_pileup_tsv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m biometal.pileup", description=__doc__)
    ap.add_argument("bam")
    ap.add_argument("reference")
    ap.add_argument("out")
    ap.add_argument("-q", "--min-mapq", type=int, default=0)
    ap.add_argument("-Q", "--min-baseq", type=int, default=13)
    ap.add_argument("--ff", default=",".join(DEFAULT_EXCLUDE), help="flags to exclude")
    ap.add_argument("-A", "--count-orphans", action="store_true")
    ap.add_argument("-a", "--all-positions", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backend", default=None)
    ap.add_argument("--region-size", type=int, default=100_000)
    args = ap.parse_args(argv)
    try:
        params = PileupParams(
            min_mapq=args.min_mapq,
            min_baseq=args.min_baseq,
            exclude_flags=tuple(f for f in args.ff.split(",") if f),
            count_orphans=args.count_orphans,
            region_size=args.region_size,
            backend=args.backend,
            threads=args.threads,
        )
        write_pileup_tsv(
            args.bam, args.out, params, reference=args.reference, all_positions=args.all_positions
        )
    except BiometalError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
