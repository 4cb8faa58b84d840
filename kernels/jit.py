"""numba's decorators, applied lazily, and an ahead-of-time build of the kernels that short
processes run.

A Python process that runs one of our kernels pays for numba before its first record:
importing numba (~0.15-0.2 s of CPU) and loading each cached function with numba's runtime
(~0.01 s each, ~0.1 s for the eleven of a cohort gVCF job). bcftools and samtools pay
nothing of the kind, and on small inputs that fixed cost was most of our job (issues 12 and
16). Two parts remove it:

- :func:`njit`, :func:`intrinsic` and :data:`prange` here stand in for numba's. A module
  that takes them from here can be imported without numba: its functions become
  :class:`LazyKernel` objects, and numba is imported, and the module's functions handed to
  it, the first time one of them must run under numba (the module's globals are replaced by
  numba's dispatchers then, so compiled code calls compiled code as before, and numba's
  cache works as before).
- Kernels that declare ``aot=`` signatures (``@njit(cache=True, aot="...")``, numba's
  signature syntax, C-contiguous arrays only) are compiled once, at set-up (``biometal
  warmup``; or ``python -m biometal.kernels.jit build``), into one extension module with
  ``numba.pycc``, for this machine's CPU. A call whose arguments match a declared signature
  exactly (array dtype, dimensions, C-contiguity, writeability; scalar types as numba would
  type them), on the main thread, runs the extension's function, which needs no numba at
  all; any other call (another thread: the extension holds the GIL), and every call when
  the build is missing or stale, goes to numba's dispatcher. Same
  source, same compiler: the results are the same (tests/unit/test_jit.py runs whole jobs
  both ways and compares their bytes).

The build is *stale*, and ignored, when any source file it was compiled from (the modules
of :data:`AOT_MODULES` and the project modules they import from) has changed since, or
Python, numpy or the CPU differ. ``BIOMETAL_AOT=0`` ignores it on purpose (benchmarks of
the numba path). ``python -m biometal.kernels.jit status`` says which applies.

``parallel=True`` kernels cannot be built ahead of time (``numba.pycc`` compiles serially);
they keep a serial twin for one thread (``pileup_cpu_serial``, ``site_stats_cpu_serial``,
``pseudoalign_chunk_serial``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import platform
import sys
import threading

#: environment switch: "0" never uses the ahead-of-time build.
ENV = "BIOMETAL_AOT"
#: where the build lives (not tracked by git; built by ``biometal warmup``); the environment
#: variable ``BIOMETAL_AOT_DIR`` names another (tests).
AOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_aot")
DIR_ENV = "BIOMETAL_AOT_DIR"
#: the extension module's name.
AOT_NAME = "biometal_aot_kernels"
#: modules whose ``aot=`` kernels are built (the hot paths of short jobs: BAM records,
#: pileup, gVCF, tabix, joint genotyping, FASTQ chunks and RNA-seq quantification).
AOT_MODULES = (
    "biometal.io._kernels",
    "biometal.rnaseq._kernels",
    "biometal.io._bam_kernels",
    "biometal.io._vcf_kernels",
    "biometal.pileup._kernels",
    "biometal.variants._kernels",
    "biometal.kernels.pileup_cpu",
    "biometal.kernels.site_stats_cpu",
)
#: an ``aot=`` argument type: a read-only uint8 view (``np.frombuffer`` of bytes).
BYTES = "Array(uint8, 1, 'C', readonly=True)"
_MANIFEST = "manifest.json"
_FORMAT = 1

_LOCK = threading.RLock()
_HANDED: set[str] = set()  # modules whose lazy functions numba has
_DECLARED: list[LazyKernel] = []  # kernels with aot= signatures, in definition order
_EXPORTS: dict[tuple[str, str], list] | None = None  # (module, qualname) -> [(fn, check)]


def prange(*args):  # pragma: no cover - replaced by numba.prange before numba compiles
    """``numba.prange`` once the module is handed to numba; ``range`` in plain Python."""
    return range(*args)


class _Lazy:
    """A function numba will compile; numba is imported when it is first needed."""

    def __init__(self, py_func):
        self.py_func = py_func
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__module__ = py_func.__module__
        self.__doc__ = py_func.__doc__
        self.__wrapped__ = py_func
        self._real = None

    def _make(self):  # pragma: no cover - defined by the subclasses
        raise NotImplementedError

    def real(self):
        """numba's object for this function (numba imported and the module handed over)."""
        if self._real is None:
            with _LOCK:
                if self._real is None:
                    self._real = self._make()
                _hand_to_numba(self.__module__)
        return self._real


