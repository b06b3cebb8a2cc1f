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
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from batchsim.cost.prices import Prices
from batchsim.dist import DurationS
from batchsim.formula.sources import read_formula
from batchsim.scenario_errors import describe_errors, line_of
from batchsim.sim.config import PoolConfig
from batchsim.stress_spec import StressSpec
from batchsim.workload.generators import WorkloadEntry

__all__ = [
    "PRICES_HINT",
    "AutoscaleRunRecord",
    "CalibrationEstimate",
    "Origin",
    "Prices",
    "Scenario",
    "ScenarioError",
    "ScenarioPool",
    "load_scenario",
    "parse_overrides",
    "scenario_json_schema",
    "set_key",
]


# Appended to a catalog miss: the other way to price a scenario.
PRICES_HINT = "; or give prices: {dedicated_per_hour: ..., spot_per_hour: ...}"


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message says where (file:line, key) and what.

    `problems` holds one line per mistake when the file has several (the message is those lines).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


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
    """An estimate `batchsim calibrate` made: value, 95 % interval, sample size and the file it came from.

    Informational: the simulation never reads it.
    """

    model_config = ConfigDict(extra="forbid")

    estimate: float | None
    low: float | None = None
    high: float | None = None
    n: int = Field(default=0, ge=0)
    source: str


class ScenarioPool(PoolConfig):
    """`pool:` with the key only planning reads: per-core speeds (the engine's `quota` holds the per-family
    core quotas, which the engine enforces and `batchsim plan` bounds its search by)."""

    speed: dict[str, float] = Field(
        default_factory=dict,
        description="Per-core speed by VM size on the catalog's ACU scale (Standard_A1 = 100), overriding the "
        "catalog's `acu`; a task's duration on another size scales by the ratio of the two speeds.",
    )

    @field_validator("speed")
    @classmethod
    def _positive_speeds(cls, value: dict[str, float]) -> dict[str, float]:
        for size, speed in value.items():
            if speed <= 0:
                raise ValueError(f"speed of {size} must be more than 0, got {speed:g}")
        return value


class Scenario(BaseModel):
    """A whole scenario: what runs, on which pool, for how long, at what price."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="scenario", description="The scenario's name, shown in summaries and reports.")
    description: str | None = Field(default=None, description="What the scenario is for, in a sentence or two.")
    duration: DurationS = Field(gt=0, description="How much time to simulate (more than 0), e.g. 24h or P7D.")
    seed: int = Field(default=1, ge=0, description="Random seed (a whole number, 0 or more); --seed overrides it.")
    start: datetime = Field(
        default=datetime(2026, 1, 5, tzinfo=timezone.utc),
        description="Clock time (ISO 8601, UTC) at which the simulation starts; formulas read it with time().",
    )
    pool: ScenarioPool = Field(default_factory=ScenarioPool, description="The Batch pool and its autoscale formula.")
    prices: Prices | None = Field(
        default=None, description="Prices per node-hour; absent: the shipped catalog's for the pool's size and region."
    )
    stresses: list[StressSpec] = Field(
        default_factory=list,
        description="Your own stresses for `batchsim stress` and `optimize --robust`, beside the named ones.",
    )
    workload: list[WorkloadEntry] = Field(
        default_factory=list, description="Where tasks come from: one entry per arrival process, schedule or trace."
    )
    origin: Origin | None = Field(
        default=None, description="Written by `batchsim pool pull`: the live pool this came from (informational)."
    )
    calibration: dict[str, CalibrationEstimate] | None = Field(
        default=None, description="Written by `batchsim calibrate`: each estimate with its interval (informational)."
    )
    # The scenario file's folder, set by the loader; relative paths in the file are read from there.
    _base_dir: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _multi_instance_needs_its_pool(self) -> Scenario:
        """Multi-instance tasks need a pool with inter-node communication and one task slot per node
        (batch-behavior §4.4; learn.microsoft.com/azure/batch/batch-mpi), as the service requires."""
        wanted = [i for i, entry in enumerate(self.workload) if getattr(entry, "number_of_instances", 1) > 1]
        if wanted and not (self.pool.inter_node_communication and self.pool.task_slots_per_node == 1):
            raise ValueError(
                f"workload.{wanted[0]}.number_of_instances: multi-instance tasks need"
                " pool.inter_node_communication: true and pool.task_slots_per_node: 1"
            )
        return self

    @property
    def base_dir(self) -> str | None:
        """The folder of the scenario file (None for a scenario built in code)."""
        return self._base_dir

    @base_dir.setter
    def base_dir(self, value: str | None) -> None:
        self._base_dir = value

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
            source = read_formula(path)  # as `batchsim check` reads it: BS001 for a binary file
        except OSError as exc:
            raise ScenarioError(f"pool.autoscale.formula_file: cannot read {path}: {exc.strerror}") from None
        if source.problem is not None:
            span, problem = source.problem.span, source.problem
            where = f"{path}:{span.line}:{span.column}"
            raise ScenarioError(f"pool.autoscale.formula_file: {where}: error {problem.code} {problem.message}")
        return source.text


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of scenario files, for editors and CI validation."""
    schema = Scenario.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "batchsim scenario"}


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


def set_key(data: dict[str, Any], key: str, value: Any, source: str = "--set") -> None:
    """Set the dotted `key` (`pool.spot.eviction_rate_per_hour`, `workload.0.rate_per_hour`) in a
    scenario's raw data; a missing or null section is created. `source` names the setting in errors."""
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_index(part, key, node, source)]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(f"{source} {key}: '{'.'.join(parts[:i])}' is not a mapping")
        if node.get(part) is None:  # null reads as absent, as the models read it
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[_index(last, key, node, source)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"{source} {key}: cannot set inside a {type(node).__name__}")


def _index(part: str, key: str, items: list[Any], source: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ScenarioError(f"{source} {key}: '{part}' is not an index of a list of {len(items)}")
    return int(part)


# pool.autoscale takes a formula or a formula file, exactly one: setting one drops the other.
_FORMULA_KEYS = {
    "pool.autoscale.formula": "pool.autoscale.formula_file",
    "pool.autoscale.formula_file": "pool.autoscale.formula",
}


def _drop_key(data: dict[str, Any], dotted: str) -> None:
    node: Any = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def _reject_duplicate_keys(node: yaml.Node | None, path: Path) -> None:
    """YAML keeps the last of two equal keys without a word; a scenario file names each key once."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise ScenarioError(
                        f"{path}:{line}: key '{key.value}' appears twice in one mapping (first on line "
                        f"{seen[key.value]}); YAML would keep only the last"
                    )
                seen[key.value] = line
            _reject_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, path)


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
    _reject_duplicate_keys(root, path)
    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    data = copy.deepcopy(data)
    overridden = set()
    for key, value in (overrides or {}).items():
        set_key(data, key, value)
        other = _FORMULA_KEYS.get(key)
        if other is not None and other not in (overrides or {}):
            _drop_key(data, other)  # a --set of one replaces the other: a scenario gives exactly one
        overridden.add(key)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc, Scenario, data, root, str(path), overridden)
        raise ScenarioError("\n".join(problems), problems) from None
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
        line = line_of(root, exc.key.split("."))
        raise ScenarioError(f"{path}:{line}: key '{exc.key}': {exc.message}{hint}") from None
