"""Backend resolution (compute.backend / BIOMETAL_BACKEND) and the metalcompute runner."""

from __future__ import annotations

import sys
import types

import biometal.kernels as bk
import numpy as np
import pytest
from biometal.kernels import BackendError, backend, metal_runner, read_stats, resolve_backend
from harness import SKIP_REASON, build_kernel_source, have_cxx

NO_METAL = (False, "cannot import metalcompute (ModuleNotFoundError: No module named 'x')")


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.delenv("BIOMETAL_BACKEND", raising=False)
    bk.clear_cache()
    yield
    bk.clear_cache()


def fake_probe(monkeypatch, status):
    monkeypatch.setattr(backend, "metal_status", lambda: status)


# --------------------------------------------------------------------------------------
# resolve_backend


def test_cpu_is_always_cpu(monkeypatch):
    fake_probe(monkeypatch, (True, "fake GPU"))
    assert resolve_backend("cpu") == "cpu"
    assert resolve_backend(" CPU ") == "cpu"


def test_auto_is_cpu_without_metal(monkeypatch):
    fake_probe(monkeypatch, NO_METAL)
    assert resolve_backend() == "cpu"
    assert resolve_backend("auto") == "cpu"


def test_auto_is_metal_when_a_device_answers(monkeypatch):
    fake_probe(monkeypatch, (True, "fake GPU"))
    assert resolve_backend() == "metal"
    assert resolve_backend("Auto") == "metal"
    assert resolve_backend("metal") == "metal"


@pytest.mark.skipif(sys.platform == "darwin", reason="Linux-only expectation")
def test_real_probe_on_linux_finds_no_metal():
    available, reason = backend.metal_status()
    assert not available and "metalcompute" in reason and "\n" not in reason
    assert resolve_backend("auto") == "cpu"
    assert not bk.metal_available()


def test_env_var_is_used_when_no_argument(monkeypatch):
    fake_probe(monkeypatch, (True, "fake GPU"))
    monkeypatch.setenv("BIOMETAL_BACKEND", "cpu")
    assert resolve_backend() == "cpu"
    assert resolve_backend(None) == "cpu"
    assert resolve_backend("") == "cpu"  # empty argument = not given


def test_explicit_argument_beats_env_var(monkeypatch):
    fake_probe(monkeypatch, NO_METAL)
    monkeypatch.setenv("BIOMETAL_BACKEND", "metal")
    assert resolve_backend("cpu") == "cpu"
    with pytest.raises(BackendError):
        resolve_backend()


def test_empty_env_var_means_auto(monkeypatch):
    fake_probe(monkeypatch, NO_METAL)
    monkeypatch.setenv("BIOMETAL_BACKEND", "  ")
    assert resolve_backend() == "cpu"


def test_metal_requested_but_missing_is_an_error_not_a_fallback(monkeypatch):
    fake_probe(monkeypatch, NO_METAL)
    with pytest.raises(BackendError) as info:
        resolve_backend("metal")
    msg = str(info.value)
    assert "compute backend 'metal' requested" in msg
    assert "config compute.backend" in msg
    assert "metalcompute is not available" in msg and NO_METAL[1] in msg
    assert "\n" not in msg


def test_metal_via_env_names_the_env_var(monkeypatch):
    fake_probe(monkeypatch, NO_METAL)
    monkeypatch.setenv("BIOMETAL_BACKEND", "metal")
    with pytest.raises(BackendError, match="via environment variable BIOMETAL_BACKEND"):
        resolve_backend()


@pytest.mark.skipif(sys.platform == "darwin", reason="Linux-only expectation")
def test_metal_on_linux_real_probe():
    with pytest.raises(BackendError, match="metalcompute is not available: cannot import"):
        resolve_backend("metal")
    codes = np.zeros(2, np.uint8)
    with pytest.raises(BackendError):
        read_stats(codes, codes, np.array([0, 2]), backend="metal")


@pytest.mark.parametrize("value", ["gpu", "cuda", "metal,cpu", "1"])
def test_unknown_value_names_allowed_values(monkeypatch, value):
    fake_probe(monkeypatch, (True, "fake GPU"))
    with pytest.raises(BackendError, match="allowed values: auto, metal, cpu") as info:
        resolve_backend(value)
    assert repr(value) in str(info.value) and "\n" not in str(info.value)
    monkeypatch.setenv("BIOMETAL_BACKEND", value)
    with pytest.raises(BackendError, match="BIOMETAL_BACKEND"):
        resolve_backend()