class LazyKernel(_Lazy):
    """``numba.njit(**options)(py_func)``, made on first need; see the module docstring."""

    def __init__(self, py_func, options: dict, aot: tuple[str, ...]):
        super().__init__(py_func)
        self.options = options
        self.aot = aot
        self._call = self._first_call

    def _make(self):
        import numba

        return numba.njit(**self.options)(self.py_func)

    def __call__(self, *args):
        return self._call(*args)

    def _first_call(self, *args):
        variants = _exports().get((self.__module__, self.__qualname__)) if self.aot else None
        if variants:
            self._call = _aot_caller(self, variants)
        else:
            self._call = self.real()
        return self._call(*args)

    def __getattr__(self, name):  # numba's dispatcher attributes (signatures, overloads, ...)
        if name.startswith("__") or name in ("_real", "_call", "options", "aot", "py_func"):
            raise AttributeError(name)
        return getattr(self.real(), name)

    def __repr__(self) -> str:
        return f"<LazyKernel {self.__module__}.{self.__qualname__}>"


class LazyIntrinsic(_Lazy):
    """``numba.extending.intrinsic(py_func)``, made when its module is handed to numba."""

    def _make(self):
        from numba.extending import intrinsic as numba_intrinsic

        return numba_intrinsic(self.py_func)


def njit(*args, **options):
    """``numba.njit``, lazily (see the module docstring). ``aot``: numba signature string(s)
    to build ahead of time (C-contiguous arrays; not with ``parallel=True``)."""
    aot = options.pop("aot", ())
    aot = (aot,) if isinstance(aot, str) else tuple(aot)
    if aot and options.get("parallel"):
        raise ValueError("njit(aot=...): numba.pycc cannot build a parallel=True kernel")

    def wrap(fn):
        kernel = LazyKernel(fn, options, aot)
        if aot:
            _DECLARED.append(kernel)
        return kernel

    if args:
        if len(args) != 1 or not callable(args[0]) or options:
            raise TypeError("njit: use @njit or @njit(option=...) (signatures: aot=)")
        return wrap(args[0])
    return wrap


def intrinsic(fn):
    """``numba.extending.intrinsic``, lazily (see the module docstring)."""
    return LazyIntrinsic(fn)


def signature(ret: str, *args: str) -> str:
    """An ``aot=`` signature in numba's syntax: ``signature("int64", "uint8[::1]", BYTES)``."""
    return f"{ret}({', '.join(args)})"


def _hand_to_numba(module_name: str) -> None:
    """Replace the module's lazy functions (and ``prange``) by numba's objects, once."""
    with _LOCK:
        if module_name in _HANDED:
            return
        _HANDED.add(module_name)
        import numba

        module = sys.modules[module_name]
        for name, value in list(vars(module).items()):
            if isinstance(value, _Lazy):
                setattr(module, name, value.real())
            elif value is prange:
                setattr(module, name, numba.prange)


# --- calls into the ahead-of-time build ------------------------------------------------


def _aot_caller(kernel: LazyKernel, variants: list):
    """A call that runs the built function whose argument check passes, else numba's.

    Only on the main thread: numba.pycc's functions hold the GIL, where numba's ``nogil``
    dispatchers release it, so kernels called from worker threads (to run side by side) go
    to numba."""
    main = threading.main_thread().ident
    ident = threading.get_ident
    if len(variants) == 1:
        ((fn, check),) = variants

        def call(*args):
            if check(*args) and ident() == main:
                return fn(*args)
            return kernel.real()(*args)

        return call

    def call_any(*args):
        if ident() == main:
            for fn, check in variants:
                if check(*args):
                    return fn(*args)
        return kernel.real()(*args)

    return call_any


