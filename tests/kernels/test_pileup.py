"""pileup: Metal source (through the C++ harness) == numba twin == naive reference, exactly.

Reads are random CIGARs over every operation (M I D N S H P = X), random bases (IUPAC
codes included), qualities and strands, sorted by position, many of them stacked on the
same positions so that threads collide on the atomic adds; some run past the end of the
count table or have no SEQ. The Metal kernel runs one grid position per read on 4
std::threads in shuffled order (tests/kernels/harness.py), the numba twin with 1 and 2
threads; all must give the same uint32 table as a plain-Python walk of htslib's rules.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from biometal.kernels.pileup import NCOL, READ_FIELDS, pileup_accumulate
from harness import KERNELS_DIR, SKIP_REASON, build_kernel, have_cxx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

needs_cxx = pytest.mark.skipif(not have_cxx(), reason=SKIP_REASON)
OPS = "MIDNSHP=X"
NT16 = "=ACMGRSVTWYHKDBN"


@pytest.fixture(scope="module")
def metal_kernel():
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    return build_kernel(KERNELS_DIR / "pileup.metal", "pileup")


def build(reads: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """reads (dicts: pos, cigar [(op, len)], seq codes 0-15, qual, rev, mapq) -> buf, table."""
    buf = bytearray(b"\0" * 7)  # offsets need not be aligned
    table = np.zeros((len(reads), len(READ_FIELDS)), np.uint32)
    for i, r in enumerate(reads):
        cig = len(buf)
        for op, ln in r["cigar"]:
            buf += struct.pack("<I", (ln << 4) | OPS.index(op))
        seq = len(buf)
        codes = r["seq"]
        packed = bytearray((len(codes) + 1) // 2)
        for j, c in enumerate(codes):
            packed[j // 2] |= c << (4 if j % 2 == 0 else 0)
        buf += packed
        qual = len(buf)
        buf += bytes(r["qual"])
        ref_len = sum(ln for op, ln in r["cigar"] if op in "MDN=X")
        table[i] = (
            r["pos"],
            r["pos"] + ref_len,
            cig,
            len(r["cigar"]),
            seq,
            qual,
            len(codes),
            int(r["rev"]),
            r["mapq"],
        )
    return np.frombuffer(bytes(buf), np.uint8), table


def reference(reads: list[dict], acc_len: int, min_bq: int) -> np.ndarray:
    """Plain-Python pileup with htslib's rules (see kernels/pileup.metal)."""
    acc = np.zeros((acc_len, NCOL), np.int64)
    code = {c: "ACGT".index(c) if c in "ACGT" else 4 for c in NT16}
    for r in reads:
        cig, seq, qual, strand = r["cigar"], r["seq"], r["qual"], int(r["rev"])

        def q_at(q, seq=seq, qual=qual):
            return qual[q] if q < len(seq) else 0

        def indel_after(k, op, cig=cig):
            if k + 1 >= len(cig):
                return 0
            op2, l2 = cig[k + 1]
            if op2 == "D" and op != "D":
                total = l2
                for o, ln in cig[k + 2 :]:
                    if o != "D":
                        break
                    total += ln
                return -total
            if op2 == "I":
                total = l2
                for o, ln in cig[k + 2 :]:
                    if o == "I":
                        total += ln
                    elif o != "P":
                        break
                return total
            if op2 == "P" and k + 2 < len(cig):
                total = 0
                for o, ln in cig[k + 2 :]:
                    if o == "I":
                        total += ln
                    elif o in "MDN=X":
                        break
                return total
            return 0

        rpos, qpos = r["pos"], 0
        for k, (op, ln) in enumerate(cig):
            if op in "M=X":
                for i in range(ln):
                    p, q = rpos + i, qpos + i
                    bq = q_at(q)
                    if bq < min_bq or p >= acc_len:
                        continue
                    b = code[NT16[seq[q]]] if q < len(seq) else 4
                    acc[p, b + 5 * strand] += 1
                    acc[p, 18 + b] += bq
                    acc[p, 23] += r["mapq"]
                    if i == ln - 1:
                        d = indel_after(k, op)
                        if d:
                            acc[p, (14 if d > 0 else 16) + strand] += 1
                rpos += ln
                qpos += ln
            elif op in "DN":
                bq = q_at(qpos)
                for i in range(ln):
                    p = rpos + i
                    if bq < min_bq or p >= acc_len:
                        continue
                    acc[p, (10 if op == "D" else 12) + strand] += 1
                    acc[p, 23] += r["mapq"]
                    if i == ln - 1:
                        d = indel_after(k, op)
                        if d:
                            acc[p, (14 if d > 0 else 16) + strand] += 1
                rpos += ln
            elif op in "IS":
                qpos += ln
    return acc.astype(np.uint32)


@st.composite
def read_sets(draw):
    n = draw(st.integers(0, 60))
    acc_len = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    reads = []
    for _ in range(n):
        n_ops = int(rng.integers(1, 7))
        cigar = [(OPS[int(rng.integers(len(OPS)))], int(rng.integers(1, 8))) for _ in range(n_ops)]
        if rng.random() < 0.5:  # mostly-M reads, like real data
            cigar = [("M", int(rng.integers(1, 40)))] + cigar
        q_len = sum(ln for op, ln in cigar if op in "MIS=X")
        if rng.random() < 0.1:
            q_len = 0  # SEQ '*'
        elif rng.random() < 0.1:
            q_len = int(rng.integers(0, q_len + 1))  # shorter than the CIGAR says
        reads.append(
            {
                "pos": int(rng.integers(0, acc_len + 10)),
                "cigar": cigar,
                "seq": rng.integers(0, 16, q_len).tolist(),
                "qual": rng.integers(0, 45, q_len).tolist(),
                "rev": bool(rng.random() < 0.5),
                "mapq": int(rng.integers(0, 61)),
            }
        )
    reads.sort(key=lambda r: r["pos"])
    min_bq = draw(st.sampled_from([0, 1, 13, 20, 44]))
    return reads, acc_len, min_bq


