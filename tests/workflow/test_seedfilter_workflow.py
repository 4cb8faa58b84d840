"""seed_filter with the real snakemake: the tiny simulated run's outputs, and the ENA code
path (config/1000g.yaml's keys) against a local HTTP server that imitates ENA and UCSC."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from .conftest import REPO, snakemake
from .test_workflow import _jobs


def test_dry_run_lists_the_seedfilter_rules(tmp_path: Path) -> None:
    proc = snakemake(tmp_path, "-n", "seed_filter", configfiles=())
    assert proc.returncode == 0, proc.stderr
    jobs = _jobs(proc.stdout)
    for rule in (
        "fm_index",
        "smem_seeds",
        "seed_windows",
        "seedfilter_train",
        "seedfilter_features",
        "seedfilter_export",
        "seedfilter_cost",
        "seedfilter_figures",
    ):
        assert jobs.get(rule) == 1, (rule, jobs)
    assert "ena_filereport" not in jobs  # the default config stays offline


def test_1000g_preset_plans_the_download(tmp_path: Path) -> None:
    proc = snakemake(tmp_path, "-n", "seed_filter", configfiles=(REPO / "config" / "1000g.yaml",))
    assert proc.returncode == 0, proc.stderr
    jobs = _jobs(proc.stdout)
    assert jobs.get("ena_filereport") == 1 and jobs.get("ena_reference") == 1


@pytest.mark.slow
def test_seedfilter_outputs(tiny_run: Path) -> None:
    res = tiny_run / "results"
    bal = pd.read_csv(res / "seedfilter" / "class_balance.tsv", sep="\t").set_index("metric")
    assert bal.loc["windows", "value"] > 0 and bal.loc["non_viable", "value"] > 0
    met = pd.read_csv(res / "seedfilter" / "metrics.tsv", sep="\t")
    assert list(met.model) == ["cnn", "hgb", "logistic"]
    export = json.loads((res / "seedfilter" / "export.json").read_text())
    assert max(export["onnx"]["max_abs_diff_vs_torch"].values()) <= 1e-5
    assert export["coreml_int8"]["quantized_weight_ops"] > 0
    assert (res / "seedfilter" / "seedfilter.mlpackage" / "Manifest.json").is_file()
    cost = pd.read_csv(res / "seedfilter" / "cost.tsv", sep="\t")
    assert cost.method.iloc[0] == "no filter" and (cost.stage_s_median > 0).all()
    summary = json.loads((res / "seedfilter" / "cost_summary.json").read_text())
    assert "extension costs" in summary["verdict"]
    for f in ("roc", "pr", "latency", "stage"):
        assert (res / "figures" / f"seedfilter_{f}.png").stat().st_size > 1000
    head = gzip.open(res / "seeds" / "sim.fastmap.txt.gz", "rt").read(2000)
    assert head.startswith("SQ\t") and "\nEM\t" in head


# ------------------------------------------------------------------ ENA imitation


def _genome(rng: np.random.Generator) -> np.ndarray:
    """30 kb with a 400 bp segment copied 6 times (3% divergent): multi-occurrence seeds."""
    unit = rng.integers(0, 4, 400)
    parts = []
    for _ in range(6):
        parts.append(rng.integers(0, 4, 4600))
        cp = unit.copy()
        m = rng.random(400) < 0.03
        cp[m] = rng.integers(0, 4, int(m.sum()))
        parts.append(cp)
    return np.concatenate(parts)


def _ena_site(root: Path, n_pairs: int = 400) -> dict:
    rng = np.random.default_rng(7)
    g = _genome(rng)
    letters = np.frombuffer(b"ACGT", np.uint8)
    seq = letters[g].tobytes().decode()
    ref = gzip.compress(f">chr20\n{seq}\n".encode())
    (root / "hg38").mkdir(parents=True)
    (root / "hg38" / "chr20.fa.gz").write_bytes(ref)
    (root / "hg38" / "md5sum.txt").write_text(f"{hashlib.md5(ref).hexdigest()}  chr20.fa.gz\n")
    comp = np.array([3, 2, 1, 0])
    r1, r2 = [], []
    for i in range(n_pairs):
        p = int(rng.integers(0, len(g) - 350))
        a = g[p : p + 100].copy()
        b = comp[g[p + 250 : p + 350]][::-1].copy()
        for s in (a, b):
            m = rng.random(100) < 0.01
            s[m] = rng.integers(0, 4, int(m.sum()))
        q = "I" * 100
        r1.append(f"@ERR9.{i} {i}/1\n{letters[a].tobytes().decode()}\n+\n{q}\n")
        r2.append(f"@ERR9.{i} {i}/2\n{letters[b].tobytes().decode()}\n+\n{q}\n")
    fq = root / "vol1" / "fastq" / "ERR9"
    fq.mkdir(parents=True)
    md5 = []
    for mate, recs in ((1, r1), (2, r2)):
        data = gzip.compress("".join(recs).encode())
        (fq / f"ERR9_{mate}.fastq.gz").write_bytes(data)
        md5.append(hashlib.md5(data).hexdigest())
    header = "run_accession\tsample_accession\tsample_alias\tfastq_ftp\tfastq_md5\tfastq_bytes"
    row = "\t".join(
        [
            "ERR9",
            "SAMEA9",
            "HG00096",
            "ftp.sra.ebi.ac.uk/vol1/fastq/ERR9/ERR9_1.fastq.gz;"
            "ftp.sra.ebi.ac.uk/vol1/fastq/ERR9/ERR9_2.fastq.gz",
            ";".join(md5),
            ";".join(str((fq / f"ERR9_{m}.fastq.gz").stat().st_size) for m in (1, 2)),
        ]
    )
    (root / "filereport.tsv").write_text(f"{header}\n{row}\n")
    return {"md5": md5}


class _Handler(http.server.SimpleHTTPRequestHandler):
    drop_once: set[str] = set()
    seen: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.seen.append(self.path)
        if self.path.startswith("/portal/filereport"):
            self.path = "/filereport.tsv"
        if self.path in self.drop_once:  # headers, half the body, then the connection drops
            self.drop_once.discard(self.path)
            body = Path(self.directory, self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def fake_ena(tmp_path: Path):
    root = tmp_path / "site"
    root.mkdir()
    info = _ena_site(root)
    handler = functools.partial(_Handler, directory=str(root))
    _Handler.drop_once = {"/vol1/fastq/ERR9/ERR9_1.fastq.gz"}
    _Handler.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield url, info
    server.shutdown()
    server.server_close()


def _ena_config(path: Path, url: str, **reference) -> Path:
    cfg = yaml.safe_load((REPO / "config" / "1000g.yaml").read_text())
    sf = cfg["seedfilter"]
    sf["n_pairs"] = 300
    sf["ena"].update(
        portal=f"{url}/portal",
        fastq_base=url,
        retries=2,
        backoff=0.01,
        timeout=10,
        reference={"url": f"{url}/hg38/chr20.fa.gz", "md5": "", "md5_url": f"{url}/hg38/md5sum.txt"}
        | reference,
    )
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_ena_path_against_a_local_server(fake_ena, tmp_path: Path) -> None:
    url, _ = fake_ena
    work = tmp_path / "run"
    work.mkdir()
    cfg = _ena_config(tmp_path / "ena.yaml", url)
    target = "results/seedfilter/class_balance.tsv"
    proc = snakemake(work, target, configfiles=(cfg,))
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = pd.read_csv(work / "results/data/ena/PRJEB31736.runs.tsv", sep="\t")
    assert list(runs.run) == ["ERR9"] and runs.fastq_1[0].startswith(url)
    # the dropped stream was retried: ERR9_1 was requested twice
    assert _Handler.seen.count("/vol1/fastq/ERR9/ERR9_1.fastq.gz") >= 2
    r1 = gzip.open(work / "results/data/ena/ERR9_R1.fastq.gz", "rt").read().splitlines()
    assert len(r1) == 4 * 300
    bal = pd.read_csv(work / target, sep="\t").set_index("metric")["value"]
    assert bal["read_pairs"] == 300 and bal["viable"] > 0 and bal["non_viable"] > 0


@pytest.mark.slow
def test_ena_wrong_reference_checksum_fails_cleanly(fake_ena, tmp_path: Path) -> None:
    url, _ = fake_ena
    work = tmp_path / "run"
    work.mkdir()
    cfg = _ena_config(tmp_path / "ena.yaml", url, md5="0" * 32)
    proc = snakemake(work, "results/data/ena/reference.fa.gz", configfiles=(cfg,))
    assert proc.returncode != 0
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert line and "chr20.fa.gz: MD5" in line[0] and "expected 000000" in line[0], proc.stderr
    assert not list((work / "results" / "data" / "ena").glob("reference*"))
