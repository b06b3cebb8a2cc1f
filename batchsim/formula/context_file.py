"""The evaluation-context file of `batchsim eval` (DESIGN §3) → `EvalContext`."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from batchsim.formula.context import TICKS_PER_SECOND, EvalContext, SampleSeries, datetime_to_ticks
from batchsim.formula.symbols import SAMPLED

__all__ = ["ContextFileError", "load_context", "parse_context"]


class ContextFileError(ValueError):
    """A context file that cannot be used; the message names the file and the key."""


class _Pool(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targetDedicatedNodes: float = 0
    targetLowPriorityNodes: float = 0
    currentDedicatedNodes: float = 0
    currentLowPriorityNodes: float = 0
    preemptedNodeCount: float = 0
    taskSlotsPerNode: float = Field(default=1, ge=1)
    usableNodeCount: float | None = None
    nodeDeallocationOption: str = "requeue"


class _Samples(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(default=30, gt=0)
    lag_s: float = Field(default=0, ge=0)
    values: list[float | None] = []


class _ContextFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: datetime | None = None
    pool: _Pool = _Pool()
    samples: dict[str, _Samples] = {}


def parse_context(data: object, source: str = "<context>") -> EvalContext:
    """Validate a decoded context object; `null` sample values are missing samples."""
    try:
        model = _ContextFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ContextFileError(f"{source}: key '{key}': {first['msg']}") from None
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
