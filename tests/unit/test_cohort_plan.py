"""biometal.workflow.cohort: simulated, own and ENA cohorts; config mistakes are one line."""

from __future__ import annotations

import copy
import gzip
from pathlib import Path

import pysam
import pytest
import yaml

from biometal.config import validate_config
from biometal.errors import BiometalError, ConfigError, InputFormatError
from biometal.variants.cohort_inputs import prepare_reference, subset_bam, subset_truth
from biometal.workflow import plan_workflow
from biometal.workflow.cohort import parse_region, vcf_samples

REPO = Path(__file__).resolve().parents[2]


def _config(**sections) -> dict:
    cfg = copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    for key, value in sections.items():
        cfg.setdefault(key, {}).update(value)
    return validate_config(cfg)


def _everything(tool: str) -> str:
    return f"/usr/bin/{tool}"


TRUTH = (
    "##fileformat=VCFv4.2\n##contig=<ID=c1,length=100>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\tz\n"
    "c1\t10\t.\tA\tC\t.\tPASS\t.\tGT\t0|1\t1|1\t./.\t0|0\n"
    "c1\t20\t.\tA\tG\t.\tPASS\t.\tGT\t0|0\t0|0\t0|0\t1|1\n"
    "c1\t60\t.\tA\tT\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\t0|0\n"
)


def _own(tmp_path: Path, sheet: str | None = None) -> dict:
    (tmp_path / "ref.fa").write_text(">c1\n" + "A" * 100 + "\n")
    for name in ("a_1.fq", "a_2.fq", "b.fq", "c.bam"):
        (tmp_path / name).write_text("")
    (tmp_path / "truth.vcf").write_text(TRUTH)
    (tmp_path / "s.tsv").write_text(
        sheet or "sample\tfq1\tfq2\tbam\na\ta_1.fq\ta_2.fq\t\nb\tb.fq\t\t\nc\t\t\tc.bam\n"
    )
    return {"reference": str(tmp_path / "ref.fa"), "samples": str(tmp_path / "s.tsv")}


def test_simulated_default_is_unchanged() -> None:
    plan = plan_workflow(_config(), which=_everything).cohort
    assert plan.source == "simulated" and plan.samples == [f"C0{i}" for i in range(1, 6)]
    assert plan.truth == "results/cohort/data/truth.vcf.gz"
    assert plan.bam("C01") == "results/cohort/bam/C01.bam"
    assert plan.mapped_pattern == "results/cohort/bam/{sample}.bam"
    assert plan.fastq("C02") == [f"results/cohort/data/C02_R{m}.fastq.gz" for m in (1, 2)]
    assert plan.truth in plan.outputs and len(plan.outputs) == len(set(plan.outputs))


def test_sample_count_given_as_text_is_a_number() -> None:
    """snakemake --config cohort='{samples: 20}' hands the count over as the string "20"."""
    plan = plan_workflow(_config(cohort={"samples": "20"}), which=_everything).cohort
    assert plan.source == "simulated" and plan.samples[-1] == "C20" and len(plan.samples) == 20


def test_own_cohort_without_region_reads_the_users_bams(tmp_path: Path) -> None:
    plan = plan_workflow(_config(cohort=_own(tmp_path)), which=_everything).cohort
    assert plan.source == "own" and plan.samples == ["a", "b", "c"]
    assert (
        plan.reference == str(tmp_path / "ref.fa") and plan.region == "results/cohort/data/ref.fa"
    )
    assert plan.truth is None and all("truth" not in o for o in plan.outputs)
    assert plan.fastq("a") == [str(tmp_path / "a_1.fq"), str(tmp_path / "a_2.fq")]
    assert plan.fastq("b") == [str(tmp_path / "b.fq")]
    assert plan.mapped_samples == ["a", "b"]
    assert plan.bam("a") == "results/cohort/bam/a.bam" and plan.bam("c") == str(tmp_path / "c.bam")
    assert "bai" not in plan.bam_inputs("c") and plan.bam_inputs("a")["bai"].endswith("a.bam.bai")
    assert plan.bais == ["results/cohort/bam/a.bam.bai", "results/cohort/bam/b.bam.bai"]
    assert plan.read_group_fields[:6] == ["*", plan.bam("a"), "a", "?", plan.bam("a"), "a"]


