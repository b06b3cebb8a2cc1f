"""`batchsim.formula` is a leaf of the project (DESIGN §1) and has no import cycles inside it.

Every import counts, at module level or inside a function, as import-linter counts them: a lazy
import still makes one module depend on another.
"""

from __future__ import annotations

import ast
from pathlib import Path

FORMULA = Path(__file__).resolve().parents[2] / "batchsim" / "formula"
# Leaf utilities anything may import (GUIDE), and the package root (for `__version__`).
ALLOWED_OUTSIDE = {"batchsim", "batchsim.units", "batchsim.files", "batchsim.jsonio"}


def _imports() -> dict[str, set[str]]:
    """module → the batchsim modules it imports."""
    graph: dict[str, set[str]] = {}
    modules = {f"batchsim.formula.{p.stem}" for p in FORMULA.glob("*.py") if p.stem != "__init__"}
    for path in sorted(FORMULA.glob("*.py")):
        name = "batchsim.formula" if path.stem == "__init__" else f"batchsim.formula.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("batchsim")}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("batchsim"):
                found.add(node.module)
                # `from batchsim.formula import ast, lowering`: the names may be submodules
                found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
        graph[name] = found - {name}
    return graph


def test_formula_imports_no_other_batchsim_package() -> None:
    outside = {
        (module, target)
        for module, targets in _imports().items()
        for target in targets
        if not target.startswith("batchsim.formula") and target not in ALLOWED_OUTSIDE
    }
    assert outside == set()


def test_formula_has_no_import_cycle() -> None:
    graph = {m: {t for t in ts if t.startswith("batchsim.formula.")} for m, ts in _imports().items()}
    # The package's own __init__ only re-exports lazily (no import at run time but under TYPE_CHECKING).
    graph.pop("batchsim.formula")
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if state.get(start):
            continue
        path: list[str] = [start]
        stack = [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            target = next(stack[-1], None)
            if target is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif not state.get(target):
                state[target] = 1
                path.append(target)
                stack.append(iter(sorted(graph.get(target, ()))))
    assert cycles == []


def test_builtins_do_not_know_the_compiler() -> None:
    graph = _imports()
    for builtin in ("operators", "functions", "sampling"):
        assert not {"batchsim.formula.lowering", "batchsim.formula.compiler"} & graph[f"batchsim.formula.{builtin}"]
