"""Unit-test set-up shared by the modules of tests/unit."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def parallel_pileup_kernels_at_any_size(monkeypatch):
    """``threads`` > 1 runs the pileup and formatting kernels on threads whatever the BAM's
    size (biometal.pileup.engine.PARALLEL_BAM_BYTES keeps small BAMs on one), so that the
    tests' small BAMs still go through the parallel kernels; test_pileup_runs.py tests the
    size rule itself."""
    from biometal.pileup import engine

    monkeypatch.setattr(engine, "PARALLEL_BAM_BYTES", 0)