def test_own_cohort_with_region_and_truth(tmp_path: Path) -> None:
    own = _own(tmp_path) | {"truth": str(tmp_path / "truth.vcf"), "region": "c1:11-1,000"}
    plan = plan_workflow(_config(cohort=own), which=_everything).cohort
    assert plan.interval == ("c1", 10, 1000) and plan.region_text == "c1:11-1000"
    assert plan.truth == "results/cohort/data/truth.vcf.gz" and plan.truth in plan.outputs
    assert plan.mapped_pattern == "results/cohort/mapped/{sample}.bam"
    assert plan.bam("c") == "results/cohort/bam/c.bam"  # the user's BAM is cut to the region
    assert plan.source_bam("c") == str(tmp_path / "c.bam")
    assert plan.source_bam("a") == "results/cohort/mapped/a.bam"


def test_1000g_cohort_preset_plans_the_ena_runs(tmp_path: Path) -> None:
    cfg = yaml.safe_load((REPO / "config" / "1000g_cohort.yaml").read_text())
    plan = plan_workflow(_config(**cfg), which=_everything).cohort
    assert plan.source == "ena" and plan.samples[:2] == ["HG00096", "HG00097"]
    assert plan.reference == "results/data/ena/reference.fa.gz"
    assert plan.interval == ("chr20", 10_000_000, 11_000_000) and plan.truth is None
    runs = tmp_path / "runs.tsv"
    runs.write_text("run\tsample\n" + "".join(f"ERR{i}\tx\n" for i in range(len(plan.samples))))

    class _Checkpoints:  # what Snakemake's checkpoints object answers after the checkpoint
        class ena_filereport:  # noqa: N801
            @staticmethod
            def get():
                return type("J", (), {"output": type("O", (), {"runs": str(runs)})})

    assert plan.fastq("HG00097", _Checkpoints) == [
        f"results/data/ena/ERR1_R{m}.fastq.gz" for m in (1, 2)
    ]


@pytest.mark.parametrize(
    ("cohort", "message"),
    [
        ({"truth": "t.vcf"}, "cohort.truth is for your own cohort"),
        ({"region": "c1"}, "cohort.region is for your own cohort"),
        ({"reference": "REF"}, "cohort.reference is set but cohort.samples is not"),
        ({"samples": "SHEET"}, "cohort.samples is set but cohort.reference is not"),
        ({"reference": "nope.fa", "samples": "SHEET"}, "cohort.reference: file 'nope.fa' not"),
        ({"reference": "REF", "samples": "SHEET", "truth": "x.vcf"}, "cohort.truth: file 'x.vcf'"),
        ({"reference": "REF", "samples": "SHEET", "region": "c1:5-2"}, "needs 1 <= start <= end"),
        ({"reference": "REF", "samples": "SHEET", "region": "c1:a-b"}, "is not 'contig' or"),
        ({"reference": "REF", "samples": "SHEET", "truth": "MISS"}, "has no sample 'a', 'c'"),
        ({"source": "ena", "reference": "REF"}, "cohort.reference is set but cohort.source is"),
        ({"source": "ena"}, "seedfilter.ena.samples: list at least two"),
    ],
)
def test_cohort_config_mistakes_are_one_line(tmp_path: Path, cohort: dict, message: str) -> None:
    own = _own(tmp_path)
    (tmp_path / "miss.vcf").write_text(TRUTH.replace("\ta\tb\tc\tz", "\tx\tb\ty\tz"))
    subs = {"REF": own["reference"], "SHEET": own["samples"], "MISS": str(tmp_path / "miss.vcf")}
    cohort = {k: subs.get(v, v) for k, v in cohort.items()}
    with pytest.raises(ConfigError) as err:
        plan_workflow(_config(cohort=cohort), which=_everything)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bad_sheet_is_one_line(tmp_path: Path) -> None:
    own = _own(tmp_path, "sample\tfq1\tbam\na\ta_1.fq\tc.bam\n")
    with pytest.raises(InputFormatError, match=r"s.tsv:2: sample 'a' has both FASTQ and bam"):
        plan_workflow(_config(cohort=own), which=_everything)
    with pytest.raises(ConfigError, match="cohort.samples"):  # neither a number nor a path
        _config(cohort={"samples": 0})


def test_region_and_vcf_samples(tmp_path: Path) -> None:
    assert parse_region("chr20") == ("chr20", 0, None)
    assert parse_region("chr20:1-10") == ("chr20", 0, 10)
    gz = tmp_path / "t.vcf.gz"
    gz.write_bytes(gzip.compress(TRUTH.encode()))
    assert vcf_samples(str(gz)) == ["a", "b", "c", "z"]


