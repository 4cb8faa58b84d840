"""Compile a Metal compute kernel (kernels/NAME.metal) as C++ with g++ and run it on the CPU.

DESIGN.md section 3: the Metal sources cannot run on Linux, so each one is compiled through
``metal_shim.h`` (Metal's address-space words, scalar types and atomics mapped onto C++17)
together with a generated ``extern "C"`` wrapper that runs every grid position in a loop.
The result is called through ctypes with numpy arrays, and a test asserts the outputs equal
the numba twin's.

Adding a kernel test::

    from harness import build_kernel, KERNELS_DIR

    fn = build_kernel(KERNELS_DIR / "pileup.metal", "pileup")  # signature parsed from source
    counts = np.zeros((n_pos, 5), np.uint32)                    # outputs: zeroed numpy arrays
    fn(pos, codes, 17, counts, grid=n_reads)                    # args in kernel order
    np.testing.assert_array_equal(counts, pileup_cpu(...))      # against the numba twin

Arguments are given in the kernel's parameter order, leaving out the ``[[thread_position_in
_grid]]`` / ``[[threads_per_grid]]`` built-ins. Pointer parameters take C-contiguous numpy
arrays whose item size matches the pointee (``device atomic_uint*`` takes uint32; output
arrays must be writeable); ``constant T&`` parameters take a Python scalar (or a
one-element array). ``order=`` ("forward", "reverse", "shuffle") and ``threads=`` (> 1 runs
grid positions concurrently on std::threads) let a test show a kernel does not depend on
thread order and that its atomics are race-free.

Build artifacts are cached under tests/kernels/_build/ (git-ignored), keyed by a hash of
the shim, the kernel source, the function name and the compiler, so a rerun does not
recompile.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SHIM = HERE / "metal_shim.h"
BUILD_DIR = HERE / "_build"
KERNELS_DIR = HERE.parent.parent / "kernels"

CXX = os.environ.get("CXX", "g++")
CXXFLAGS = (
    "-std=c++17",
    "-O2",
    "-shared",
    "-fPIC",
    "-pthread",
    "-Wall",
    "-Wno-attributes",  # [[buffer(0)]], [[thread_position_in_grid]]: Metal-only
    "-Wno-unknown-pragmas",
    "-ffp-contract=off",  # no fused multiply-add: plain IEEE float arithmetic
)
_HARNESS_VERSION = "1"

SKIP_REASON = (
    f"C++ compiler {CXX!r} not found (install g++ or set CXX): the Metal-on-C++ kernel "
    "harness needs a C++17 compiler"
)

_QUALIFIERS = {"const", "volatile", "device", "constant", "thread", "threadgroup", "restrict"}

# Metal scalar (and atomic) type -> numpy dtype of the buffer element.
_DTYPES: dict[str, np.dtype] = {
    "bool": np.dtype(np.bool_),
    "char": np.dtype(np.int8),
    "int8_t": np.dtype(np.int8),
    "uchar": np.dtype(np.uint8),
    "unsigned char": np.dtype(np.uint8),
    "uint8_t": np.dtype(np.uint8),
    "short": np.dtype(np.int16),
    "int16_t": np.dtype(np.int16),
    "ushort": np.dtype(np.uint16),
    "unsigned short": np.dtype(np.uint16),
    "uint16_t": np.dtype(np.uint16),
    "int": np.dtype(np.int32),
    "int32_t": np.dtype(np.int32),
    "uint": np.dtype(np.uint32),
    "unsigned": np.dtype(np.uint32),
    "unsigned int": np.dtype(np.uint32),
    "uint32_t": np.dtype(np.uint32),
    "long": np.dtype(np.int64),
    "int64_t": np.dtype(np.int64),
    "ulong": np.dtype(np.uint64),
    "unsigned long": np.dtype(np.uint64),
    "uint64_t": np.dtype(np.uint64),
    "size_t": np.dtype(np.uint64),
    "float": np.dtype(np.float32),
    "atomic_uint": np.dtype(np.uint32),
    "atomic_int": np.dtype(np.int32),
    "atomic_float": np.dtype(np.float32),
}
_GRID_INTEGER_TYPES = {"uint", "ulong", "ushort", "int", "long", "unsigned int", "size_t"}
_ORDERS = {"forward": 0, "reverse": 1, "shuffle": 2}


class HarnessBuildError(RuntimeError):
    """The kernel source (or its generated wrapper) did not compile."""


def find_cxx() -> str | None:
    """Path of the C++ compiler the harness uses, or None when it is not installed."""
    return shutil.which(CXX)


def have_cxx() -> bool:
    """True when the harness can compile kernels (use with ``pytest.mark.skipif``)."""
    return find_cxx() is not None


# --------------------------------------------------------------------------------------
# Kernel signature parsing


@dataclass(frozen=True)
class Param:
    """One kernel parameter, as parsed from the Metal signature."""

    name: str
    type_text: str  # the C++ type as written, e.g. "const device uchar*"
    role: str  # "buffer", "grid_position" or "grid_size"
    base: str  # element type without qualifiers, e.g. "uchar", "atomic_uint", "Params"
    pointer: bool  # True for T*, False for T& (or a by-value buffer)
    const: bool

    @property
    def dtype(self) -> np.dtype | None:
        """numpy dtype of one buffer element, or None for a user struct."""
        return _DTYPES.get(self.base)

    def describe(self) -> str:
        return f"{self.type_text} {self.name}"


def _strip_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", " ", source)


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([<{":
            depth += 1
        elif ch in ")]>}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_param(decl: str) -> Param:
    """Parse one parameter declaration, e.g. ``"device uint* out [[buffer(2)]]"``."""
    attrs = [a.strip() for a in re.findall(r"\[\[(.*?)\]\]", decl, flags=re.DOTALL)]
    text = re.sub(r"\[\[.*?\]\]", " ", decl, flags=re.DOTALL).strip()
    m = re.search(r"([A-Za-z_]\w*)\s*$", text)
    if m is None:
        raise HarnessBuildError(f"cannot find the parameter name in {decl!r}")
    name, type_text = m.group(1), " ".join(text[: m.start()].split())
    if not type_text:
        raise HarnessBuildError(f"cannot find the parameter type in {decl!r}")
    tokens = re.findall(r"[A-Za-z_]\w*|::|\*|&|<|>|,|\d+", type_text)
    if tokens.count("*") > 1:
        raise HarnessBuildError(f"pointer-to-pointer parameter {decl!r} is not supported")
    words = [t for t in tokens if t not in _QUALIFIERS and t not in ("*", "&")]
    while "metal" in words and "::" in words:  # metal::atomic_uint -> atomic_uint
        i = words.index("metal")
        if i + 1 < len(words) and words[i + 1] == "::":
            del words[i : i + 2]
        else:
            break
    base = " ".join(words)
    role = "buffer"
    for attr in attrs:
        attr_name = attr.split("(", 1)[0].strip()
        if attr_name == "thread_position_in_grid":
            role = "grid_position"
        elif attr_name == "threads_per_grid":
            role = "grid_size"
        elif attr_name != "buffer":
            raise HarnessBuildError(
                f"parameter {name!r}: attribute [[{attr}]] is not modelled by the harness "
                "(it runs a 1-D grid, one position at a time, with no threadgroups)"
            )
    if role != "buffer" and base not in _GRID_INTEGER_TYPES:
        raise HarnessBuildError(
            f"parameter {name!r}: [[{attrs[0]}]] must be a scalar integer (1-D grids only), "
            f"got {type_text!r}"
        )
    return Param(
        name=name,
        type_text=type_text,
        role=role,
        base=base,
        pointer="*" in tokens,
        const="const" in tokens or "constant" in tokens,
    )


def parse_signature(source: str, function_name: str) -> list[Param]:
    """Parameters of ``kernel void function_name(...)`` in a Metal source."""
    clean = _strip_comments(source)
    m = re.search(rf"\bkernel\s+void\s+{re.escape(function_name)}\s*\(", clean)
    if m is None:
        raise HarnessBuildError(f"no 'kernel void {function_name}(' in the Metal source")
    depth, i = 1, m.end()
    while depth and i < len(clean):
        depth += {"(": 1, ")": -1}.get(clean[i], 0)
        i += 1
    if depth:
        raise HarnessBuildError(f"unbalanced parentheses in the signature of {function_name}")
    return [parse_param(p) for p in _split_top_level(clean[m.end() : i - 1])]


# --------------------------------------------------------------------------------------
# Build


def _generate_driver(source: str, origin: str, function_name: str, params: list[Param]) -> str:
    call_args, n_buf = [], 0
    for p in params:
        if p.role == "grid_position":
            call_args.append(f"({p.type_text})bm_gid")
        elif p.role == "grid_size":
            call_args.append(f"({p.type_text})bm_n")
        elif p.pointer:
            call_args.append(f"({p.type_text})bm_bufs[{n_buf}]")
            n_buf += 1
        else:  # constant T& (or by value): bound to a buffer, like Metal does
            call_args.append(f"*(std::remove_reference_t<{p.type_text}>*)bm_bufs[{n_buf}]")
            n_buf += 1
    origin_lit = json.dumps(origin)
    args = ",\n            ".join(call_args)
    return f"""// generated by tests/kernels/harness.py: do not edit
