"""Joint calling vs bcftools multi-sample calling on a simulated cohort: accuracy and CPU.

Data: a cohort simulated by biometal.simulate.cohort (``--samples`` samples, neutral allele
frequencies over 200 haplotypes, ``--region`` bp of a seeded simulated reference, reads at
``--coverage``), mapped once with mappy (shared by both callers, not timed).

Timed (CPU = user + sys; the machine is shared, 2 cores, so no wall-time claims), the two
callers interleaved, order alternating per repeat, median (min-max) over ``--repeats``:

- biometal: per-sample gVCF (:func:`biometal.variants.gvcf.write_gvcf`, site_stats kernel at
  every position, numba 1 thread) + joint genotyping
  (:func:`biometal.variants.joint.joint_genotype`), in this process after a warm-up run
  (``time.process_time``: no interpreter start-up, no imports);
- bcftools: ``bcftools mpileup -b bams.txt | bcftools call -mv`` + index, as child processes
  (RUSAGE_CHILDREN).

Ratio = bcftools CPU / biometal CPU (median of per-repeat ratios). Accuracy (per sample and
type, against the truth; joint, single-sample and bcftools) from
:func:`biometal.variants.cohort_report.evaluate_cohort`; the table is printed.

    .venv/bin/python bench/joint_calling.py --samples 5 --region 300000 --coverage 10
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--region", type=int, default=300_000)
    ap.add_argument("--coverage", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", help="keep the data here (default: a temporary directory)")
    args = ap.parse_args()

    from biometal.simulate import simulate_reference
    from biometal.simulate.cohort import simulate_cohort
    from biometal.variants.cohort_report import bcftools_multisample, evaluate_cohort, write_cpu
    from biometal.variants.gvcf import write_gvcf
    from biometal.variants.joint import joint_genotype
    from biometal.variants.mapping import map_reads

    tmp = tempfile.TemporaryDirectory() if args.workdir is None else None
    d = Path(args.workdir or tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    names = [f"C{i:02d}" for i in range(1, args.samples + 1)]
    simulate_reference(d / "genome.fa", d / "genome.fa.fai", n_contigs=2,
                       total_length=args.region + 10_000, seed=args.seed)  # fmt: skip
    ref = d / "ref.fa"
    simulate_cohort(d / "genome.fa", ref, d / "truth.vcf.gz", names, d,
                    region_length=args.region, coverage=args.coverage, seed=args.seed)  # fmt: skip
    bams = []
    for s in names:
        bam = d / f"{s}.bam"
        map_reads(ref, d / f"{s}_R1.fastq.gz", d / f"{s}_R2.fastq.gz", bam, sample=s, threads=1)
        bams.append(bam)

    def ours() -> float:
        c0 = time.process_time()
        for s, bam in zip(names, bams, strict=True):
            write_gvcf(bam, ref, d / f"{s}.g.vcf.gz", backend="cpu", threads=1)
        joint_genotype([d / f"{s}.g.vcf.gz" for s in names], ref, d / "joint.vcf.gz")
        return time.process_time() - c0

    def peer() -> float:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        bcftools_multisample(bams, ref, d / "bcftools.vcf.gz")
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime

    ours()  # warm-up: numba's cached machine code loaded
    cpu: dict[str, list[float]] = {"biometal": [], "bcftools": []}
    for rep in range(args.repeats):
        order = [("biometal", ours), ("bcftools", peer)]
        for name, fn in order if rep % 2 == 0 else order[::-1]:
            cpu[name].append(fn())
    ratios = [b / a for a, b in zip(cpu["biometal"], cpu["bcftools"], strict=True)]
    for name, v in cpu.items():
        print(f"{name:9s} CPU {statistics.median(v):.2f} s ({min(v):.2f}-{max(v):.2f})")
    print(
        f"bcftools / biometal CPU: x{statistics.median(ratios):.2f} "
        f"({min(ratios):.2f}-{max(ratios):.2f}), n={args.repeats}"
    )
    write_cpu(d / "ours.json", {"cpu_s": statistics.median(cpu["biometal"])})
    write_cpu(d / "peer.json", {"cpu_s": statistics.median(cpu["bcftools"])})
    table = evaluate_cohort(
        d / "truth.vcf.gz", ref, names, {s: d / f"{s}.g.vcf.gz" for s in names},
        d / "joint.vcf.gz", {"bcftools": d / "bcftools.vcf.gz"},
        {"single": [d / "ours.json"], "joint": [d / "ours.json"], "bcftools": [d / "peer.json"]},
        d / "evaluation.tsv", d / "recall.tsv",
    )  # fmt: skip
    cols = ["caller", "type", "TP", "FP", "FN", "precision", "recall", "F1", "het_recall",
            "gt_concordance"]  # fmt: skip
    print(table[table["sample"] == "all"][cols].to_string(index=False))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
