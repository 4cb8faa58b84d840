"""VCF.gz / BCF reading speed: biometal.io.vcf vs cyvcf2, pysam.VariantFile and bcftools query.

Data: ``--records`` (default 113,000) random records on 10 samples (seeded): SNVs and short
indels, 1-3 ALT alleles, QUAL with some missing, FILTER PASS / q10 / ".", INFO DP (Integer)
and AF (Number=A Float), FORMAT GT (diploid, phased and unphased, some missing) and GQ,
written as text, bgzipped (``bgzip``) and converted to BCF (``bcftools view -Ob``).

Each tool extracts the same fields: CHROM, POS, REF, ALT, QUAL, FILTER, INFO/DP and the GT
matrix. Python readers run in a fresh process each, and are timed in-process
(``time.process_time``, user+sys CPU of the read loop, after imports and after one warm-up
read of a small file so that numba's cached machine code is loaded); they fill Python lists
(cyvcf2, pysam: one value per record, ``genotype.array()`` / ``samples[...]["GT"]``) or
numpy arrays (biometal). ``bcftools query -f '%CHROM\\t%POS\\t%REF\\t%ALT\\t%QUAL\\t%FILTER\\t
%INFO/DP[\\t%GT]\\n' > /dev/null`` is timed as a process (user+sys from RUSAGE_CHILDREN, which
includes its ~ms start-up and text formatting). The machine is shared (2 cores, other
jobs): CPU time, not wall time; tools are interleaved, order rotated per repeat; median
(min-max) over ``--repeats``; ratio = biometal records/s / peer records/s (median of
per-repeat ratios).

    .venv/bin/python bench/vcf_reader.py --records 113000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=250000000>
##contig=<ID=chr2,length=250000000>
##FILTER=<ID=q10,Description="Quality below 10">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
"""