#include {json.dumps(str(SHIM))}
#line 1 {origin_lit}
{source}
#line 1 "<harness wrapper for {function_name}>"
extern "C" int biometal_run_{function_name}(void* const* bm_bufs, unsigned long long bm_n,
                                          int bm_order, int bm_nthreads,
                                          unsigned long long bm_seed) {{
    (void)bm_bufs;
    return biometal_harness::run_grid(bm_n, bm_order, bm_nthreads, bm_seed,
        [&](std::uint64_t bm_gid) {{
            (void)bm_gid;
            {function_name}(
            {args});
        }});
}}
"""


_CXX_VERSION: str | None = None


def _cxx_version(cxx: str) -> str:
    global _CXX_VERSION
    if _CXX_VERSION is None:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
        _CXX_VERSION = out.stdout.splitlines()[0] if out.stdout else cxx
    return _CXX_VERSION


def _include_dir() -> Path:
    """A directory holding a file named ``metal_stdlib`` that includes the shim."""
    inc = BUILD_DIR / "include"
    inc.mkdir(parents=True, exist_ok=True)
    target = inc / "metal_stdlib"
    text = f"// generated by tests/kernels/harness.py\n#include {json.dumps(str(SHIM))}\n"
    if not target.exists() or target.read_text() != text:
        tmp = inc / f".metal_stdlib.{os.getpid()}"
        tmp.write_text(text)
        os.replace(tmp, target)
    return inc


_LOADED: dict[str, KernelFn] = {}


def build_kernel_source(
    source: str,
    function_name: str,
    *,
    params: Sequence[str] | None = None,
    origin: str = "<metal source>",
) -> KernelFn:
    """Compile ``kernel void function_name`` from Metal source text; see :func:`build_kernel`."""
    cxx = find_cxx()
    if cxx is None:
        raise HarnessBuildError(SKIP_REASON)
    if not re.fullmatch(r"[A-Za-z_]\w*", function_name):
        raise HarnessBuildError(f"not a kernel function name: {function_name!r}")
    parsed = (
        [parse_param(p) for p in params]
        if params is not None
        else parse_signature(source, function_name)
    )
    shim = SHIM.read_text()
    key = hashlib.sha256(
        json.dumps(
            [
                _HARNESS_VERSION,
                shim,
                source,
                function_name,
                [p.describe() + p.role for p in parsed],
                list(CXXFLAGS),
                _cxx_version(cxx),
            ]
        ).encode()
    ).hexdigest()[:24]
    if key in _LOADED:
        return _LOADED[key]

    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    lib_path = BUILD_DIR / f"{function_name}-{key}.so"
    if not lib_path.exists():
        inc = _include_dir()
        cpp_path = BUILD_DIR / f"{function_name}-{key}.cpp"
        cpp_path.write_text(_generate_driver(source, origin, function_name, parsed))
        tmp = BUILD_DIR / f".{function_name}-{key}.{os.getpid()}.so"
        cmd = [cxx, *CXXFLAGS, "-I", str(inc), str(cpp_path), "-o", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise HarnessBuildError(
                f"{cxx} could not compile {origin} (kernel {function_name}); "
                f"driver {cpp_path}:\n{proc.stderr}"
            )
        os.replace(tmp, lib_path)
    lib = ctypes.CDLL(str(lib_path))
    entry = getattr(lib, f"biometal_run_{function_name}")
    entry.restype = ctypes.c_int
    entry.argtypes = [
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_ulonglong,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_ulonglong,
    ]
    fn = KernelFn(function_name, parsed, entry, lib, lib_path)
    _LOADED[key] = fn
    return fn


def build_kernel(
    metal_path: str | os.PathLike[str],
    function_name: str,
    *,
    params: Sequence[str] | None = None,
) -> KernelFn:
    """Compile ``kernel void function_name`` from a .metal file into a callable.

    ``params`` overrides the signature parser: one Metal parameter declaration per entry,
    in order, e.g. ``["const device uchar* codes", "uint gid [[thread_position_in_grid]]"]``.
    Raises :class:`HarnessBuildError` (with the compiler's messages) when it does not compile.
    """
    path = Path(metal_path).resolve()
    return build_kernel_source(path.read_text(), function_name, params=params, origin=str(path))


# --------------------------------------------------------------------------------------
# Call


def _compatible(have: np.dtype, want: np.dtype) -> bool:
    if have.itemsize != want.itemsize:
        return False
    kinds = {have.kind, want.kind}
    return len(kinds) == 1 or kinds <= {"i", "u"}


class KernelFn:
    """A compiled kernel: call it with the buffer arguments and ``grid=``."""

    def __init__(self, name: str, params: list[Param], entry: Any, lib: Any, path: Path):
        self.name = name
        self.params = params
        self.buffer_params = [p for p in params if p.role == "buffer"]
        self.path = path
        self._entry = entry
        self._lib = lib  # keep the shared library loaded

    def __repr__(self) -> str:
        sig = ", ".join(p.describe() for p in self.buffer_params)
        return f"<kernel {self.name}({sig}) from {self.path.name}>"

    def _pointer(self, p: Param, arg: Any, keep: list[Any], check: bool) -> int:
        where = f"kernel {self.name}: argument {p.name!r} ({p.type_text})"
        if isinstance(arg, np.ndarray):
            arr = arg
        elif isinstance(arg, (int, float, bool, np.generic)):
            if p.pointer:
                raise TypeError(f"{where} takes a numpy array, got {type(arg).__name__}")
            if p.dtype is None:
                raise TypeError(f"{where}: pass a numpy array holding the struct's bytes")
            arr = np.array([arg], dtype=p.dtype)
        else:
            try:
                arr = np.frombuffer(memoryview(arg), dtype=np.uint8)
            except TypeError:
                raise TypeError(
                    f"{where} takes a numpy array or a buffer, got {type(arg).__name__}"
                ) from None
            check = False  # raw bytes: no element type to check
        if check:
            want = p.dtype
            if want is not None and not _compatible(arr.dtype, want):
                raise TypeError(f"{where} needs {want} elements, got a {arr.dtype} array")
            if not arr.flags.c_contiguous:
                raise TypeError(f"{where}: array must be C-contiguous")
            if not p.const and not arr.flags.writeable:
                raise TypeError(f"{where} is written by the kernel: array must be writeable")
            if not p.pointer and arr.size < 1:
                raise TypeError(f"{where}: empty array for a reference parameter")
        keep.append(arr)
        return arr.ctypes.data

    def __call__(
        self,
        *args: Any,
        grid: int,
        order: str = "forward",
        threads: int = 1,
        seed: int = 0,
        check: bool = True,
    ) -> None:
        """Run grid positions 0..grid-1; outputs are written into the argument arrays.

        ``check=False`` passes any buffer-protocol objects as raw memory, without element
        type checks (what metalcompute does with its buffers).
        """
        if len(args) != len(self.buffer_params):
            names = ", ".join(p.name for p in self.buffer_params)
            raise TypeError(
                f"kernel {self.name} takes {len(self.buffer_params)} buffer arguments "
                f"({names}), got {len(args)}"
            )
        if order not in _ORDERS:
            raise ValueError(f"order must be one of {sorted(_ORDERS)}, got {order!r}")
        grid = int(grid)
        if grid < 0:
            raise ValueError(f"grid must be >= 0, got {grid}")
        keep: list[Any] = []
        pairs = zip(self.buffer_params, args, strict=True)
        ptrs = [self._pointer(p, a, keep, check) for p, a in pairs]
        table = (ctypes.c_void_p * max(1, len(ptrs)))(*ptrs)
        rc = self._entry(table, grid, _ORDERS[order], int(threads), int(seed) & (2**64 - 1))
        if rc != 0:
            raise RuntimeError(f"kernel {self.name}: harness grid runner returned {rc}")