def test_inputs_reference_truth_and_bam(tmp_path: Path) -> None:
    """The own cohort's input jobs against pysam / htslib reading their outputs back."""
    src = tmp_path / "ref.fa.gz"
    seq = "ACGT" * 50
    src.write_bytes(gzip.compress(f">c1\n{seq}\n>c2\n{seq[:80]}\n".encode()))
    out = tmp_path / "out" / "ref.fa"
    out.parent.mkdir()
    assert prepare_reference(src, out, ("c2", 0, 80)) == {"c1": 200, "c2": 80}
    assert pysam.FastaFile(str(out)).fetch("c2") == seq[:80]
    with pytest.raises(BiometalError, match="contig 'c3' is not in"):
        prepare_reference(src, tmp_path / "x.fa", ("c3", 0, None))
    with pytest.raises(BiometalError, match="runs past the end of c2"):
        prepare_reference(src, tmp_path / "x.fa", ("c2", 0, 81))
    # truth: samples a, b only, positions 1-59 (60 outside), AC / AN recounted
    (tmp_path / "t.vcf").write_text(TRUTH)
    n = subset_truth(tmp_path / "t.vcf", tmp_path / "t.vcf.gz", ["b", "a"], ("c1", 0, 59))
    with pysam.VariantFile(str(tmp_path / "t.vcf.gz")) as fh:
        assert list(fh.header.samples) == ["a", "b"]  # the file's order
        recs = list(fh)
    assert n == 1 and [r.pos for r in recs] == [10]  # pos 20: only z carries it
    assert recs[0].info["AC"] == (3,) and recs[0].info["AN"] == 4
    # BAM cut to a region: only the overlapping records, indexed
    hdr = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": 200}]}
    bam = tmp_path / "r.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=hdr) as fh:
        for i, pos in enumerate((5, 50, 120)):
            a = pysam.AlignedSegment(fh.header)
            a.query_name, a.reference_id, a.reference_start = f"r{i}", 0, pos
            a.query_sequence, a.cigarstring, a.mapping_quality = "A" * 20, "20M", 60
            a.query_qualities = pysam.qualitystring_to_array("I" * 20)
            fh.write(a)
    pysam.index(str(bam))
    ref = tmp_path / "c1.fa"
    ref.write_text(f">c1\n{seq}\n")
    assert subset_bam(bam, ref, tmp_path / "cut.bam", ("c1", 60, 130)) == 2  # r1 ends at 70
    with pysam.AlignmentFile(str(tmp_path / "cut.bam")) as fh:
        assert [r.query_name for r in fh.fetch("c1")] == ["r1", "r2"]


@pytest.mark.parametrize(
    "sections",
    [
        {},
        {
            "variants": {
                "pileup": {"min_mapq": 5, "min_baseq": 20, "count_orphans": True,
                           "exclude_flags": ["UNMAP", "DUP"], "region_size": 5000},
                "calling": {"min_qual": 30.5, "theta": 1e-05, "min_af": 0.2, "min_depth": 7},
            },
            "cohort": {"gvcf": {"gq_bands": [10, 20], "evidence_min_alt": 2}},
            "compute": {"backend": "cpu"},
        },
    ],
)  # fmt: skip
def test_joint_options_are_the_configs_params(sections: dict) -> None:
    """The cohort_gvcf_joint rule runs `biometal joint` with PLAN.cohort.joint_options: parsed
    back by the command's own parser they are the parameters the config says."""
    from biometal.cli import _calling_params, _pileup_params, build_parser
    from biometal.pileup.params import pileup_params
    from biometal.variants.call import CallParams

    cfg = _config(**sections)
    plan = plan_workflow(cfg, which=_everything)
    args = build_parser().parse_args(["joint", *plan.cohort.joint_options.split(), "r", "o", "b"])
    args.threads = 1
    backend = cfg["compute"]["backend"]
    assert args.backend == backend
    assert _pileup_params(args) == pileup_params(cfg["variants"]["pileup"], backend=backend)
    assert _calling_params(args) == CallParams(**cfg["variants"]["calling"])
    assert args.gq_bands == cfg["cohort"]["gvcf"]["gq_bands"]
    assert args.evidence_min_alt == cfg["cohort"]["gvcf"]["evidence_min_alt"]
