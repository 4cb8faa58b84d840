"""case_study_dnabert with the real snakemake: outputs of the tiny run, the user's own reads
streamed from a URL on 127.0.0.1, and a config mistake as a one-line error."""

from __future__ import annotations

import http.server
import shutil
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import REPO, TINY, snakemake


@pytest.mark.slow
def test_dnabert_outputs(tiny_run: Path) -> None:
    dn = tiny_run / "results" / "dnabert"
    ev = pd.read_csv(dn / "evaluation.tsv", sep="\t")
    assert list(ev["mode"]) == ["standard", "mask"]
    assert (ev["reads"] == 100).all() and (ev["masked_tokens"] > 0).all()
    assert ev["masked_tokens"].nunique() == 1  # the same positions for every model
    assert ((ev["accuracy"] >= 0) & (ev["accuracy"] <= 1)).all()
    assert (ev["train_steps"] == 12).all()
    for mode in ("standard", "mask"):
        log = pd.read_csv(dn / "train" / f"{mode}.tsv", sep="\t")
        assert list(log["step"]) == [4, 8, 12]
        assert (log["tokens_per_s"] > 0).all() and (log["rss_mb"] > 0).all()
        assert log["reads"].iloc[-1] == 12 * 16
        assert (dn / "models" / f"{mode}.pt").stat().st_size > 10_000
    thr = pd.read_csv(dn / "quality_thresholds.tsv", sep="\t")
    assert list(thr["threshold"]) == [10, 15, 20, 25, 30]
    assert thr["fraction_tokens"].is_monotonic_increasing and (thr["reads"] == 2000).all()
    k = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["dnabert"]["k"]
    vocab = (dn / "vocab.txt").read_text().splitlines()
    assert vocab[:6] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A" * k]
    assert len(vocab) == 5 + 4**k and len(set(vocab)) == len(vocab) and "T" * k in vocab
    for name in ("loss", "throughput", "memory", "comparison"):
        assert (tiny_run / "results" / "figures" / f"dnabert_{name}.png").stat().st_size > 10_000
    assert "done in" in (tiny_run / "logs" / "dnabert" / "train_mask.log").read_text()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_dnabert_own_reads_from_a_url(tiny_run: Path, tmp_path: Path, serve) -> None:
    meta = tiny_run / "results" / "data" / "metagenome"
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(meta / "meta_R1.fastq.gz", served / "train.fastq.gz")
    heldout = shutil.copy(meta / "meta_R2.fastq.gz", tmp_path / "heldout.fastq.gz")
    url = serve(partial(_Quiet, directory=str(served))) + "/train.fastq.gz"
    own = tmp_path / "own.yaml"
    own.write_text(
        yaml.safe_dump(
            {"dnabert": {"inputs": [url], "heldout": [str(heldout)], "quality_modes": ["weight"]}}
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(work, "case_study_dnabert", configfiles=(TINY, own))
    assert proc.returncode == 0, proc.stderr[-3000:]
    ev = pd.read_csv(work / "results" / "dnabert" / "evaluation.tsv", sep="\t")
    assert list(ev["mode"]) == ["standard", "weight"]
    assert not (work / "results" / "data").exists()  # nothing simulated for own data
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"dnabert": {"inputs": [str(heldout)]}}))
    proc = snakemake(work, "-n", "case_study_dnabert", configfiles=(TINY, bad))
    assert proc.returncode != 0
    assert "error: config dnabert.inputs is set but dnabert.heldout is not" in proc.stderr
    assert "Traceback" not in proc.stderr
