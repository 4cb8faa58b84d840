"""Where the simulated truth data lives (rules/data.smk writes it, every stage reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field

SIM = "results/data"


@dataclass(frozen=True)
class SimData:
    """Paths of the simulated reference, variants, reads, transcriptome, RNA-seq and
    metagenome, as the simulators write them; ``outputs`` is the ``simulate`` target."""

    dna_sample: str
    rnaseq_samples: tuple[str, ...]
    rnaseq_mates: tuple[str, ...]
    meta_sample: str = "meta"
    root: str = SIM
    reference: str = f"{SIM}/reference.fa"
    vcf: str = f"{SIM}/truth.vcf.gz"
    haplotypes: str = f"{SIM}/haplotypes.fa"
    transcripts: str = f"{SIM}/transcriptome/transcripts.fa"
    gtf: str = f"{SIM}/transcriptome/annotation.gtf"
    rnaseq_sheet: str = f"{SIM}/rnaseq/samples.tsv"
    rnaseq_truth: dict[str, str] = field(
        default_factory=lambda: {
            "counts": f"{SIM}/rnaseq/truth_counts.tsv",
            "tpm": f"{SIM}/rnaseq/truth_tpm.tsv",
            "de": f"{SIM}/rnaseq/truth_de.tsv",
        }
    )

    @property
    def reads(self) -> dict[str, str]:
        """The DNA sample's mates and per-pair truth table."""
        base = f"{self.root}/reads/{self.dna_sample}"
        return {
            "R1": f"{base}_R1.fastq.gz",
            "R2": f"{base}_R2.fastq.gz",
            "truth": f"{base}.truth.tsv.gz",
        }

    @property
    def meta(self) -> dict[str, str]:
        """The metagenome's genomes, mates and per-pair truth table."""
        base = f"{self.root}/metagenome/{self.meta_sample}"
        return {
            "genomes": f"{self.root}/metagenome/genomes.fa",
            "R1": f"{base}_R1.fastq.gz",
            "R2": f"{base}_R2.fastq.gz",
            "truth": f"{base}.truth.tsv.gz",
        }

    def rnaseq_fastq(self, sample: str, mate: str) -> str:
        """One mate file of a simulated RNA-seq sample."""
        return f"{self.root}/rnaseq/{sample}_{mate}.fastq.gz"

    @property
    def rnaseq_fastqs(self) -> dict[str, list[str]]:
        """``{sample: [R1, R2?]}`` of the simulated RNA-seq samples."""
        return {
            s: [self.rnaseq_fastq(s, m) for m in self.rnaseq_mates] for s in self.rnaseq_samples
        }

    @property
    def outputs(self) -> list[str]:
        return [
            self.reference,
            self.reference + ".fai",
            self.vcf,
            self.vcf + ".tbi",
            self.haplotypes,
            *self.reads.values(),
            self.transcripts,
            self.gtf,
            self.rnaseq_sheet,
            *self.rnaseq_truth.values(),
            *self.meta.values(),
        ]


def sim_data(config: dict) -> SimData:
    """The simulated data's layout for a validated config."""
    sim = config["simulate"]
    n = sim["rnaseq"]["n_samples"]
    return SimData(
        dna_sample=sim["reads"]["sample"],
        rnaseq_samples=tuple(f"rna{i + 1:02d}" for i in range(n)),
        rnaseq_mates=("R1", "R2") if sim["rnaseq"]["paired"] else ("R1",),
    )
