"""Cohort target (``case_study_cohort``): where the cohort comes from and every path of it.

Three sources, decided here (rules stay thin):

- ``simulated`` (default): the cohort simulator's region of the simulated reference,
  multi-sample truth and reads per sample (config cohort.samples: a number);
- ``own``: ``cohort.reference`` (FASTA, plain or gzipped) + ``cohort.samples`` (the variant
  case study's sample sheet: ``sample`` + ``fq1``/``fq2`` FASTQ mapped with mappy, or ``bam``
  sorted and indexed on that reference), optional ``cohort.truth`` (multi-sample VCF with
  the sheet's sample names) and ``cohort.region``;
- ``ena`` (``cohort.source: ena``, config/1000g_cohort.yaml): the runs of
  ``seedfilter.ena.samples`` and the reference of ``seedfilter.ena.reference`` through the
  workflow's one ENA download path (rules/download.smk), optional truth and region.

Own and ENA data: the reference is copied (decompressed) to ``results/cohort/data/ref.fa``;
FASTQ samples are mapped to it; with a region every BAM is cut to it (``results/cohort/bam``)
and the truth is cut to it and to the samples, with AC / AN recounted from the samples'
genotypes (``results/cohort/data/truth.vcf.gz``). Without a truth the gVCFs, joint VCF and
peer calls are made and the evaluation table counts calls without scoring them.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from biometal.errors import ConfigError
from biometal.workflow.data import SimData
from biometal.workflow.peers import PeerFinder

CO = "results/cohort"
FIGURES = ("recall", "throughput")
ENA = "results/data/ena"
_REGION = re.compile(r"^([^\s:]+)(?::([\d,]+)-([\d,]+))?$")


def parse_region(text: str) -> tuple[str, int, int | None]:
    """``contig`` or ``contig:start-end`` (1-based, inclusive; commas allowed) -> (contig,
    0-based start, end exclusive or None for the whole contig). Raises ConfigError."""
    m = _REGION.match(text.strip())
    if not m:
        raise ConfigError(
            f"config cohort.region: '{text}' is not 'contig' or 'contig:start-end' "
            "(1-based, inclusive, e.g. chr20:10000001-11000000)"
        )
    if m.group(2) is None:
        return m.group(1), 0, None
    start, end = (int(m.group(i).replace(",", "")) for i in (2, 3))
    if start < 1 or end < start:
        raise ConfigError(f"config cohort.region: '{text}' needs 1 <= start <= end")
    return m.group(1), start - 1, end


def joint_options(config: dict) -> str:
    """``biometal joint``'s options for the workflow's config: the variant case study's
    pileup filters and calling thresholds (``variants.pileup``, ``variants.calling``), the
    gVCF options (``cohort.gvcf``) and the backend (``compute.backend``); every key of those
    sections the job uses, so the command runs with what the config says
    (tests/unit/test_cohort_plan.py parses them back)."""
    pileup, calling = config["variants"]["pileup"], config["variants"]["calling"]
    gvcf = config["cohort"]["gvcf"]
    opts = [
        f"--backend {config['compute']['backend']}",
        f"--min-mapq {int(pileup['min_mapq'])}",
        f"--min-baseq {int(pileup['min_baseq'])}",
        f"--ff {','.join(pileup['exclude_flags']) or ','}",
        *(["--count-orphans"] if pileup["count_orphans"] else []),
        f"--region-size {int(pileup['region_size'])}",
        *(f"--{key.replace('_', '-')} {value!r}" for key, value in sorted(calling.items())),
        f"--gq-bands {','.join(str(int(b)) for b in gvcf['gq_bands'])}",
        f"--evidence-min-alt {int(gvcf['evidence_min_alt'])}",
    ]
    return " ".join(opts)


def vcf_samples(path: str) -> list[str]:
    """Sample names of a VCF / VCF.gz header (stdlib only: the plan stays light)."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("#CHROM"):
                    return line.rstrip("\r\n").split("\t")[9:]
                if not line.startswith("##"):
                    break
    except (OSError, EOFError) as exc:
        raise ConfigError(f"config cohort.truth: cannot read '{path}' ({exc})") from None
    raise ConfigError(f"config cohort.truth: '{path}' has no #CHROM header line")


