"""The evaluation-context file of `batchsim eval` (DESIGN §3) → `EvalContext`."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import attrs
import cattrs

from batchsim.formula.context import TICKS_PER_SECOND, EvalContext, SampleSeries, datetime_to_ticks
from batchsim.formula.symbols import SAMPLED

__all__ = ["ContextFileError", "load_context", "parse_context"]

# The file's shape as attrs classes, structured by cattrs: both are already what lsprotocol (the
# language server's types) is built on, so `eval` costs the light install (issue 25 §2) nothing
# more, where pydantic and pydantic-core would add 9.7 MiB to a 30 MiB budget.


class ContextFileError(ValueError):
    """A context file that cannot be used; the message names the file and the key."""


@attrs.frozen(kw_only=True)
class _Pool:
    targetDedicatedNodes: float = 0
    targetLowPriorityNodes: float = 0
    currentDedicatedNodes: float = 0
    currentLowPriorityNodes: float = 0
    preemptedNodeCount: float = 0
    taskSlotsPerNode: float = 1
    usableNodeCount: float | None = None
    nodeDeallocationOption: str = "requeue"


@attrs.frozen(kw_only=True)
class _Samples:
    interval_s: float = 30
    lag_s: float = 0
    values: list[float | None] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class _ContextFile:
    time: datetime | None = None
    pool: _Pool = attrs.field(factory=_Pool)
    samples: dict[str, _Samples] = attrs.field(factory=dict)


def _time(value: object, _: object) -> datetime:
    """An ISO 8601 time; `Z` for UTC also on Python 3.10, whose fromisoformat lacks it."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 time string")
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)


def _number(value: object, _: object) -> float:
    """A JSON number (true/false and numeric strings are not numbers in this file)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("expected a number")
    return float(value)


_CONVERTER = cattrs.Converter(forbid_extra_keys=True)
_CONVERTER.register_structure_hook(datetime, _time)
_CONVERTER.register_structure_hook(float, _number)


def _first_error(exc: cattrs.BaseValidationError) -> str:
    """cattrs's first finding as `key 'pool.taskSlotsPerNode': message`."""
    message, _, where = cattrs.transform_error(exc, path="")[0].rpartition(" @ ")
    key = re.sub(r"\['([^']*)'\]", r".\1", where).lstrip(".")
    extra = re.fullmatch(r"extra fields found \((.*)\)", message)
    if extra:
        return f"key '{'.'.join(filter(None, [key, extra.group(1).split(', ')[0]]))}': unknown key"
    return f"key '{key}': {message}"


def _check_ranges(model: _ContextFile) -> str | None:
    if model.pool.taskSlotsPerNode < 1:
        return "key 'pool.taskSlotsPerNode': must be at least 1"
    for name, spec in model.samples.items():
        if spec.interval_s <= 0:
            return f"key 'samples.{name}.interval_s': must be greater than 0"
        if spec.lag_s < 0:
            return f"key 'samples.{name}.lag_s': must be at least 0"
    return None


def parse_context(data: object, source: str = "<context>") -> EvalContext:
    """Validate a decoded context object; `null` sample values are missing samples."""
    if not isinstance(data, dict):
        raise ContextFileError(f"{source}: expected a JSON object")
    try:
        model = _CONVERTER.structure(data, _ContextFile)
    except cattrs.BaseValidationError as exc:
        raise ContextFileError(f"{source}: {_first_error(exc)}") from None
    problem = _check_ranges(model)
    if problem is not None:
        raise ContextFileError(f"{source}: {problem}")
    unknown = sorted(set(model.samples) - set(SAMPLED))
    if unknown:
        raise ContextFileError(
            f"{source}: key 'samples.{unknown[0]}': not a sampled variable; known: {', '.join(SAMPLED)}"
        )
    moment = model.time or datetime.now(timezone.utc)
    now = datetime_to_ticks(moment)
    samples: dict[str, SampleSeries] = {}
    for name, spec in model.samples.items():
        interval = round(spec.interval_s * TICKS_PER_SECOND)
        lag = round(spec.lag_s * TICKS_PER_SECOND)
        values = [math.nan if v is None else float(v) for v in spec.values]
        series = SampleSeries.ending_at([0.0] * len(values), now - lag, interval)
        series.values = values
        series.lag_ticks = lag
        samples[name] = series
    pool = model.pool
    return EvalContext(
        now_tick=now,
        target_dedicated_nodes=pool.targetDedicatedNodes,
        target_low_priority_nodes=pool.targetLowPriorityNodes,
        current_dedicated_nodes=pool.currentDedicatedNodes,
        current_low_priority_nodes=pool.currentLowPriorityNodes,
        preempted_node_count=pool.preemptedNodeCount,
        task_slots_per_node=pool.taskSlotsPerNode,
        usable_node_count=pool.usableNodeCount,
        node_deallocation_option=pool.nodeDeallocationOption,
        samples=samples,
    )


def load_context(path: Path) -> EvalContext:
    """Read and validate a context file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContextFileError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ContextFileError(f"{path}: not valid JSON{where}: {exc}") from None
    return parse_context(data, str(path))
