"""Assembly: biometal's de Bruijn graph assembler vs minia, velvet, megahit, spades on the
same read pairs, QUAST-style (biometal.assembly.evaluate, mappy), repeated and interleaved.

Data: ``genome`` (default): :func:`biometal.assembly.simulate.simulate_assembly_data` (a
haploid genome of ``--length`` bp with interspersed repeats of 300-3000 bp diverged 0-5%
and tandem repeats, ``--coverage`` x of 2 x 150 bp pairs, insert 350 +- 50); ``--reads R1
R2 --reference FA``: any read pairs with a reference (third-party data).

Tools (1 thread each, as child processes; CPU = user + sys of the process tree from
``os.wait4``, peak RSS the same way): biometal (``python -m
biometal.assembly.example_assembler``, k chosen from the depth), minia at biometal's k
(abundance-min 2), velvet at min(k, 31) (``-exp_cov auto -cov_cutoff auto``), megahit and
spades with their defaults. A tool runs only if installed. Each repeat runs every tool once,
the order rotating; the table gives the median and (min-max) of CPU seconds and peak RSS,
the contig metrics (identical across repeats: the tools are deterministic at one thread) and
the ratios to minia. The machine is shared: CPU time, not wall time, is the measure.

    .venv/bin/python bench/assembly.py --repeats 3 --out results/bench/assembly.tsv
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from biometal.assembly.evaluate import evaluate_contigs, repeat_ceiling
from biometal.assembly.peers import TOOLS, available, run_assembler
from biometal.assembly.simulate import simulate_assembly_data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--length", type=int, default=200_000)
    p.add_argument("--coverage", type=float, default=40.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--reads", nargs=2, metavar=("R1", "R2"))
    p.add_argument("--reference")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tools", nargs="+", default=list(TOOLS))
    p.add_argument("--out", default="results/bench/assembly.tsv")
    a = p.parse_args(argv)
    tools = [t for t in a.tools if available(t)]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        bed = None
        if a.reads:
            r1, r2, ref = a.reads[0], a.reads[1], a.reference
        else:
            r1, r2, ref, bed = d / "R1.fq.gz", d / "R2.fq.gz", d / "ref.fa", d / "rep.bed"
            simulate_assembly_data(ref, bed, r1, r2, length=a.length, coverage=a.coverage,
                                   seed=a.seed)  # fmt: skip
        runs: dict[str, list[dict]] = {t: [] for t in tools}
        k = 0
        for rep in range(a.repeats):
            order = tools[rep % len(tools) :] + tools[: rep % len(tools)]
            if rep == 0:  # biometal first: minia takes its k
                order = ["biometal", *[t for t in tools if t != "biometal"]]
            for t in order:
                run = run_assembler(t, r1, r2, d / f"{t}.fa", d / f"work_{t}", k=k)
                if t == "biometal":
                    k = json.loads((d / "work_biometal/biometal.json").read_text())["k"]
                runs[t].append(run)
                print(rep, t, run, file=sys.stderr, flush=True)
        ceiling = repeat_ceiling(ref, k, bed)
        rows = []
        for t in tools:
            cpu = [r["cpu_s"] for r in runs[t]]
            rss = [r["max_rss_mb"] for r in runs[t]]
            ev = evaluate_contigs(d / f"{t}.fa", ref)
            rows.append({"tool": t, "cpu_s": cpu, "rss": rss, **ev})
    minia = next((r for r in rows if r["tool"] == "minia"), None)
    cols = ["tool", "cpu_s_median", "cpu_s_range", "max_rss_mb_median", "max_rss_mb_range",
            "cpu_vs_minia", "rss_vs_minia", "contigs", "n50", "nga50", "genome_fraction",
            "misassemblies", "mismatches_per_100kb", "indels_per_100kb", "kmer_ceiling",
            "repeat_ceiling"]  # fmt: skip
    lines = ["\t".join(cols)]
    for r in rows:
        cm, rm = statistics.median(r["cpu_s"]), statistics.median(r["rss"])
        vals = {
            "tool": r["tool"],
            "cpu_s_median": f"{cm:.2f}",
            "cpu_s_range": f"{min(r['cpu_s']):.2f}-{max(r['cpu_s']):.2f}",
            "max_rss_mb_median": f"{rm:.0f}",
            "max_rss_mb_range": f"{min(r['rss']):.0f}-{max(r['rss']):.0f}",
            "cpu_vs_minia": f"{cm / statistics.median(minia['cpu_s']):.2f}" if minia else "",
            "rss_vs_minia": f"{rm / statistics.median(minia['rss']):.2f}" if minia else "",
            **{c: r[c] for c in cols[7:14]},
            "kmer_ceiling": ceiling["kmer_ceiling"],
            "repeat_ceiling": ceiling.get("repeat_ceiling", ""),
        }
        lines.append("\t".join(str(vals[c]) for c in cols))
    text = "\n".join(lines) + "\n"
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
