"""A cohort made by tools this project did not write, for case_study_cohort (README,
population calling): a random reference, population variants with many rare ones, the
samples' haplotypes by ``bcftools consensus``, their reads by ``wgsim``.

    python bench/wgsim_cohort.py DIR [--samples 8] [--length 200000] [--error 0.02]
        [--coverage 10] [--seed 1]
    snakemake --cores 2 case_study_cohort --directory RUN --configfile DIR/cohort.yaml

Writes DIR/ref.fa, DIR/truth.vcf.gz (+ .tbi; phased GTs of every sample), DIR/<S>_R1/_R2
.fastq.gz (2 x 100 bp pairs, inserts 300 +- 30, ``--coverage`` x per sample, substitution
errors at ``--error`` (wgsim's default 0.02), wgsim's own mutations off), DIR/cohort.tsv
(the sample sheet) and DIR/cohort.yaml (cohort.reference / samples / truth). Variants: one
every 80-250 bp, 12% indels of 1-3 bp, each with a population frequency drawn
log-uniformly between 1 / (2N) and 1 (many rare), genotypes drawn from it (sites no
sample carries are left out). Needs wgsim, bcftools and bgzip on PATH.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np

#: the Debian package of each read simulator
_PACKAGES = {"wgsim": "wgsim", "art": "art-nextgen-simulation-tools", "dwgsim": "dwgsim"}


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def make(
    d: Path, n: int, length: int, error: float, coverage: float, seed: int, simulator: str = "wgsim"
) -> int:
    """Write the cohort into ``d``; returns the number of variant sites."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    samples = [f"W{i + 1:02d}" for i in range(n)]
    seq = "".join(rng.choice(list("ACGT"), length))
    ref = d / "ref.fa"
    ref.write_text(f">chrW\n{seq}\n")
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID=chrW,length={length}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    pos = 300
    while pos < length - 300:
        indel = rng.random() < 0.12
        r = seq[pos]
        if indel and rng.random() < 0.5:  # deletion of 1-3 bases
            r = seq[pos : pos + 1 + rng.integers(1, 4)]
            a = seq[pos]
        elif indel:  # insertion of 1-3 bases
            a = seq[pos] + "".join(rng.choice(list("ACGT"), rng.integers(1, 4)))
        else:
            a = rng.choice([b for b in "ACGT" if b != r])
        f = min(0.95, np.exp(rng.uniform(np.log(1 / (2 * n)), 0)))
        gts = [(int(rng.random() < f), int(rng.random() < f)) for _ in samples]
        if any(sum(g) for g in gts):
            cols = "\t".join(f"{x}|{y}" for x, y in gts)
            lines.append(f"chrW\t{pos + 1}\t.\t{r}\t{a}\t.\tPASS\t.\tGT\t{cols}")
        pos += int(rng.integers(80, 250))
    vcf = d / "truth.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    _sh("bgzip", "-f", str(vcf))
    _sh("bcftools", "index", "-f", "-t", f"{vcf}.gz")
    pairs = max(1, int(length * coverage / 2 / 200))  # per haplotype: coverage / 2
    rows = ["sample\tfq1\tfq2\tbam"]
    for k, s in enumerate(samples):
        parts: dict[int, list[str]] = {1: [], 2: []}
        for h in (1, 2):
            hap = d / f"{s}_h{h}.fa"
            _sh("bcftools", "consensus", "-s", s, "-H", str(h), "-f", str(ref), "-o", str(hap),
                f"{vcf}.gz")  # fmt: skip
            fq = [d / f"{s}_h{h}_{m}.fq" for m in (1, 2)]
            rs = str(100 * seed + 10 * k + h)
            if simulator == "wgsim":
                _sh("wgsim", "-N", str(pairs), "-1", "100", "-2", "100", "-d", "300", "-s", "30",
                    "-e", str(error), "-r", "0", "-R", "0", "-X", "0", "-S", rs, str(hap),
                    *map(str, fq))  # fmt: skip
            elif simulator == "art":
                # HiSeq 2500 profile, 2 x 150 bp: its own qualities, substitution and indel
                # errors; the pair count of wgsim's 2 x 100 bp at the same coverage
                prefix = d / f"{s}_h{h}_"
                _sh("art_illumina", "-ss", "HS25", "-i", str(hap), "-p", "-l", "150",
                    "-c", str(max(1, pairs * 2 // 3)), "-m", "350", "-s", "30", "-rs", rs,
                    "-na", "-q", "-o", str(prefix))  # fmt: skip
                for m in (1, 2):
                    Path(f"{prefix}{m}.fq").rename(fq[m - 1])
            else:  # dwgsim: errors rising along the read from --error to 2x it
                prefix = d / f"{s}_h{h}_dw"
                _sh("dwgsim", "-N", str(pairs), "-1", "100", "-2", "100", "-d", "300", "-s",
                    "30", "-e", f"{error}-{2 * error}", "-E", f"{error}-{2 * error}", "-r", "0",
                    "-R", "0", "-y", "0", "-z", rs, str(hap), str(prefix))  # fmt: skip
                for m in (1, 2):
                    with gzip.open(f"{prefix}.bwa.read{m}.fastq.gz", "rt") as fh:
                        fq[m - 1].write_text(fh.read())
                for x in d.glob(f"{prefix.name}.*"):
                    x.unlink()
            for m in (1, 2):
                parts[m].append(fq[m - 1].read_text())
                fq[m - 1].unlink()
            hap.unlink()
        for m in (1, 2):
            with gzip.open(d / f"{s}_R{m}.fastq.gz", "wt") as fh:
                fh.write("".join(parts[m]))
        rows.append(f"{s}\t{s}_R1.fastq.gz\t{s}_R2.fastq.gz\t")
    (d / "cohort.tsv").write_text("\n".join(rows) + "\n")
    (d / "cohort.yaml").write_text(
        f"cohort:\n  reference: {ref.resolve()}\n  samples: {(d / 'cohort.tsv').resolve()}\n"
        f"  truth: {(d / 'truth.vcf.gz').resolve()}\n"
    )
    return len(lines) - 4


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--length", type=int, default=200_000)
    ap.add_argument("--error", type=float, default=0.02, help="wgsim -e (its default: 0.02)")
    ap.add_argument("--coverage", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--simulator", choices=sorted(_PACKAGES), default="wgsim")
    a = ap.parse_args()
    tool = "art_illumina" if a.simulator == "art" else a.simulator
    missing = [t for t in (tool, "bcftools", "bgzip") if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"error: {', '.join(missing)} not on PATH (apt-get install "
                         f"{_PACKAGES[a.simulator]} bcftools tabix)")  # fmt: skip
    n = make(a.dir, a.samples, a.length, a.error, a.coverage, a.seed, a.simulator)
    print(f"{a.dir}: {a.samples} samples, {n} variant sites; --configfile {a.dir}/cohort.yaml")


if __name__ == "__main__":
    main()