def test_probe_is_cached(monkeypatch):
    calls = []

    def probe():
        calls.append(1)
        raise BackendError("nope")

    monkeypatch.setattr(metal_runner, "device_name", probe)
    bk.clear_cache()
    for _ in range(3):
        assert resolve_backend("auto") == "cpu"
    assert len(calls) == 1


def test_backend_error_is_a_runtime_error():
    assert issubclass(BackendError, RuntimeError)


# --------------------------------------------------------------------------------------
# metal_runner, against a fake metalcompute whose kernels run through the C++ harness


class FakeFunction:
    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, n, *buffers):
        self.calls += 1
        for b in buffers:  # like metalcompute: Python buffers or device buffers only
            memoryview(b)
        self.fn(*buffers, grid=n, check=False)
        return object()  # a completion handle; the runner drops it


class FakeDevice:
    compiled: list[str] = []

    def __str__(self):
        return "metalcompute.Device(fake, harness-backed)"

    def kernel(self, source):
        device = self

        class Kernel:
            def function(self, name):
                device.compiled.append(name)
                if f"void {name}(" not in source:
                    raise RuntimeError(f"Function {name} not found")
                return FakeFunction(build_kernel_source(source, name, origin="<fake mc>"))

        return Kernel()

    def buffer(self, nbytes):
        return bytearray(b"\xab" * nbytes)  # garbage: the runner must zero outputs


@pytest.fixture
def fake_metalcompute(monkeypatch):
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    module = types.ModuleType("metalcompute")
    module.Device = FakeDevice
    FakeDevice.compiled = []
    monkeypatch.setitem(sys.modules, "metalcompute", module)
    bk.clear_cache()
    return module


def test_fake_metal_read_stats_equals_cpu(fake_metalcompute):
    assert bk.metal_available()
    assert resolve_backend("auto") == "metal"
    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 120, 300)
    lengths[[0, 5, 299]] = 0
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    codes = rng.integers(0, 6, offsets[-1]).astype(np.uint8)
    qual = rng.integers(0, 45, offsets[-1]).astype(np.uint8)
    for threshold in (0, 20, 44):
        metal = read_stats(codes, qual, offsets, threshold, backend="metal")
        cpu = read_stats(codes, qual, offsets, threshold, backend="cpu")
        for field in metal._fields:
            a, b = getattr(metal, field), getattr(cpu, field)
            assert a.dtype == b.dtype and a.shape == b.shape, field
            assert a.tobytes() == b.tobytes(), field
    assert FakeDevice.compiled == ["read_stats"]  # compiled once, then cached


def test_fake_metal_edge_chunks(fake_metalcompute):
    empty = read_stats(
        np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros(1, np.int64), backend="metal"
    )
    assert empty.counts.shape == (0, 5)
    assert FakeDevice.compiled == []  # empty grid: no dispatch, nothing compiled
    no_bases = read_stats(
        np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros(4, np.int64), backend="metal"
    )
    assert no_bases.counts.shape == (3, 5) and not no_bases.counts.any()
    assert no_bases.gc_fraction.tolist() == [0.0, 0.0, 0.0]


def test_runner_compile_error_is_a_backend_error(fake_metalcompute):
    with pytest.raises(BackendError, match="could not compile read_stats.metal function 'nope'"):
        metal_runner.run("read_stats", "nope", 1, [metal_runner.Output(np.uint32, (1,))])


def test_runner_outputs_zeroed_and_shaped(fake_metalcompute, tmp_path):
    src = tmp_path / "scatter.metal"
    src.write_text(
        """
#include <metal_stdlib>
using namespace metal;
kernel void scatter(const device uint* idx [[buffer(0)]],
                    device float* out [[buffer(1)]],
                    device uint* untouched [[buffer(2)]],
                    uint gid [[thread_position_in_grid]]) {
    out[idx[gid]] = float(gid) + 0.5f;
}
"""
    )
    out, untouched = metal_runner.run(
        str(src),
        "scatter",
        3,
        [
            np.array([5, 0, 2], np.uint32),
            metal_runner.Output(np.float32, (2, 3)),
            metal_runner.Output(np.uint32, (4,)),
        ],
    )
    assert out.dtype == np.float32 and out.shape == (2, 3)
    assert out.ravel().tolist() == [1.5, 0.0, 2.5, 0.0, 0.0, 0.5]
    assert untouched.tolist() == [0, 0, 0, 0]
