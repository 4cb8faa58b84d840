"""CPU seconds of each stage of ``biometal fastmap`` in one process (one numba thread):
import, index load, FASTQ parsing, SMEM search, positions (``locate``), text formatting.

    python bench/fastmap_stages.py /tmp/biometal_fm_bench/ref16.fm.npz \\
        /tmp/biometal_fm_bench/reads16_100000.fq

(the inputs ``bench/fm_index.py`` writes). Each stage's time is user + system CPU time
(``resource.getrusage``) around it; formatting is printed without the ``locate`` it repeats.
"""

from __future__ import annotations

import resource
import sys


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    index_path, reads = sys.argv[1], sys.argv[2]
    t0 = cpu()
    import numba

    from biometal.align import smem
    from biometal.align.files import iter_sequence_batches

    numba.set_num_threads(1)
    t1 = cpu()
    idx = smem.load_or_build_index(index_path)
    t2 = cpu()
    batches = list(iter_sequence_batches(reads, 16384))
    t3 = cpu()
    seeds = [smem.find_smems(idx, b.codes, b.offsets, 19, 1) for _, b in batches]
    t4 = cpu()
    for s in seeds:
        smem.locate(idx, s, 20)
    t5 = cpu()
    for (names, b), s in zip(batches, seeds, strict=True):
        smem.format_fastmap(idx, names, b.lengths, s, 20)
    t6 = cpu()
    stages = {
        "import": t1 - t0,
        "index_load": t2 - t1,
        "parse": t3 - t2,
        "smem_search": t4 - t3,
        "locate": t5 - t4,
        "format": (t6 - t5) - (t5 - t4),
    }
    for k, v in stages.items():
        print(f"{k}\t{v:.3f}")


if __name__ == "__main__":
    main()