def write_vcf(path: Path, n: int, n_samples: int = 10, seed: int = 1) -> None:
    """n random records (see the module docstring) on n_samples samples, sorted."""
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    half = n // 2
    pos = (
        np.concatenate(
            [
                np.sort(rng.choice(2 * 10**8, half, replace=False)),
                np.sort(rng.choice(2 * 10**8, n - half, replace=False)),
            ]
        )
        + 1
    )
    chrom = np.where(np.arange(n) < half, "chr1", "chr2")
    lines = [HEADER + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"]
    lines[0] += "\t".join(f"S{i}" for i in range(n_samples)) + "\n"
    n_alt = rng.choice([1, 1, 1, 2, 3], n)
    for i in range(n):
        ref = bases[rng.integers(4)]
        alts = [b for b in bases if b != ref][: n_alt[i]]
        if rng.random() < 0.1:
            alts[0] = ref + "".join(bases[rng.integers(0, 4, rng.integers(1, 5))])
        qual = "." if rng.random() < 0.05 else f"{rng.random() * 500:.2f}"
        filt = rng.choice(["PASS", "PASS", "PASS", "q10", "."])
        af = ",".join(f"{x:.3f}" for x in rng.random(len(alts)))
        gts = rng.integers(0, len(alts) + 1, (n_samples, 2))
        sep = "|" if rng.random() < 0.5 else "/"
        samples = [
            ("./." if rng.random() < 0.03 else f"{a}{sep}{b}") + f":{rng.integers(0, 99)}"
            for a, b in gts
        ]
        lines.append(
            f"{chrom[i]}\t{pos[i]}\t.\t{ref}\t{','.join(alts)}\t{qual}\t{filt}\t"
            f"DP={rng.integers(1, 500)};AF={af}\tGT:GQ\t" + "\t".join(samples) + "\n"
        )
    path.write_text("".join(lines))


READERS = {
    "biometal": """
from biometal.io.vcf import read_vcf
def run(path):
    n = 0
    for c in read_vcf(path, info=["DP"]):
        cols = (c.chrom, c.pos, c.ref, c.alt, c.qual, c.filter, c.info["DP"], c.gt)
        n += len(c)
    return n
""",
    "cyvcf2": """
import cyvcf2
def run(path):
    chrom, pos, ref, alt, qual, filt, dp, gt = [], [], [], [], [], [], [], []
    for v in cyvcf2.VCF(path):
        chrom.append(v.CHROM); pos.append(v.POS); ref.append(v.REF); alt.append(v.ALT)
        qual.append(v.QUAL); filt.append(v.FILTER); dp.append(v.INFO.get("DP"))
        gt.append(v.genotype.array())
    return len(pos)
""",
    "pysam": """
import pysam
def run(path):
    chrom, pos, ref, alt, qual, filt, dp, gt = [], [], [], [], [], [], [], []
    with pysam.VariantFile(path) as f:
        for r in f:
            chrom.append(r.chrom); pos.append(r.pos); ref.append(r.ref); alt.append(r.alts)
            qual.append(r.qual); filt.append(list(r.filter)); dp.append(r.info.get("DP"))
            gt.append([s["GT"] for s in r.samples.values()])
    return len(pos)
""",
}

DRIVER = """
import json, sys, time
{code}
run(sys.argv[2])  # warm-up on a small file (loads numba's cache / shared objects)
t = time.process_time()
n = run(sys.argv[1])
print(json.dumps({{"cpu": time.process_time() - t, "n": n}}))
"""

QUERY = "%CHROM\t%POS\t%REF\t%ALT\t%QUAL\t%FILTER\t%INFO/DP[\t%GT]\n"


def time_python(tool: str, path: Path, small: Path) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-c", DRIVER.format(code=READERS[tool]), str(path), str(small)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return res["cpu"], res["n"]


def time_bcftools(path: Path) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open("/dev/null", "wb") as null:
        subprocess.run(["bcftools", "query", "-f", QUERY, str(path)], check=True, stdout=null)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, -1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=113_000)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=None, help="where the test files go (default: temp)")
    args = ap.parse_args(argv)
    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="vcfbench."))
    tmp.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, n in (("big", args.records), ("small", 200)):
        vcf = tmp / f"{name}.vcf"
        if not vcf.exists():
            write_vcf(vcf, n, args.samples)
        gz, bcf = tmp / f"{name}.vcf.gz", tmp / f"{name}.bcf"
        if not gz.exists():
            with open(gz, "wb") as out:
                subprocess.run(["bgzip", "-c", str(vcf)], check=True, stdout=out)
            subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(gz)], check=True)
        files[name] = {"VCF.gz": gz, "BCF": bcf}
    tools = ["biometal", "cyvcf2", "pysam", "bcftools"]
    rows = []
    for fmt in ("VCF.gz", "BCF"):
        path, small = files["big"][fmt], files["small"][fmt]
        rates: dict[str, list[float]] = {t: [] for t in tools}
        for rep in range(args.repeats):
            order = tools[rep % len(tools) :] + tools[: rep % len(tools)]
            for tool in order:
                if tool == "bcftools":
                    cpu, _ = time_bcftools(path)
                    n = args.records
                else:
                    cpu, n = time_python(tool, path, small)
                    assert n == args.records, (tool, n)
                rates[tool].append(n / cpu)
        for tool in tools:
            r = rates[tool]
            ratio = [a / b for a, b in zip(rates["biometal"], r, strict=True)]
            rows.append((fmt, tool, statistics.median(r), min(r), max(r), statistics.median(ratio)))
    print(f"# {args.records} records, {args.samples} samples, {args.repeats} repeats, CPU time")
    print("format\ttool\trecords_per_cpu_s_median\tmin\tmax\tbiometal_ratio")
    for fmt, tool, med, lo, hi, ratio in rows:
        print(f"{fmt}\t{tool}\t{med:,.0f}\t{lo:,.0f}\t{hi:,.0f}\t{ratio:.2f}")


if __name__ == "__main__":
    main()
