"""Benchmark: the seed filter on real human sequence (issue 12, item 7).

    python bench/seedfilter_real.py                       # 8,000 pairs, max_occ 500
    python bench/seedfilter_real.py --pairs 3000 --epochs 4 --repeats 3   # a quick look

Data: the human chr22 rows (GRCh37, 21.6 Mb, soft-masked repeats) of the MAF shipped by the
Debian package ``maffilter-examples`` (``apt-get install maffilter-examples``; or
``--maf PATH``); reads simulated from them with ``biometal.simulate`` (truth variants, 150 bp
pairs, the default error model); the index built by ``bwa index`` and read with
``FMIndex.from_bwa``. Every occurrence of every SMEM (>= 19 bp) with at most ``--max-occ``
occurrences (bwa mem's ``-c 500``) is one labelled example (label as
``biometal.ml.seedfilter.windows``: VIABLE when it is the read's true locus and its banded
extension scores >= 100). Prints three tables (markdown): viable fractions per locus and
per seed by stratum; the CNN on windows, the CNN on windows + log2(1 + occurrences), the
gradient-boosted and logistic models on seed features and one-feature thresholds
(occurrences, seed length), AUROC / TPR / FPR on held-out read pairs at the threshold that
keeps 95% of the validation split's viable loci; and the extension stage (banded
extension of every locus, ``--threads`` threads) with and without each filter, in process
CPU time (median, min-max of ``--repeats`` interleaved repeats), with the test reads whose
every viable locus was filtered out (they lose their true alignment). Everything goes to
``--workdir`` (default results/seedfilter_real), reused when present.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.ml.seedfilter.realseq import (
    MAF_PATH,
    RealParams,
    markdown_tables,
    real_card,
    run_real,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--maf", default=MAF_PATH)
    ap.add_argument("--workdir", default="results/seedfilter_real")
    ap.add_argument("--pairs", type=int, default=RealParams.n_pairs)
    ap.add_argument("--max-occ", type=int, default=RealParams.max_occ)
    ap.add_argument("--epochs", type=int, default=RealParams.epochs)
    ap.add_argument("--repeats", type=int, default=RealParams.repeats)
    ap.add_argument("--threads", type=int, default=RealParams.threads)
    ap.add_argument("--seed", type=int, default=RealParams.seed)
    ap.add_argument("--card", help="also write the model-card section (markdown) here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    params = RealParams(a.pairs, a.max_occ, a.epochs, a.repeats, a.threads, a.seed)
    try:
        res, info = run_real(a.maf, a.workdir, params)
    except BiometalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    info.pop("variants", None)  # per-haplotype lengths: long and not needed here
    if a.card:
        with atomic_path(a.card) as tmp:
            tmp.write_text(real_card(res, params, info.get("reference")))
    print(json.dumps(info, indent=1, default=str))
    print(markdown_tables(res))
    print(json.dumps(res["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
