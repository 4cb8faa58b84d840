"""The lane-group DP compiles to packed 16-bit vector code on this CPU.

Whether LLVM vectorises the lane loop of ``_lanes_group`` depends on the CPU it compiles for:
a runtime flag tested inside the loop (``use_matrix`` before 8b77564) was unswitched with
AVX-512 and left the loop scalar with AVX2, 37x slower, and no test noticed because results
stay equal. This compiles the local score-only DP for match/mismatch and for matrix scoring
in a fresh numba cache (``inspect_asm`` needs a compilation, not a cache load) and asks for
packed saturating 16-bit adds (``paddsw``: SSE2 and later, ``vpaddsw`` with AVX).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

SCRIPT = r"""
import numpy as np
from biometal.kernels import smith_waterman as sw
import biometal.kernels.smith_waterman_cpu as k

L = k.LANES
rng = np.random.default_rng(1)
q = rng.integers(0, 4, (150, L)).astype(np.int16)
t = rng.integers(0, 4, (150, L)).astype(np.int16)
lq = np.full(L, 150, np.int64)
m = np.full((5, 5), -3, np.int64)
np.fill_diagonal(m, 2)
_, match, mismatch, _, m16, _ = sw._matrix_prep(m)
prm = (m16, np.int16(match), np.int16(mismatch), 5, 2, 0, np.int16(-32768))
tb = np.zeros((1, L), np.uint8)
for use_matrix in (False, True):  # score only, local: what a batch of reads runs
    k._lanes_group(q, t, lq, lq, L, 150, 150, prm, use_matrix, True, False, tb)
for sig, asm in k._lanes_group.inspect_asm().items():
    print(sig[8], sig[9], sig[10], asm.count("paddsw"))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
def test_lane_group_dp_is_vectorised(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    rows = [line.split() for line in out if line.strip()]
    assert len(rows) == 2, out  # match/mismatch and matrix, local, score only
    for use_matrix, local, trace, padds in rows:
        assert local == "Literal[bool](True)" and trace == "Literal[bool](False)", rows
        assert int(padds) > 0, f"use_matrix={use_matrix}: no packed 16-bit adds in the DP"
