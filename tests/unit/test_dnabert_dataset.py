"""DnaBertDataset: DataLoader workers and ranks see every read exactly once; batches do not
depend on sharding or on the source (file, http on 127.0.0.1, stdin); MLM 80/10/10;
quality-aware fields; a dropped connection is a clear error; peak RSS flat in input size."""

from __future__ import annotations

import http.server
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from biometal.errors import BiometalError
from biometal.io import FastqWriter, ReadChunk, read_fastq
from biometal.io.sources import InputSourceError
from biometal.ml import DnaBertDataset, KmerTokenizer
from biometal.ml.dataset import IGNORE_INDEX, iterate_loader


def write_reads(path: Path, n: int, seed: int, length=(20, 160)) -> Path:
    """Random reads (1% N, Phred 2..41) of random lengths, written with the library's writer."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(length[0], length[1] + 1, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = rng.integers(0, 4, offsets[-1]).astype(np.uint8)
    codes[rng.random(offsets[-1]) < 0.01] = 4
    qual = rng.integers(2, 42, offsets[-1]).astype(np.uint8)
    with FastqWriter(path) as out:
        out.write_chunk(ReadChunk(codes, qual, offsets))
    return path


@pytest.fixture(scope="module")
def reads(tmp_path_factory) -> Path:
    return write_reads(tmp_path_factory.mktemp("dnabert") / "reads.fastq.gz", 3000, seed=1)


def collect(loader) -> list[dict[str, torch.Tensor]]:
    return [{k: v.clone() for k, v in b.items()} for b in loader]


def by_first_read(batches):
    return {int(b["read_index"][0]): b for b in batches}


def assert_same_batches(a, b):
    a, b = by_first_read(a), by_first_read(b)
    assert a.keys() == b.keys()
    for key, x in a.items():
        y = b[key]
        assert x.keys() == y.keys()
        for name in x:
            assert torch.equal(x[name], y[name]), (key, name)


# --------------------------------------------------------------------------- sharding


def test_four_workers_see_every_read_exactly_once(reads, tmp_path):
    other = write_reads(tmp_path / "b.fastq", 777, seed=2)
    ds = DnaBertDataset([reads, other], k=6, max_length=64, batch_size=16, chunk_reads=100,
                        seed=3, return_read_index=True)  # fmt: skip
    loader = DataLoader(ds, batch_size=None, num_workers=4)
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        batches = collect(loader)
        index = torch.cat([b["read_index"] for b in batches]).tolist()
        assert sorted(index) == list(range(3777))  # no duplicates, no gaps
        if epoch == 0:
            first = batches
    # same batches as one process; the next epoch masks differently
    assert_same_batches(first, collect(DataLoader(ds.__class__(
        [reads, other], k=6, max_length=64, batch_size=16, chunk_reads=100, seed=3,
        return_read_index=True), batch_size=None)))  # fmt: skip
    changed = by_first_read(batches)[0]["labels"] != by_first_read(first)[0]["labels"]
    assert changed.any()


@pytest.mark.parametrize("world_size,workers", [(3, 0), (2, 2)])
def test_distributed_ranks_partition_the_reads(reads, world_size, workers):
    seen = []
    for rank in range(world_size):
        ds = DnaBertDataset(reads, max_length=32, batch_size=8, chunk_reads=64,
                            return_read_index=True, rank=rank, world_size=world_size)  # fmt: skip
        loader = DataLoader(ds, batch_size=None, num_workers=workers)
        seen.append(torch.cat([b["read_index"] for b in loader]).tolist())
    assert all(seen)
    flat = sorted(i for s in seen for i in s)
    assert flat == list(range(3000))


def test_torch_distributed_rank_is_used(reads, tmp_path):
    store = torch.distributed.FileStore(str(tmp_path / "store"), 1)
    torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        ds = DnaBertDataset(reads, max_length=32, chunk_reads=64)
        assert ds.shard() == (0, 1)
        assert DnaBertDataset(reads, rank=1, world_size=4).shard() == (1, 4)
    finally:
        torch.distributed.destroy_process_group()


def test_max_reads_and_stdin_cannot_be_shared(reads):
    ds = DnaBertDataset(reads, max_length=32, batch_size=10, chunk_reads=40, max_reads=95,
                        return_read_index=True)  # fmt: skip
    assert torch.cat([b["read_index"] for b in ds]).tolist() == list(range(95))
    shared = DnaBertDataset("-", rank=0, world_size=2)
    with pytest.raises(Exception, match="standard input"):
        next(iter(shared))


# --------------------------------------------------------------------------- batches


def test_batch_contents_match_the_tokenizer(reads):
    ds = DnaBertDataset(reads, k=5, max_length=100, batch_size=32, chunk_reads=64,
                        mlm_probability=0.0, return_read_index=True)  # fmt: skip
    tok = KmerTokenizer(5)
    records = list(read_fastq(reads))
    for b in ds:
        assert (b["labels"] == IGNORE_INDEX).all()
        width = b["input_ids"].shape[1]
        for row, i in enumerate(b["read_index"].tolist()):
            ids = tok.encode(records[i].seq, max_length=100)
            assert b["input_ids"][row, : len(ids)].tolist() == ids
            assert b["attention_mask"][row].tolist() == [1] * len(ids) + [0] * (width - len(ids))
        assert width == int(b["attention_mask"].sum(1).max())  # padded to the longest
    fixed = next(iter(DnaBertDataset(reads, max_length=100, pad_to_max_length=True)))
    assert fixed["input_ids"].shape == (32, 100) and fixed["input_ids"].dtype == torch.int64


def test_mlm_80_10_10(reads):
    tok = KmerTokenizer(6)
    ds = DnaBertDataset(reads, k=6, max_length=160, batch_size=64, chunk_reads=512,
                        mlm_probability=0.15, seed=7)  # fmt: skip
    plain = DnaBertDataset(reads, k=6, max_length=160, batch_size=64, chunk_reads=512,
                           mlm_probability=0.0)  # fmt: skip
    n_kmer = n_sel = n_mask = n_same = n_other = 0
    for b, p in zip(ds, plain, strict=True):
        ids, inp, lab = p["input_ids"], b["input_ids"], b["labels"]
        is_kmer = (ids >= 5) | (ids == tok.unk_id)
        sel = lab != IGNORE_INDEX
        assert not (sel & ~is_kmer).any()  # never a special token or padding
        assert torch.equal(lab[sel], ids[sel])
        assert torch.equal(inp[~sel], ids[~sel])
        n_kmer += int(is_kmer.sum())
        n_sel += int(sel.sum())
        n_mask += int((inp[sel] == tok.mask_id).sum())
        n_same += int((inp[sel] == ids[sel]).sum())
        other = inp[sel][(inp[sel] != tok.mask_id) & (inp[sel] != ids[sel])]
        n_other += len(other)
        assert (other >= 5).all()  # random replacements are k-mer tokens
    assert n_sel / n_kmer == pytest.approx(0.15, abs=0.005)
    assert n_mask / n_sel == pytest.approx(0.8, abs=0.01)
    assert n_same / n_sel == pytest.approx(0.1, abs=0.01)
    assert n_other / n_sel == pytest.approx(0.1, abs=0.01)


def test_span_masking_is_contiguous(reads):
    b = next(iter(DnaBertDataset(reads, k=6, max_length=160, batch_size=256, chunk_reads=256,
                                 mlm_probability=0.15, mlm_span=6, seed=2)))  # fmt: skip
    sel = (b["labels"] != IGNORE_INDEX).numpy()
    runs = []
    for row in sel:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
        runs += (edges[1::2] - edges[::2]).tolist()
    assert np.median(runs) >= 6  # spans of 6 (longer where two overlap)
    assert 0.10 < sel.sum() / b["attention_mask"].sum().item() < 0.2


def test_quality_aware_modes(reads):
    tok = KmerTokenizer(6)
    kw = dict(k=6, max_length=160, batch_size=64, chunk_reads=128, seed=1, quality_threshold=20,
              return_read_index=True)  # fmt: skip
    records = list(read_fastq(reads))
    masked = next(iter(DnaBertDataset(reads, quality_aware=True, **kw)))
    plain = next(iter(DnaBertDataset(reads, mlm_probability=0.0, **kw)))
    q_masked = plain["input_ids"].ne(masked["input_ids"]) & masked["labels"].eq(IGNORE_INDEX)
    for row, i in enumerate(masked["read_index"].tolist()):
        qual = np.frombuffer(records[i].qual.encode(), np.uint8) - 33
        n = tok.n_kmers(len(qual))
        low = np.array([qual[j : j + 6].min() < 20 for j in range(min(n, 158))], bool)
        got = masked["input_ids"][row, 1 : 1 + len(low)].numpy()
        assert (got[low] == tok.mask_id).all()
        assert (masked["labels"][row, 1 : 1 + len(low)].numpy()[low] == IGNORE_INDEX).all()
    assert q_masked.any()
    weighted = next(iter(DnaBertDataset(reads, quality_aware="weight", **kw)))
    w = weighted["token_weights"]
    assert w.dtype == torch.float32 and ((w >= 0) & (w <= 1)).all()
    assert (w[weighted["attention_mask"] == 0] == 0).all() and (w[:, 0] == 1).all()
    prob = next(iter(DnaBertDataset(reads, quality_aware="probabilistic", candidates=3, **kw)))
    cp, ci = prob["candidate_probs"], prob["candidate_ids"]
    assert ci.shape == (*prob["input_ids"].shape, 3)
    assert torch.allclose(cp.sum(-1), torch.ones(cp.shape[:2]), atol=1e-5)
    chosen = prob["labels"] != IGNORE_INDEX
    assert torch.equal(ci[..., 0][chosen], prob["input_ids"][chosen])
    assert (cp[..., 0][chosen] == 1).all() and (cp[..., 0] < 1).any()


def test_reverse_complement_augmentation(reads):
    kw = dict(k=4, max_length=200, batch_size=3000, chunk_reads=3000, mlm_probability=0.0)
    fwd = next(iter(DnaBertDataset(reads, **kw)))
    aug = next(iter(DnaBertDataset(reads, reverse_complement=0.5, seed=4, **kw)))
    same = (fwd["input_ids"] == aug["input_ids"]).all(1).float().mean().item()
    assert 0.4 < same < 0.6


def test_bad_arguments():
    with pytest.raises(ValueError, match="quality_aware"):
        DnaBertDataset("x.fq", quality_aware="sometimes")
    with pytest.raises(ValueError, match="mlm_probability"):
        DnaBertDataset("x.fq", mlm_probability=1.5)
    with pytest.raises(ValueError, match="k must be"):
        DnaBertDataset("x.fq", k=12)


# --------------------------------------------------------------------------- sources


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _DropHalf(_Quiet):
    """Serves the first half of the file with the full Content-Length, then closes."""

    def do_GET(self):
        data = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


def test_url_gives_the_same_batches_as_the_local_file(reads, serve):
    url = serve(partial(_Quiet, directory=str(reads.parent))) + "/" + reads.name
    kw = dict(max_length=80, batch_size=32, chunk_reads=256, seed=5, return_read_index=True,
              quality_aware="weight", reverse_complement=0.5)  # fmt: skip
    local = collect(DnaBertDataset(reads, **kw))
    remote = collect(DnaBertDataset(url, **kw))
    assert len(local) == len(remote) > 10
    assert_same_batches(local, remote)
    assert_same_batches(local, collect(DataLoader(DnaBertDataset(url, **kw), batch_size=None,
                                                  num_workers=2)))  # fmt: skip


def test_dropped_connection_is_a_clear_error(reads, serve):
    url = serve(partial(_DropHalf, directory=str(reads.parent))) + "/" + reads.name
    with pytest.raises(InputSourceError) as info:
        collect(DnaBertDataset(url, chunk_reads=256))
    message = str(info.value)
    assert message.startswith(f"{url}: ") and "incomplete download" in message
    assert "\n" not in message
    with pytest.raises(Exception, match="incomplete download"):  # re-raised from a worker
        collect(DataLoader(DnaBertDataset(url, chunk_reads=256), batch_size=None, num_workers=2))
    # through iterate_loader (what training uses) it is the same one line again
    loader = DataLoader(DnaBertDataset(url, chunk_reads=256), batch_size=None, num_workers=2)
    with pytest.raises(BiometalError) as info:
        list(iterate_loader(loader))
    assert str(info.value) == message


def test_iterate_loader_leaves_other_errors_alone():
    class Boom(torch.utils.data.IterableDataset):
        def __iter__(self):
            raise ZeroDivisionError("not a user mistake")
            yield

    with pytest.raises(ZeroDivisionError, match="Caught ZeroDivisionError in DataLoader worker"):
        list(iterate_loader(DataLoader(Boom(), batch_size=None, num_workers=1)))


STDIN_CHILD = textwrap.dedent(
    """
    import sys, torch
    from biometal.ml import DnaBertDataset
    ds = DnaBertDataset(sys.argv[1], max_length=80, batch_size=32, chunk_reads=256, seed=5)
    total = sum(int(b["input_ids"].sum()) + int(b["labels"].sum()) for b in ds)
    print(total)
    """
)


def test_stdin_gives_the_same_batches(reads):
    def run(arg, data=None):
        return subprocess.run([sys.executable, "-c", STDIN_CHILD, arg], input=data,
                              capture_output=True, check=True, timeout=120).stdout  # fmt: skip

    assert run("-", reads.read_bytes()) == run(str(reads))


# --------------------------------------------------------------------------- memory

RSS_CHILD = textwrap.dedent(
    """
    import resource, sys
    from biometal.ml import DnaBertDataset
    ds = DnaBertDataset(sys.argv[1], k=6, max_length=160, batch_size=64, chunk_reads=4096,
                        quality_aware="weight")
    n = sum(len(b["input_ids"]) for b in ds)
    try:
        with open("/proc/self/status") as f:
            peak = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(n, peak)
    """
)


def _peak_rss_kib(path: Path) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(path)], capture_output=True,
                         check=True, timeout=180)  # fmt: skip
    n, peak = out.stdout.split()
    return int(n), int(peak)


def test_peak_rss_1x_vs_10x_within_10_percent(tmp_path):
    n = 12_000
    small = write_reads(tmp_path / "small.fastq.gz", n, seed=1, length=(150, 150))
    large = write_reads(tmp_path / "large.fastq.gz", 10 * n, seed=2, length=(150, 150))
    (n1, rss1), (n10, rss10) = _peak_rss_kib(small), _peak_rss_kib(large)
    assert (n1, n10) == (n, 10 * n)
    # 10x = 120k tokenized reads (~160 MB of int64 token ids): holding them would show
    assert abs(rss10 - rss1) < 0.10 * rss1, (rss1, rss10)
