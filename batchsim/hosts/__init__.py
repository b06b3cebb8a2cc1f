"""Formulas inside infrastructure code (DESIGN §10): Terraform, Bicep, ARM/REST JSON, pool YAML.

`find_formulas(path, text, variables)` returns each pool formula of a host file as an
`EmbeddedFormula`: the formula text (interpolations replaced by their --var value or a placeholder
number) and, for every character, the host range it came from, so that `check` reports at the
host file's own line and column. Each format's module imports its parser only when a file of that
format names a pool formula at all, so `batchsim check` on `*.formula` files loads none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from batchsim.hosts.embedded import EmbeddedFormula, HostProblem, line_starts, offsets_span, relocate

__all__ = [
    "HOST_SUFFIXES",
    "EmbeddedFormula",
    "HostProblem",
    "find_formulas",
    "find_host_files",
    "is_host_file",
    "line_starts",
    "offsets_span",
    "relocate",
]

HOST_SUFFIXES = (".tf", ".bicep", ".json", ".yaml", ".yml")


def is_host_file(path: Path) -> bool:
    """True for the infrastructure formats `check` reads formulas out of."""
    return path.suffix.lower() in HOST_SUFFIXES


def find_host_files(directory: Path) -> list[Path]:
    """The host files below `directory`, sorted; hidden folders (`.git`, `.terraform`) and
    `node_modules` are not searched (they hold copies and caches, not the project's pools)."""
    found = []
    for path in directory.rglob("*"):
        parts = path.relative_to(directory).parts
        if any(part.startswith(".") or part == "node_modules" for part in parts[:-1]):
            continue
        if is_host_file(path) and path.is_file():
            found.append(path)
    return sorted(found)


def _reader(suffix: str) -> tuple[str, Callable[[str, Mapping[str, str]], list[EmbeddedFormula]]]:
    if suffix == ".tf":
        from batchsim.hosts import terraform

        return terraform.MARKER, terraform.find_formulas
    if suffix == ".bicep":
        from batchsim.hosts import bicep

        return bicep.MARKER, bicep.find_formulas
    if suffix == ".json":
        from batchsim.hosts import arm

        return arm.MARKER, arm.find_formulas
    from batchsim.hosts import pool_yaml

    return pool_yaml.MARKER, pool_yaml.find_formulas


def find_formulas(path: Path, text: str, variables: Mapping[str, str]) -> list[EmbeddedFormula]:
    """The pool formulas of the host file `path` (none for a file that names no pool formula).

    Raises HostProblem when the file names a pool formula but cannot be read as its format.
    """
    marker, reader = _reader(path.suffix.lower())
    if marker.lower() not in text.lower():
        return []
    return reader(text, variables)
