"""Scenario files (DESIGN §4): pydantic models, YAML with line-numbered errors, `--set` overrides.

A bad scenario is one `ScenarioError` whose message names the file, the line and the key, and what
is allowed there; never a traceback.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from batchsim.cost.prices import Prices
from batchsim.dist import DurationS
from batchsim.sim.config import PoolConfig
from batchsim.stress.spec import StressSpec
from batchsim.workload.generators import WorkloadEntry

__all__ = [
    "PRICES_HINT",
    "AutoscaleRunRecord",
    "CalibrationEstimate",
    "Origin",
    "Prices",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_overrides",
    "scenario_json_schema",
]


# Appended to a catalog miss: the other way to price a scenario.
PRICES_HINT = "; or give prices: {dedicated_per_hour: ..., spot_per_hour: ...}"


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message says where (file:line, key) and what."""


class AutoscaleRunRecord(BaseModel):
    """A pool's last autoscale evaluation as the service reported it."""

    model_config = ConfigDict(extra="forbid")

    timestamp: datetime | None = None
    results: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class Origin(BaseModel):
    """Where a scenario came from (`batchsim pool pull`): the live pool at that moment.

    Informational only: the simulation reads `pool:`, never this.
    """

    model_config = ConfigDict(extra="forbid")

    pool_id: str
    endpoint: str | None = None
    pulled_at: datetime
    allocation_state: str | None = None
    current_dedicated: int | None = None
    current_spot: int | None = None
    target_dedicated: int | None = None
    target_spot: int | None = None
    autoscale_enabled: bool = False
    last_autoscale_run: AutoscaleRunRecord | None = None


class CalibrationEstimate(BaseModel):
    """One estimate `batchsim calibrate` made (DESIGN §7, fixed shape); informational, never simulated."""

    model_config = ConfigDict(extra="forbid")

    estimate: float | None
    low: float | None = None
    high: float | None = None
    n: int = Field(default=0, ge=0)
    source: str


class Scenario(BaseModel):
    """A whole scenario: what runs, on which pool, for how long, at what price."""

    model_config = ConfigDict(extra="forbid")

    name: str = "scenario"
    description: str | None = None
    duration: DurationS = Field(gt=0)  # a horizon of 0 or less is an error naming `duration`
    seed: int = 1
    start: datetime = datetime(2026, 1, 5, tzinfo=timezone.utc)
    pool: PoolConfig = Field(default_factory=PoolConfig)
    prices: Prices | None = None
    stresses: list[StressSpec] = Field(default_factory=list)  # the user's own, beside the named ones
    workload: list[WorkloadEntry] = Field(default_factory=list)
    origin: Origin | None = None
    calibration: dict[str, CalibrationEstimate] | None = None
    base_dir: str | None = Field(default=None, exclude=True, description="set by the loader")

    def formula_path(self) -> Path | None:
        """`pool.autoscale.formula_file`, relative to the scenario file; None for an inline formula."""
        autoscale = self.pool.autoscale
        if autoscale is None or autoscale.formula_file is None:
            return None
        path = Path(autoscale.formula_file)
        return Path(self.base_dir) / path if not path.is_absolute() and self.base_dir else path

    def formula_text(self) -> str | None:
        """The autoscale formula's text, reading `formula_file` relative to the scenario file."""
        autoscale = self.pool.autoscale
        if autoscale is None:
            return None
        if autoscale.formula is not None:
            return autoscale.formula
        path = self.formula_path()
        assert path is not None
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"pool.autoscale.formula_file: cannot read {path}: {exc.strerror}") from None


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files."""
    return Scenario.model_json_schema()


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`["pool.initial_dedicated=20", ...]` → `{"pool.initial_dedicated": 20}`; values read as YAML scalars."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"--set {item!r}: expected dotted.key=value")
        try:
            overrides[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            overrides[key.strip()] = value
    return overrides


def _apply(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_index(part, key, node)]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(f"--set {key}: '{'.'.join(parts[:i])}' is not a mapping")
        node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[_index(last, key, node)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"--set {key}: cannot set inside a {type(node).__name__}")


def _index(part: str, key: str, items: list[Any]) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ScenarioError(f"--set {key}: '{part}' is not an index of a list of {len(items)}")
    return int(part)


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at pydantic error location `loc`, or of its nearest parent."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                if isinstance(part, str) and part in _UNION_TAGS:
                    continue  # a union member's name in the location, not a key in the file
                key_node = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            continue  # a discriminator tag or a union member name: stay on this node
        line = node.start_mark.line + 1
    return line


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc if not (isinstance(p, str) and p in _UNION_TAGS))
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "union_tag_invalid":
        message = f"unknown kind; allowed: {error.get('ctx', {}).get('expected_tags', '')}"
    return f"key '{key}': {message}"


_UNION_TAGS = {
    "poisson",
    "diurnal",
    "bursts",
    "schedule",
    "trace",
    "task_list",
    "constant",
    "exponential",
    "uniform",
    "lognormal",
}


def load_scenario(
    path: str | Path, overrides: dict[str, Any] | list[str] | None = None, *, text: str | None = None
) -> Scenario:
    """Read, override and validate a scenario file; `ScenarioError` names file, line and key."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: cannot read: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: a scenario is a mapping of keys (name, duration, pool, workload, ...)")
    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    data = copy.deepcopy(data)
    overridden = set()
    for key, value in (overrides or {}).items():
        _apply(data, key, value)
        overridden.add(key)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        dotted = ".".join(str(p) for p in error["loc"])
        if any(dotted.startswith(k) for k in overridden):
            raise ScenarioError(f"{path}: --set {_describe(error)}") from None
        line = _line_of(root, tuple(error["loc"]))
        raise ScenarioError(f"{path}:{line}: {_describe(error)}") from None
    if scenario.prices is None:
        _check_catalog(path, root, scenario, overridden)
    scenario.base_dir = str(path.resolve().parent)
    return scenario


def _check_catalog(path: Path, root: yaml.Node | None, scenario: Scenario, overridden: set[str]) -> None:
    """Without `prices:`, the pool's size, region and OS must be in the shipped catalog."""
    from batchsim.cost.catalog import CatalogError, find

    pool = scenario.pool
    try:
        find(pool.vm_size, pool.region, pool.os)
    except CatalogError as exc:
        hint = PRICES_HINT
        if exc.key in overridden:
            raise ScenarioError(f"{path}: --set key '{exc.key}': {exc.message}{hint}") from None
        line = _line_of(root, tuple(exc.key.split(".")))
        raise ScenarioError(f"{path}:{line}: key '{exc.key}': {exc.message}{hint}") from None
