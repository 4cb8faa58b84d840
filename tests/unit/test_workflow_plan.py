"""biometal.workflow: config -> each stage's inputs, without Snakemake."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from biometal.config import load_config, validate_config
from biometal.errors import ConfigError, InputFormatError
from biometal.workflow import plan_workflow

REPO = Path(__file__).resolve().parents[2]
DEFAULT = load_config(REPO / "config" / "config.yaml")


def _config(**sections) -> dict:
    cfg = copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    for key, value in sections.items():
        cfg.setdefault(key, {}).update(value)
    return validate_config(cfg)


def _everything(tool: str) -> str:
    return f"/usr/bin/{tool}"


def test_rnaseq_quant_batches() -> None:
    plan = plan_workflow(_config(rnaseq={"samples_per_job": 4}), which=_everything).rnaseq
    batches = plan.quant_batches
    assert [(b.name, b.samples) for b in batches] == [
        ("1", ["rna01", "rna02", "rna03", "rna04"]),
        ("2", ["rna05", "rna06"]),
    ]
    assert batches[1].outputs("tsv") == [
        "results/rnaseq/quant/rna05.tsv",
        "results/rnaseq/quant/rna06.tsv",
    ]
    bench = dict(zip(plan.runs, plan.quant_benchmarks, strict=True))
    assert bench["biometal", "rna06"] == "benchmarks/rnaseq/quant/biometal/batch2.tsv"
    assert bench["kallisto", "rna06"] == "benchmarks/rnaseq/quant/kallisto/rna06.tsv"
    one = plan_workflow(_config(rnaseq={"samples_per_job": 1}), which=_everything).rnaseq
    assert [b.samples for b in one.quant_batches] == [[s] for s in one.samples]
    with pytest.raises(ConfigError, match="samples_per_job"):
        _config(rnaseq={"samples_per_job": -1})


def test_rnaseq_own_samples_get_a_job_each_by_default(tmp_path: Path) -> None:
    for name in ("tx.fa", "genes.gtf", "a_1.fq", "a_2.fq", "b_1.fq", "b_2.fq"):
        (tmp_path / name).write_text("")
    sheet = tmp_path / "rna.tsv"
    sheet.write_text("sample\tcondition\tfq1\tfq2\na\tA\ta_1.fq\ta_2.fq\nb\tB\tb_1.fq\tb_2.fq\n")
    own = {"transcriptome": str(tmp_path / "tx.fa"), "gtf": str(tmp_path / "genes.gtf")}
    own["samples"] = str(sheet)
    plan = plan_workflow(_config(rnaseq=own), which=_everything).rnaseq
    assert [b.samples for b in plan.quant_batches] == [["a"], ["b"]]
    plan = plan_workflow(_config(rnaseq={**own, "samples_per_job": 2}), which=_everything)
    assert [b.samples for b in plan.rnaseq.quant_batches] == [["a", "b"]]


def test_default_plan_paths_and_samples() -> None:
    plan = plan_workflow(DEFAULT, which=_everything)
    assert plan.sim.reference == "results/data/reference.fa"
    assert plan.qc.names == sorted(["sim", "meta", *(f"rna{i:02d}" for i in range(1, 7))])
    assert plan.rnaseq.methods == ["biometal", "kallisto", "salmon"]
    assert len(plan.rnaseq.runs) == 3 * 6
    assert [b.samples for b in plan.rnaseq.quant_batches] == [[f"rna{i:02d}" for i in range(1, 7)]]
    assert plan.variants.callers == ["biometal", "bcftools", "freebayes"]
    assert plan.variants.bam("sim") == "results/align/sim.bam"
    assert "results/pileup/throughput.tsv" in plan.variants.outputs
    assert plan.seeds.source == "simulated" and plan.seeds.truth == [plan.sim.reads["truth"]]
    assert plan.dnabert.modes == ["standard", "mask"]
    assert len(plan.all) == len(set(plan.all))
    assert plan.notes == ()


def test_missing_peers_are_left_out_with_one_note_each() -> None:
    plan = plan_workflow(DEFAULT, which=lambda tool: None)
    assert plan.rnaseq.peers == [] and plan.variants.peers == []
    assert not plan.variants.bench  # samtools times the pileup
    # + cutadapt, fastp (read QC), minia, velvet, megahit (assembly: one note each although
    # both its data sets ask for them); bcftools of the cohort is the variants note
    assert len(plan.notes) == 10 and len(set(plan.notes)) == 10
    assert any("'freebayes'" in n and "bgzip" in n for n in plan.notes)


def test_conda_runs_every_requested_peer_whatever_is_on_path() -> None:
    plan = plan_workflow(DEFAULT, conda=True, which=lambda tool: None)
    assert plan.rnaseq.peers == ["kallisto", "salmon"] and plan.notes == ()


def test_peers_are_chosen_by_config() -> None:
    cfg = _config(rnaseq={"peers": ["salmon"]}, variants={"peers": []})
    plan = plan_workflow(cfg, which=_everything)
    assert plan.rnaseq.methods == ["biometal", "salmon"]
    assert plan.variants.callers == ["biometal"]


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"rnaseq": {"gtf": "genes.gtf"}}, "rnaseq.gtf is set but rnaseq.transcriptome"),
        ({"variants": {"truth": "t.vcf.gz"}}, "variants.truth is for your own samples"),
        ({"variants": {"reference": "ref.fa"}}, "variants.samples is not"),
        ({"dnabert": {"k": 3, "stride": 4}}, "dnabert.stride (4) must be <= dnabert.k (3)"),
        ({"dnabert": {"inputs": ["a.fq"]}}, "dnabert.heldout is not"),
        ({"dnabert": {"inputs": ["-"], "heldout": ["b.fq"]}}, "'-' (stdin) cannot be read"),
        (
            {"dnabert": {"inputs": ["missing.fq"], "heldout": ["b.fq"]}},
            "file 'missing.fq' not found",
        ),
    ],
)
def test_config_mistakes_are_one_line(sections: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        plan_workflow(_config(**sections), which=_everything)
    assert message in str(err.value) and "\n" not in str(err.value)


def _fastq(path: Path) -> str:
    path.write_text("@r\nACGT\n+\nIIII\n")
    return str(path)


def test_own_qc_samples_and_reserved_names(tmp_path: Path) -> None:
    fq = _fastq(tmp_path / "a.fq")
    sheet = tmp_path / "s.tsv"
    sheet.write_text(f"sample\tfq1\nmine\t{fq}\n")
    plan = plan_workflow(_config(qc={"samples": str(sheet)}), which=_everything)
    assert plan.qc.samples == {"mine": [fq]}
    assert plan.qc.fastq(SimpleNamespace(sample="mine")) == [fq]
    sheet.write_text(f"sample\tfq1\nsummary\t{fq}\n")
    with pytest.raises(ConfigError, match="sample name 'summary' is reserved"):
        plan_workflow(_config(qc={"samples": str(sheet)}), which=_everything)


def test_own_sheet_errors_name_file_and_line(tmp_path: Path) -> None:
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tfq1\nmine\tnot_there.fq\n")
    with pytest.raises(InputFormatError, match=r"s\.tsv:2: .*not_there\.fq"):
        plan_workflow(_config(qc={"samples": str(sheet)}), which=_everything)


def test_own_variant_samples(tmp_path: Path) -> None:
    ref = tmp_path / "ref.fa"
    ref.write_text(">c\nACGT\n")
    bam = tmp_path / "x.bam"
    bam.write_bytes(b"")
    fq = _fastq(tmp_path / "y.fq")
    sheet = tmp_path / "dna.tsv"
    sheet.write_text(f"sample\tfq1\tbam\nx\t\t{bam}\ny\t{fq}\t\n")
    plan = plan_workflow(
        _config(variants={"reference": str(ref), "samples": str(sheet)}), which=_everything
    )
    assert plan.variants.sample_inputs("x") == {"bam": str(bam), "reference": str(ref)}
    assert plan.variants.sample_inputs("y")["bai"] == "results/align/y.bam.bai"
    assert plan.variants.truth is None
    assert "results/variants/eval.tsv" not in plan.variants.outputs
    mem = plan.variants.map_mem_mb(None, SimpleNamespace(reference=str(ref)))
    assert mem >= 1000


def test_fm_index_memory_grows_with_the_reference(tmp_path: Path) -> None:
    plan = plan_workflow(DEFAULT, which=_everything)
    small, big = tmp_path / "s.fa", tmp_path / "b.fa"
    small.write_bytes(b"A" * 1_000)
    big.write_bytes(b"A" * 64_000_000)
    assert plan.seeds.index_mem_mb(None, [str(small)]) == 500
    # measured build peak ~1 GB for a 64 Mb chromosome (bench/fm_index.py), <= 2 GB declared
    assert 922 < plan.seeds.index_mem_mb(None, [str(big)]) <= 2000


def test_ena_source_reads_the_checkpoint_table(tmp_path: Path) -> None:
    cfg = validate_config(yaml.safe_load((REPO / "config" / "1000g.yaml").read_text()))
    plan = plan_workflow(cfg, which=_everything)
    assert plan.seeds.source == "ena" and plan.seeds.truth == []
    runs = tmp_path / "runs.tsv"
    runs.write_text("run\tsample\nERR1\tNA1\nERR2\tNA2\n")
    assert plan.seeds.ena_fastq(str(runs))["r2"] == [
        "results/data/ena/ERR1_R2.fastq.gz",
        "results/data/ena/ERR2_R2.fastq.gz",
    ]
