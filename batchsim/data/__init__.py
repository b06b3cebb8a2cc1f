"""What commands read at run time besides the code: the formula library, its templates, the scenarios.

The repository's top-level `formulas/` and `scenarios/` are the one source of truth. A wheel carries
them as package data under `batchsim/data/` (pyproject's `force-include`), found here through
`importlib.resources`, so an installed batchsim works from any directory. A source checkout (an
editable install) has no copy inside the package: there the top-level folders are read in place.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

__all__ = [
    "DEFAULT_SCENARIO",
    "find_scenario",
    "resolve_formula",
    "resolve_scenario",
    "shipped",
    "shipped_formulas",
    "shipped_scenarios",
]

Shipped = Literal["formulas", "scenarios"]

DEFAULT_SCENARIO = "default"
"""The scenario `batchsim demo` runs (`scenarios/default.yaml`)."""


def shipped(kind: Shipped) -> Path:
    """The directory of the shipped formulas (with `templates/` and `faulty/`) or scenarios."""
    packaged = resources.files(__name__).joinpath(kind)
    if packaged.is_dir():
        # batchsim.data is a regular package, installed unzipped: its files are a real directory.
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / kind).is_dir():
        return checkout / kind
    raise FileNotFoundError(f"batchsim's shipped {kind} are missing from this installation ({packaged})")


def shipped_scenarios() -> dict[str, Path]:
    """Every shipped scenario by name (the file name without `.yaml`), sorted."""
    return {path.stem: path for path in sorted(shipped("scenarios").glob("*.yaml"))}


def find_scenario(name: str) -> Path | None:
    """The shipped scenario called `name` (`default`, `spot-first`, ...), or None."""
    return shipped_scenarios().get(name.removesuffix(".yaml"))


def resolve_scenario(path: Path) -> Path:
    """`path` itself, or the shipped scenario of that name when no such file exists (`default`)."""
    if path.exists() or path.suffix:
        return path
    return find_scenario(str(path)) or path


def shipped_formulas() -> dict[str, Path]:
    """The shipped formula library by name (the file name without `.formula`), sorted."""
    return {path.stem: path for path in sorted(shipped("formulas").glob("*.formula"))}


def resolve_formula(path: Path) -> Path:
    """`path` itself, or the shipped formula of that name (`pending-tasks`, `pending-tasks.formula`)
    when no such file exists and `path` is a bare name."""
    if path.exists() or path.parent != Path("."):
        return path
    return shipped_formulas().get(path.name.removesuffix(".formula"), path)
