"""Layering rules of DESIGN.md section 2, read from the source with ``ast`` (nothing imported).

Data flows one way: ``rules -> scripts -> biometal -> kernels``. Every ``.py`` under
``biometal/`` and ``kernels/`` (``kernels/X.py`` is the module ``biometal.kernels.X``) is
parsed and every import statement collected, at any depth (inside functions and ``if``
blocks too), relative imports resolved. The rules:

(a) nothing in ``biometal.kernels`` imports the rest of ``biometal``;
(b) no module imports ``snakemake``;
(c) the import graph between project modules has no cycle;
(d) numba code (``njit`` / ``jit`` / ``vectorize`` / ``guvectorize`` / ``intrinsic`` ...)
    lives only in a kernel's CPU twin ``kernels/NAME_cpu.py``, in a kernel helper listed in
    :data:`KERNEL_HELPERS`, or in a library package's private ``_kernels.py`` (or
    ``_<topic>_kernels.py``);
(e) a numba call graph stays in one file: a module that defines numba functions does not
    import a numba function from another project module (numba's cache does not notice
    when a compiled function defined in another file changes). Constants and plain Python
    may be imported;
(f) the modules of :data:`LIGHT_MODULES` (what the Snakefile imports on the submit host)
    import only the standard library and :data:`LIGHT_THIRD_PARTY`: everything a light
    module imports (inside its functions too: the Snakefile calls them), and, transitively,
    what importing those modules runs (their module-level imports, parent packages
    included; a lazy import inside a function of a module outside the list is not run by
    importing it).

Each rule is a test below; the last tests check the checker itself.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = {"biometal": ROOT / "biometal", "biometal.kernels": ROOT / "kernels"}

#: Modules the Snakefile may import: with their transitive project imports they may import
#: only the standard library and LIGHT_THIRD_PARTY (a submit host needs no numpy/numba/torch).
#: Extend freely; a name whose module does not exist (yet) is skipped.
LIGHT_MODULES: list[str] = [
    "biometal",
    "biometal.errors",
    "biometal.config",
    # what the Snakefile imports (tests/workflow/test_light_parse.py dry-runs it that way)
    "biometal.workflow",
    "biometal.workflow.assembly",
    "biometal.workflow.cohort",
    "biometal.workflow.data",
    "biometal.workflow.dnabert",
    "biometal.workflow.dnabert_classify",
    "biometal.workflow.peers",
    "biometal.workflow.plan",
    "biometal.workflow.qc",
    "biometal.workflow.readqc",
    "biometal.workflow.regions",
    "biometal.workflow.rnaseq",
    "biometal.workflow.seeds",
    "biometal.workflow.variants",
]
LIGHT_THIRD_PARTY = frozenset({"yaml", "jsonschema"})

#: numba helpers of the kernels package besides the CPU twins (path relative to ROOT: why).
KERNEL_HELPERS = {
    "kernels/_simd.py": "LLVM intrinsics (saturating int16 arithmetic) shared by CPU twins",
}
#: Exceptions to rule (e): (importing module, imported module) -> why it is acceptable.
CROSS_FILE_NUMBA = {
    ("biometal.kernels.smith_waterman_cpu", "biometal.kernels._simd"): (
        "_simd holds only type-generic LLVM intrinsics (no numba call graph of its own); its "
        "docstring says to clear numba's cache of kernels/ after editing it"
    ),
}
#: modules whose decorators stand in for numba's (lazily applied; kernels/jit.py).
NUMBA_SHIMS = frozenset({"biometal.kernels.jit"})
#: names that make numba compile a function, as decorators or calls.
NUMBA_COMPILERS = frozenset(
    {"njit", "jit", "vectorize", "guvectorize", "generated_jit", "cfunc", "stencil", "intrinsic"}
)


class Import(NamedTuple):
    """One imported name: the module (or "module.attr" until resolved) and where."""

    target: str
    line: int
    runtime: bool  # False under ``if TYPE_CHECKING:``
    toplevel: bool  # False inside a function body (runs only when the function is called)


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    imports: list[Import] = field(default_factory=list)
    #: ``from X import a`` bindings: local name -> (X, a)
    from_names: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: ``import X [as y]`` / ``from P import mod`` bindings: local name -> module name
    module_aliases: dict[str, str] = field(default_factory=dict)
    tree: ast.Module | None = None

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def _module_name(package: str, base: Path, path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(base).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join([package, *parts]), is_package


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportCollector(ast.NodeVisitor):
    """Every import of a module with the absolute name it resolves to."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.runtime = True
        self.toplevel = True

    def _in_function(self, node: ast.AST) -> None:
        saved, self.toplevel = self.toplevel, False
        self.generic_visit(node)
        self.toplevel = saved

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _in_function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            saved, self.runtime = self.runtime, False
            for child in node.body:
                self.visit(child)
            self.runtime = saved
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.module.imports.append(Import(alias.name, node.lineno, self.runtime, self.toplevel))
            if alias.asname:
                self.module.module_aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.module.module_aliases.setdefault(top, top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            mod = self.module
            parts = (mod.name if mod.is_package else mod.name.rpartition(".")[0]).split(".")
            if node.level - 1 > len(parts) - 1:
                raise AssertionError(f"{self.module.rel}:{node.lineno}: relative import escapes")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, *([base] if base else [])])
        for alias in node.names:
            local = alias.asname or alias.name
            # "from P import x": x is the submodule P.x if there is one, else a name in P
            self.module.imports.append(
                Import(f"{base}.{alias.name}", node.lineno, self.runtime, self.toplevel)
            )
            self.module.from_names[local] = (base, alias.name)