def _checker(specs: list):
    """A function of the arguments: True when they are exactly what ``specs`` was built for
    (the types numba would give them), so the built function may run on them. (A closure
    over the specs, not generated code: nothing to compile when a job starts.)"""
    import numpy as np

    ndarray = np.ndarray
    python = {"int64": int, "float64": float, "bool": bool}
    arrays, scalars = [], []
    for i, spec in enumerate(specs):
        if spec[0] == "array":
            _, dtype, ndim, mutable = spec
            arrays.append((i, np.dtype(dtype), ndim, bool(mutable)))
        else:
            dtype = np.dtype(spec[1])
            scalars.append((i, dtype.type, python.get(dtype.name, dtype.type)))
    n = len(specs)

    def check(*args) -> bool:
        if len(args) != n:
            return False
        for i, t, alt in scalars:
            k = type(args[i])
            if k is not t and k is not alt:
                return False
        for i, dtype, ndim, mutable in arrays:
            a = args[i]
            if type(a) is not ndarray or a.dtype != dtype or a.ndim != ndim:
                return False
            f = a.flags
            if not (f.c_contiguous and f.aligned) or (mutable and not f.writeable):
                return False
        return True

    return check


def _cpu_id() -> str:
    """This CPU's model and features (the build uses every feature of the build machine):
    the machine type and, where there is one, /proc/cpuinfo's model and flags
    (``platform.processor()`` is left out: on Linux it runs ``uname -p``, a subprocess at
    every start, and says nothing cpuinfo does not)."""
    text = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            seen = {}
            for line in fh:
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "flags", "Features", "CPU part") and key not in seen:
                    seen[key] = line.strip()
            text += "|".join(seen[k] for k in sorted(seen))
    except OSError:
        pass
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _digest(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def status(aot_dir: str | os.PathLike = AOT_DIR) -> tuple[bool, str]:
    """(usable, why): whether the build in ``aot_dir`` may run here, and the reason if not."""
    if os.environ.get(ENV, "1") == "0":
        return False, f"{ENV}=0"
    path = os.path.join(aot_dir, _MANIFEST)
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except FileNotFoundError:
        return False, f"no build in {aot_dir} (biometal warmup builds it)"
    except (OSError, ValueError) as exc:
        return False, f"{path}: unreadable ({exc})"
    import numpy as np

    if manifest.get("format") != _FORMAT:
        return False, "built by another version of biometal.kernels.jit"
    if manifest.get("python") != sys.version or manifest.get("numpy") != np.__version__:
        return False, "built for another Python or numpy"
    if manifest.get("cpu") != _cpu_id():
        return False, "built on another CPU"
    for path, want in manifest.get("sources", {}).items():
        try:
            if _digest(path) != want:
                return False, f"{path} changed since the build"
        except OSError:
            return False, f"{path} is missing"
    if not os.path.exists(os.path.join(aot_dir, manifest.get("library", ""))):
        return False, f"{manifest.get('library')} is missing"
    return True, "fresh"


def load_exports(aot_dir: str | os.PathLike = AOT_DIR) -> dict[tuple[str, str], list]:
    """The fresh build's functions by (module, qualname), each with its argument check;
    empty when there is none (then every kernel runs under numba)."""
    ok, _ = status(aot_dir)
    if not ok:
        return {}
    try:
        with open(os.path.join(aot_dir, _MANIFEST), encoding="utf-8") as fh:
            manifest = json.load(fh)
        spec = importlib.util.spec_from_file_location(
            AOT_NAME, os.path.join(aot_dir, manifest["library"])
        )
        if spec is None or spec.loader is None:
            return {}
        ext = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ext)
        out: dict[tuple[str, str], list] = {}
        for entry in manifest["kernels"]:
            key = (entry["module"], entry["qualname"])
            out.setdefault(key, []).append((getattr(ext, entry["export"]), _checker(entry["args"])))
        return out
    except Exception:  # noqa: BLE001 - an unusable build: numba runs everything, as without one
        return {}


def _exports() -> dict[tuple[str, str], list]:
    global _EXPORTS
    if _EXPORTS is None:
        with _LOCK:
            if _EXPORTS is None:
                _EXPORTS = load_exports(os.environ.get(DIR_ENV) or AOT_DIR)
    return _EXPORTS