@dataclass(frozen=True)
class CohortPlan:
    """Inputs and outputs of case_study_cohort. ``samples``: the sample names; ``peers``:
    the multi-sample peers that run (bcftools when installed); ``reference``: the FASTA the
    cohort's reference is made from (simulated, the user's, or the ENA download);
    ``source``: simulated | own | ena; ``own``: per sample {"fastq": [...], "bam": user's
    BAM or ""} (own data); ``truth_input``: the user's truth VCF or None; ``interval``:
    (contig, 0-based start, end or None) of cohort.region, or None."""

    samples: list[str]
    peers: list[str]
    reference: str
    source: str = "simulated"
    own: dict[str, dict] = field(default_factory=dict)
    truth_input: str | None = None
    interval: tuple[str, int, int | None] | None = None
    ena_runs_table: str = ""
    joint_options: str = ""  # biometal joint's options from the config (joint_options())

    region = f"{CO}/data/ref.fa"  # the cohort's reference FASTA (every job reads this one)
    joint = f"{CO}/joint.vcf.gz"
    evaluation = f"{CO}/evaluation.tsv"
    recall = f"{CO}/recall_by_af_depth.tsv"
    throughput = f"{CO}/site_stats_throughput.tsv"

    @property
    def simulated(self) -> bool:
        return self.source == "simulated"

    @property
    def truth(self) -> str | None:
        """The truth every scoring job reads (simulated, or the user's cut to the samples
        and region), None without one."""
        if self.simulated or self.truth_input:
            return f"{CO}/data/truth.vcf.gz"
        return None

    @property
    def region_text(self) -> str:
        """cohort.region as samtools writes it ("" for none)."""
        if self.interval is None:
            return ""
        contig, start, end = self.interval
        return contig if end is None else f"{contig}:{start + 1}-{end}"

    # ------------------------------------------------------------------ reads and BAMs

    @staticmethod
    def reads(sample: str) -> list[str]:
        """The simulated pairs of a sample."""
        return [f"{CO}/data/{sample}_R{m}.fastq.gz" for m in (1, 2)]

    def fastq(self, sample: str, checkpoints=None) -> list[str]:
        """Input function body of cohort_map: the sample's FASTQ (for ENA, the run the
        ena_filereport checkpoint chose for it: the runs table lists seedfilter.ena.samples
        in order)."""
        if self.simulated:
            return self.reads(sample)
        if self.source == "own":
            return self.own[sample]["fastq"]
        table = checkpoints.ena_filereport.get().output.runs
        with open(table, encoding="utf-8", newline="") as fh:
            runs = [row["run"] for row in csv.DictReader(fh, delimiter="\t")]
        run = runs[self.samples.index(sample)]
        return [f"{ENA}/{run}_R{m}.fastq.gz" for m in (1, 2)]

    def user_bam(self, sample: str) -> str:
        return self.own.get(sample, {}).get("bam", "")

    @property
    def mapped_pattern(self) -> str:
        """Where cohort_map writes a sample's BAM: the final one, or (with a region) the
        whole mapping cohort_subset cuts."""
        return f"{CO}/{'mapped' if self.interval else 'bam'}/{{sample}}.bam"

    @property
    def mapped_samples(self) -> list[str]:
        return [s for s in self.samples if not self.user_bam(s)]

    def source_bam(self, sample: str) -> str:
        """The BAM cohort_subset cuts: the user's, or the mapped one."""
        return self.user_bam(sample) or self.mapped_pattern.format(sample=sample)

    def bam(self, sample: str) -> str:
        """The BAM every calling job reads: the user's (no region), or the workflow's."""
        if self.user_bam(sample) and self.interval is None:
            return self.user_bam(sample)
        return f"{CO}/bam/{sample}.bam"

    def bam_inputs(self, sample: str) -> dict[str, str]:
        """A sample's BAM and reference (its index only when the workflow makes it: a
        user's BAM without one fails in the job with a one-line error)."""
        inputs = {"bam": self.bam(sample), "reference": self.region}
        if self.bam(sample) != self.user_bam(sample):
            inputs["bai"] = f"{self.bam(sample)}.bai"
        return inputs

    def subset_inputs(self, wildcards) -> dict[str, str]:
        """Input function of cohort_subset."""
        bam = self.source_bam(wildcards.sample)
        inputs = {"bam": bam, "reference": self.region}
        if bam != self.user_bam(wildcards.sample):
            inputs["bai"] = f"{bam}.bai"
        return inputs

    @property
    def bams(self) -> list[str]:
        return [self.bam(s) for s in self.samples]

    @property
    def bais(self) -> list[str]:
        user = {self.user_bam(s) for s in self.samples}
        return [f"{b}.bai" for b in self.bams if b not in user]

    @property
    def read_group_fields(self) -> list[str]:
        """bcftools mpileup --read-groups lines, flattened (3 fields a line): every read of
        a BAM, with a read group (``*``) or without (``?``), belongs to the sample of the
        sheet, whatever the BAM's SM says."""
        return [f for s in self.samples for rg in "*?" for f in (rg, self.bam(s), s)]

    @staticmethod
    def map_mem_mb(wildcards, input) -> int:
        """Resource function of cohort_map: 800 MB (the simulated cohort's region) plus
        minimap2's short-read index, taken as 3 bytes per byte of the reference FASTA (as
        the variant case study's map_reads)."""
        return int(800 + 3 * Path(input.reference).stat().st_size / 1e6)

    # ------------------------------------------------------------------ simulated data

    def sim_outputs(self) -> dict[str, object]:
        """Named outputs of the simulation rule."""
        truth = f"{CO}/data/truth.vcf.gz"
        return {
            "region": self.region,
            "fai": f"{self.region}.fai",
            "truth": truth,
            "tbi": f"{truth}.tbi",
            "reads": [f for s in self.samples for f in self.reads(s)],
        }

    @staticmethod
    def gvcf(sample: str) -> str:
        return f"{CO}/gvcf/{sample}.g.vcf.gz"

    @staticmethod
    def cpu(job: str) -> str:
        """JSON of a job's CPU time (written by the job itself)."""
        return f"{CO}/cpu/{job}.json"

    @staticmethod
    def peer_vcf(peer: str) -> str:
        return f"{CO}/peers/{peer}.vcf.gz"

    @property
    def figures(self) -> dict[str, str]:
        return {f: f"results/figures/cohort_{f}.png" for f in FIGURES}

    @property
    def outputs(self) -> list[str]:
        return [
            *([self.truth] if self.truth else []),
            *(self.gvcf(s) for s in self.samples),
            *(f"{self.gvcf(s)}.tbi" for s in self.samples),
            self.joint,
            f"{self.joint}.tbi",
            *(self.peer_vcf(p) for p in self.peers),
            self.evaluation,
            self.recall,
            self.throughput,
            *self.figures.values(),
        ]