@cache
def project() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package, base in PACKAGE_DIRS.items():
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            if package == "biometal" and path.is_relative_to(PACKAGE_DIRS["biometal.kernels"]):
                continue
            name, is_package = _module_name(package, base, path)
            modules[name] = Module(name, path, is_package)
    for mod in modules.values():
        mod.tree = ast.parse(mod.path.read_text(encoding="utf-8"), filename=str(mod.path))
        _ImportCollector(mod).visit(mod.tree)
    # "from P import x" where P.x is not a module imports P itself
    for mod in modules.values():
        resolved = []
        for imp in mod.imports:
            target = imp.target
            if target not in modules and "." in target:
                parent = target.rpartition(".")[0]
                if parent in modules or not _is_project(target):
                    target = parent
            resolved.append(imp._replace(target=target))
        mod.imports = resolved
        for local, (base, attr) in list(mod.from_names.items()):
            if f"{base}.{attr}" in modules:
                mod.module_aliases[local] = f"{base}.{attr}"
    return modules


def _is_project(name: str) -> bool:
    return name == "biometal" or name.startswith("biometal.")


def _project_target(name: str) -> str | None:
    """The project module an import of ``name`` executes last (None: not a project module)."""
    modules = project()
    while name and name not in modules:
        if not _is_project(name):
            return None
        name = name.rpartition(".")[0]
    return name or None