# --- the build ---------------------------------------------------------------------------


def _arg_spec(t) -> list:
    from numba.core import types
    from numba.np.numpy_support import as_dtype

    if isinstance(t, types.Array):
        if t.layout != "C":
            raise ValueError(f"aot signature: arrays must be C-contiguous, got {t}")
        return ["array", as_dtype(t.dtype).str, t.ndim, bool(t.mutable)]
    if isinstance(t, (types.Integer, types.Float, types.Boolean)):
        return ["scalar", as_dtype(t).str]
    raise ValueError(f"aot signature: unsupported argument type {t}")


def _sources(modules) -> list[str]:
    """Files the build depends on (absolute paths): each module's and those of the project
    modules it imports from (their constants are compiled in)."""
    import ast

    files = {os.path.abspath(__file__)}
    for name in modules:
        mod = sys.modules[name]
        files.add(os.path.abspath(mod.__file__))
        tree = ast.parse(open(mod.__file__, encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = (
                    importlib.util.resolve_name(
                        "." * node.level + (node.module or ""), mod.__package__
                    )
                    if node.level
                    else (node.module or "")
                )
                if base.split(".")[0] == "biometal":
                    target = importlib.import_module(base)
                    if getattr(target, "__file__", None):
                        files.add(os.path.abspath(target.__file__))
    return sorted(files)


def build(aot_dir: str | os.PathLike = AOT_DIR, *, verbose: bool = False) -> dict:
    """Compile every ``aot=`` kernel of :data:`AOT_MODULES` into ``aot_dir`` (replacing the
    build there as a whole); returns the manifest."""
    import shutil
    import tempfile
    import warnings

    import numpy as np

    for name in AOT_MODULES:
        importlib.import_module(name)
    for name in AOT_MODULES:
        _hand_to_numba(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc's pending-deprecation notice
        from numba.core import sigutils
        from numba.pycc import CC

    os.makedirs(os.path.dirname(os.path.abspath(aot_dir)) or ".", exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".aot-", dir=os.path.dirname(os.path.abspath(aot_dir)))
    try:
        cc = CC(AOT_NAME)
        cc.output_dir = tmp
        cc.target_cpu = "host"
        cc.verbose = verbose
        entries = []
        for kernel in _DECLARED:
            if kernel.__module__ not in AOT_MODULES:
                continue
            for sig in kernel.aot:
                args, ret = sigutils.normalize_signature(sig)
                export = f"k{len(entries)}_{kernel.__name__}"
                cc.export(export, ret(*args))(kernel.py_func)
                entries.append({
                    "module": kernel.__module__, "qualname": kernel.__qualname__,
                    "export": export, "signature": sig, "args": [_arg_spec(t) for t in args],
                })  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cc.compile()
        library = next(f for f in os.listdir(tmp) if f.startswith(AOT_NAME + "."))
        manifest = {
            "format": _FORMAT, "python": sys.version, "numpy": np.__version__,
            "cpu": _cpu_id(), "library": library,
            "sources": {path: _digest(path) for path in _sources(AOT_MODULES)},
            "kernels": entries,
        }  # fmt: skip
        with open(os.path.join(tmp, _MANIFEST), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1)
        old = f"{aot_dir}.old"
        shutil.rmtree(old, ignore_errors=True)
        if os.path.exists(aot_dir):
            os.replace(aot_dir, old)
        os.replace(tmp, aot_dir)
        shutil.rmtree(old, ignore_errors=True)
        return manifest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m biometal.kernels.jit build|status [DIR]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m biometal.kernels.jit", description=(
        "Build (or check) the ahead-of-time compiled kernels of short processes."))  # fmt: skip
    parser.add_argument("action", choices=("build", "status"))
    parser.add_argument("dir", nargs="?", default=AOT_DIR)
    args = parser.parse_args(argv)
    if args.action == "build":
        manifest = build(args.dir)
        print(f"built {len(manifest['kernels'])} kernels into {args.dir}")
        return 0
    ok, why = status(args.dir)
    print(why)
    return 0 if ok else 1


if __name__ == "__main__":  # the imported module's registry, not this __main__ copy's
    from biometal.kernels.jit import main as _main

    raise SystemExit(_main())