def _own_samples(sheet: str) -> dict[str, dict]:
    from biometal.variants.samples import read_variant_sheet

    rows = read_variant_sheet(sheet)
    return {
        r["sample"]: {"fastq": [p for p in (r["fq1"], r["fq2"]) if p], "bam": r["bam"]}
        for r in rows
    }


def cohort_plan(config: dict, sim: SimData, peers: PeerFinder) -> CohortPlan:
    """The case_study_cohort target's plan of a validated config. Raises ConfigError (one
    line, naming the key or file) for a cohort the workflow cannot run."""
    return replace(_cohort_plan(config, sim, peers), joint_options=joint_options(config))


def _cohort_plan(config: dict, sim: SimData, peers: PeerFinder) -> CohortPlan:
    cfg = config["cohort"]
    peer_list = peers.enabled(cfg["peers"], "variant-calling")  # one note with the variants'
    # cohort.samples: a number (simulated samples) or a sample sheet (your own cohort)
    # (snakemake --config cohort='{samples: 20}' passes the number as the string "20")
    value = cfg["samples"]
    number = isinstance(value, int) or (value.strip().isdigit() and not Path(value).is_file())
    sheet = "" if number else value
    own_keys = [k for k, v in (("reference", cfg["reference"]), ("samples", sheet)) if v]
    if cfg["source"] == "simulated" and not own_keys:
        for key in ("truth", "region"):
            if cfg[key]:
                raise ConfigError(
                    f"config cohort.{key} is for your own cohort (cohort.reference and "
                    "cohort.samples) or cohort.source: ena"
                )
        n = int(cfg["samples"])
        width = max(2, len(str(n)))
        return CohortPlan(
            samples=[f"C{i:0{width}d}" for i in range(1, n + 1)],
            peers=peer_list,
            reference=sim.reference,
        )
    interval = parse_region(cfg["region"]) if cfg["region"] else None
    if cfg["truth"] and not Path(cfg["truth"]).is_file():
        raise ConfigError(f"config cohort.truth: file '{cfg['truth']}' not found")
    if cfg["source"] == "ena":
        if own_keys:
            raise ConfigError(
                f"config cohort.{own_keys[0]} is set but cohort.source is ena: give your own "
                "cohort (cohort.reference + cohort.samples) or the ENA one, not both"
            )
        ena = config["seedfilter"]["ena"]
        names = list(ena["samples"])
        if len(names) < 2:
            raise ConfigError(
                "config cohort.source: ena takes its samples from seedfilter.ena.samples: "
                "list at least two (sample alias, sample or run accession)"
            )
        plan = CohortPlan(
            samples=names,
            peers=peer_list,
            reference=f"{ENA}/reference.fa.gz",
            source="ena",
            truth_input=cfg["truth"] or None,
            interval=interval,
            ena_runs_table=f"{ENA}/{ena['project']}.runs.tsv",
        )
    else:
        if len(own_keys) < 2:
            missing = "samples" if own_keys[0] == "reference" else "reference"
            raise ConfigError(
                f"config cohort.{own_keys[0]} is set but cohort.{missing} is not: your own "
                "cohort needs cohort.reference and cohort.samples together"
            )
        if not Path(cfg["reference"]).is_file():
            raise ConfigError(f"config cohort.reference: file '{cfg['reference']}' not found")
        own = _own_samples(sheet)
        plan = CohortPlan(
            samples=list(own),
            peers=peer_list,
            reference=cfg["reference"],
            source="own",
            own=own,
            truth_input=cfg["truth"] or None,
            interval=interval,
        )
    if plan.truth_input:
        have = set(vcf_samples(plan.truth_input))
        missing = [s for s in plan.samples if s not in have]
        if missing:
            raise ConfigError(
                f"config cohort.truth: '{plan.truth_input}' has no sample "
                f"{', '.join(repr(s) for s in missing)} (its samples must carry the sheet's "
                "sample names)"
            )
    return plan