def import_graph(runtime_only: bool = False) -> dict[str, dict[str, int]]:
    """module -> {imported project module: first line}."""
    graph: dict[str, dict[str, int]] = {}
    for mod in project().values():
        edges = graph.setdefault(mod.name, {})
        for imp in mod.imports:
            if runtime_only and not imp.runtime:
                continue
            t = _project_target(imp.target)
            if t is not None and t != mod.name:
                edges.setdefault(t, imp.line)
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle of ``graph`` as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(graph):
        if root in state:
            continue
        path = [root]
        state[root] = 1
        todo = [iter(sorted(graph.get(root, {})))]
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                todo.pop()
                state[path.pop()] = 2
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append(iter(sorted(graph.get(nxt, {}))))
    return None


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (each found cycle's first edge is
    dropped and the search repeated, so independent cycles are all reported)."""
    graph = {a: dict(b) for a, b in graph.items()}
    cycles = []
    while (cycle := find_cycle(graph)) is not None and len(cycles) < 50:
        cycles.append(cycle)
        del graph[cycle[0]][cycle[1]]
    return cycles


# --------------------------------------------------------------------------------------
# numba


def _numba_compiler_names(mod: Module) -> tuple[set[str], set[str]]:
    """(bare names bound to numba compilers, aliases of numba modules) in ``mod``."""
    bare = {
        local
        for local, (base, attr) in mod.from_names.items()
        if (base == "numba" or base.startswith("numba.") or base in NUMBA_SHIMS)
        and attr in NUMBA_COMPILERS
    }
    aliases = {
        local
        for local, target in mod.module_aliases.items()
        if target == "numba" or target.startswith("numba.")
    }
    return bare, aliases


def _is_compiler(node: ast.expr, bare: set[str], aliases: set[str]) -> bool:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id in bare
    if isinstance(node, ast.Attribute) and node.attr in NUMBA_COMPILERS:
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and root.id in aliases
    return False


@cache
def numba_functions(name: str) -> frozenset[str]:
    """Top-level names of ``name`` that numba compiles (decorated or built by a call)."""
    mod = project()[name]
    bare, aliases = _numba_compiler_names(mod)
    if not bare and not aliases:
        return frozenset()
    found = set()
    for node in ast.walk(mod.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(_is_compiler(d, bare, aliases) for d in node.decorator_list):
                found.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            call = node.value
            if _is_compiler(call, bare, aliases) or _is_compiler(call.func, bare, aliases):
                found.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(found)


def numba_placement_allowed(mod: Module) -> bool:
    rel = mod.rel
    if rel in KERNEL_HELPERS:
        return True
    if rel.startswith("kernels/"):
        return rel.count("/") == 1 and rel.endswith("_cpu.py")
    # biometal/<pkg>/_kernels.py, or _<topic>_kernels.py for a package with separate graphs
    return mod.path.name.startswith("_") and mod.path.name.endswith("_kernels.py")


# --------------------------------------------------------------------------------------
# the rules


def test_project_is_found():
    modules = project()
    assert "biometal" in modules and "biometal.kernels" in modules
    assert "biometal.kernels.backend" in modules
    assert len(modules) > 50


def test_kernels_do_not_import_biometal():
    bad = []
    for mod in project().values():
        if not (mod.name == "biometal.kernels" or mod.name.startswith("biometal.kernels.")):
            continue
        for target, line, *_ in mod.imports:
            if _is_project(target) and not (
                target == "biometal.kernels" or target.startswith("biometal.kernels.")
            ):
                bad.append(f"{mod.rel}:{line} imports {target}")
    assert not bad, "biometal.kernels must not import the rest of biometal:\n" + "\n".join(bad)


def test_nothing_imports_snakemake():
    bad = [
        f"{mod.rel}:{line} imports {target}"
        for mod in project().values()
        for target, line, *_ in mod.imports
        if target.split(".")[0] == "snakemake"
    ]
    assert not bad, "the library must not import snakemake:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = import_graph()
    report = []
    for cycle in find_cycles(graph):
        report.append("import cycle:")
        report.extend(
            f"  {a} ({project()[a].rel}:{graph[a][b]}) imports {b}"
            for a, b in zip(cycle, cycle[1:], strict=False)
        )
    assert not report, "\n".join(report)


def test_numba_code_lives_in_kernel_files():
    bad = [
        f"{mod.rel}: numba-compiled {', '.join(sorted(numba_functions(mod.name)))}"
        for mod in project().values()
        if numba_functions(mod.name) and not numba_placement_allowed(mod)
    ]
    assert not bad, (
        "numba code belongs in kernels/NAME_cpu.py (a kernel with a Metal twin) or in the "
        "calling package's _kernels.py (a CPU-only loop):\n" + "\n".join(bad)
    )


def test_numba_call_graph_stays_in_one_file():
    modules = project()
    bad = []
    for mod in modules.values():
        if not numba_functions(mod.name):
            continue
        used: list[tuple[str, str]] = []  # (module, name) of imported names
        for base, attr in mod.from_names.values():
            src = _project_target(base)
            if src is not None and src == base:
                used.append((src, attr))
        aliases = {
            local: target for local, target in mod.module_aliases.items() if target in modules
        }
        for node in ast.walk(mod.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                used.append((aliases[node.value.id], node.attr))
        for src, attr in used:
            if src == mod.name or (mod.name, src) in CROSS_FILE_NUMBA:
                continue
            if attr in numba_functions(src):
                bad.append(f"{mod.rel} uses numba function {src}.{attr}")
    assert not bad, (
        "a numba call graph stays in one file (numba's cache does not see changes to a "
        "compiled function of another file):\n" + "\n".join(sorted(set(bad)))
    )


def _light_closure(start: str) -> tuple[set[str], dict[str, list[str]]]:
    """Project modules run by ``import start`` and by calling the functions of the light
    modules (see rule (f)), and the third-party top-level names they import."""
    modules = project()

    def counts(name: str, imp: Import) -> bool:
        return imp.runtime and (imp.toplevel or name == start or name in LIGHT_MODULES)

    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b, a.b.c
            mod = ".".join(parts[:i])
            if mod in modules and mod not in seen:
                seen.add(mod)
                todo.extend(
                    t
                    for imp in modules[mod].imports
                    if counts(mod, imp) and (t := _project_target(imp.target)) is not None
                )
    third: dict[str, list[str]] = {}
    for name in seen:
        for imp in modules[name].imports:
            top = imp.target.split(".")[0]
            if counts(name, imp) and top != "biometal":
                third.setdefault(top, []).append(f"{modules[name].rel}:{imp.line}")
    return seen, third


@pytest.mark.parametrize("light", LIGHT_MODULES)
def test_light_modules_import_only_stdlib_yaml_jsonschema(light):
    if light not in project():
        pytest.skip(f"{light} does not exist (yet)")
    _, third = _light_closure(light)
    bad = [
        f"{top} (at {', '.join(sorted(where)[:3])})"
        for top, where in sorted(third.items())
        if top not in sys.stdlib_module_names and top not in LIGHT_THIRD_PARTY
    ]
    assert not bad, (
        f"{light} must stay light (stdlib, {', '.join(sorted(LIGHT_THIRD_PARTY))}), "
        "but it imports, directly or through project modules:\n  " + "\n  ".join(bad)
    )


# --------------------------------------------------------------------------------------
# the checker itself (each rule can fail)


def test_cycle_finder_reports_a_cycle():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 1}}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None
    two = find_cycles({"a": {"b": 1}, "b": {"a": 1}, "c": {"d": 1}, "d": {"c": 1}})
    assert sorted(c[0] for c in two) == ["a", "c"]


def test_relative_imports_resolve():
    modules = project()
    targets = {imp.target for imp in modules["biometal.kernels.read_stats"].imports}
    assert "biometal.kernels.metal_runner" in targets
    assert "biometal.kernels.backend" in targets