def run_all(kernel, reads, acc_len, min_bq):
    buf, table = build(reads)
    ref = reference(reads, acc_len, min_bq)
    metal = np.zeros((acc_len, NCOL), np.uint32)
    kernel(
        buf,
        table.ravel().copy(),
        len(reads),
        acc_len,
        min_bq,
        metal,
        grid=len(reads),
        order="shuffle",
        threads=4,
        seed=len(reads),
    )
    np.testing.assert_array_equal(metal, ref, err_msg="metal (harness) vs reference")
    for threads in (1, 2):
        cpu = np.zeros((acc_len, NCOL), np.uint32)
        pileup_accumulate(buf, table, cpu, min_bq, backend="cpu", threads=threads)
        np.testing.assert_array_equal(cpu, ref, err_msg=f"numba ({threads} threads) vs reference")


@needs_cxx
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=read_sets())
def test_random_reads_agree(metal_kernel, case):
    run_all(metal_kernel, *case)


@needs_cxx
def test_many_threads_collide_on_few_positions(metal_kernel):
    """5000 reads on 30 positions: every atomic add contended; sums must stay exact."""
    rng = np.random.default_rng(3)
    reads = [
        {
            "pos": int(p),
            "cigar": [("M", 20)],
            "seq": rng.integers(0, 16, 20).tolist(),
            "qual": rng.integers(0, 45, 20).tolist(),
            "rev": bool(i % 2),
            "mapq": 60,
        }
        for i, p in enumerate(sorted(rng.integers(0, 10, 5000)))
    ]
    buf, table = build(reads)
    ref = reference(reads, 30, 13)
    for order in ("forward", "reverse", "shuffle"):
        out = np.zeros((30, NCOL), np.uint32)
        metal_kernel(
            buf,
            table.ravel().copy(),
            len(reads),
            30,
            13,
            out,
            grid=len(reads),
            order=order,
            threads=8,
            seed=11,
        )
        np.testing.assert_array_equal(out, ref)
    cpu = np.zeros((30, NCOL), np.uint32)
    pileup_accumulate(buf, table, cpu, 13, backend="cpu", threads=2)
    np.testing.assert_array_equal(cpu, ref)


def test_dispatch_rejects_bad_inputs():
    buf = np.zeros(10, np.uint8)
    acc = np.zeros((5, NCOL), np.uint32)
    with pytest.raises(ValueError, match="reads must be"):
        pileup_accumulate(buf, np.zeros((2, 3), np.uint32), acc, 13, backend="cpu")
    with pytest.raises(ValueError, match="sorted"):
        table = np.zeros((2, len(READ_FIELDS)), np.uint32)
        table[0, 0] = 3
        pileup_accumulate(buf, table, acc, 13, backend="cpu")
    with pytest.raises(ValueError, match="acc must be"):
        pileup_accumulate(
            buf, np.zeros((0, len(READ_FIELDS)), np.uint32), np.zeros((5, 3), np.uint32), 13
        )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8]), st.integers(0, 2**28 - 1)),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, 7),
    st.integers(0, 3),
)
def test_indel_look_ahead_copy_equals_the_twin(cigar, k, pad):
    """biometal.pileup._kernels keeps a private copy of the twin's next_indel (one numba
    call graph per file): the two must agree on every CIGAR."""
    from biometal.kernels.pileup_cpu import next_indel as twin

    from biometal.pileup._kernels import next_indel as copy

    raw = b"\0" * pad + b"".join(struct.pack("<I", (ln << 4) | op) for op, ln in cigar)
    buf = np.frombuffer(raw, np.uint8)
    k = min(k, len(cigar) - 1)
    op = cigar[k][0]
    assert copy(buf, pad, k, len(cigar), op) == twin(buf, pad, k, len(cigar), op)


# ----------------------------------------------------------------------------- whole pileup


@pytest.fixture
def fake_metalcompute(monkeypatch):
    """metalcompute stand-in whose kernels run through the C++ harness (as test_backend)."""
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    import sys
    import types

    from biometal.kernels import backend as bk
    from test_backend import FakeDevice

    module = types.ModuleType("metalcompute")
    module.Device = FakeDevice
    monkeypatch.setitem(sys.modules, "metalcompute", module)
    bk.clear_cache()
    yield module
    bk.clear_cache()


def test_metal_backend_pileup_of_a_bam_equals_cpu(fake_metalcompute, tmp_path):
    """The whole streaming pileup through the Metal dispatch path (metal_runner) == numba."""
    import sys

    sys.path.insert(0, str(KERNELS_DIR.parent / "tests" / "unit"))
    from test_pileup_samtools import handmade_bam

    from biometal.pileup import PileupParams, iter_pileup

    bam, ref = tmp_path / "h.bam", tmp_path / "h.fa"
    handmade_bam(bam, ref, seed=5, n=600)

    def run(backend):
        blocks = list(
            iter_pileup(bam, PileupParams(min_baseq=0, region_size=1000, backend=backend))
        )
        return [(b.contig, b.start, b.counts.tobytes(), b.events.seqs) for b in blocks]

    from test_backend import FakeDevice

    FakeDevice.compiled = []
    assert run("metal") == run("cpu")
    assert FakeDevice.compiled == ["pileup"]  # the Metal source really ran (via the harness)
