"""The names the formula language knows: service variables, functions, sample methods, fields,
interval constants and deallocation keywords (formula reference §2, §4, §5, §6).

Plain data, shared by the parser (reserved words), the compiler (types and signatures) and the
linter (deprecated names, sampled metrics).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEALLOC_KEYWORDS",
    "DEPRECATED",
    "FUNCTIONS",
    "NODE_METRICS",
    "READ_ONLY_SCALARS",
    "READ_WRITE",
    "RESOURCE_METRICS",
    "SAMPLED",
    "SAMPLE_METHODS",
    "STRICT_OFF_FUNCTIONS",
    "TARGET_ALIASES",
    "TASK_METRICS",
    "TIMESTAMP_FIELDS",
    "TIME_CONSTANTS",
    "Function",
]

_TICK = 1
_SECOND = 10_000_000 * _TICK

# §2: interval constants, in 100 ns ticks.
TIME_CONSTANTS: dict[str, int] = {
    "TimeInterval_Zero": 0,
    "TimeInterval_100ns": 1,
    "TimeInterval_Microsecond": 10,
    "TimeInterval_Millisecond": 10_000,
    "TimeInterval_Second": _SECOND,
    "TimeInterval_Minute": 60 * _SECOND,
    "TimeInterval_Hour": 3600 * _SECOND,
    "TimeInterval_Day": 86_400 * _SECOND,
    "TimeInterval_Week": 604_800 * _SECOND,
    "TimeInterval_Year": 365 * 86_400 * _SECOND,
}

# §2, §5.1: bare keywords, valid only as the right-hand side of $NodeDeallocationOption.
DEALLOC_KEYWORDS: tuple[str, ...] = ("requeue", "terminate", "taskcompletion", "retaineddata")

# §5.1: read-write variables. Aliases are separate slots; the full name wins (§5.1).
READ_WRITE: tuple[str, ...] = (
    "$TargetDedicatedNodes",
    "$TargetLowPriorityNodes",
    "$NodeDeallocationOption",
    "$TargetDedicated",
    "$TargetLowPriority",
)
TARGET_ALIASES: dict[str, str] = {
    "$TargetDedicated": "$TargetDedicatedNodes",
    "$TargetLowPriority": "$TargetLowPriorityNodes",
}

# §5.2: read-only scalars usable as doubles.
READ_ONLY_SCALARS: tuple[str, ...] = (
    "$CurrentDedicatedNodes",
    "$CurrentLowPriorityNodes",
    "$TaskSlotsPerNode",
    "$UsableNodeCount",
    "$CurrentDedicated",
)

# §5.2: sampled variables, read only through sample methods, by group.
TASK_METRICS: tuple[str, ...] = ("$ActiveTasks", "$RunningTasks", "$PendingTasks", "$SucceededTasks", "$FailedTasks")
NODE_METRICS: tuple[str, ...] = ("$PreemptedNodeCount", "$SampleNodeCount")
RESOURCE_METRICS: tuple[str, ...] = (
    "$CPUPercent",
    "$WallClockSeconds",
    "$MemoryBytes",
    "$DiskBytes",
    "$DiskReadBytes",
    "$DiskWriteBytes",
    "$DiskReadOps",
    "$DiskWriteOps",
    "$NetworkInBytes",
    "$NetworkOutBytes",
)
SAMPLED: tuple[str, ...] = TASK_METRICS + NODE_METRICS + RESOURCE_METRICS

# Names kept for compatibility, with what to write instead (reference §5, §5.1 options).
DEPRECATED: dict[str, str] = {
    "$TargetDedicated": "$TargetDedicatedNodes",
    "$TargetLowPriority": "$TargetLowPriorityNodes",
    "$CurrentDedicated": "$CurrentDedicatedNodes",
    "retaineddata": "taskcompletion (retaineddata is deprecated in SDK 15.x)",
}

# §4: timestamp fields.
TIMESTAMP_FIELDS: tuple[str, ...] = ("year", "month", "day", "weekday", "hour", "minute", "second")


@dataclass(frozen=True, slots=True)
class Function:
    """A built-in function's shape (§6.1–6.2).

    kind: "list" (one or more doubles/doubleVecs flattened → double), "elementwise" (double →
    double, otherwise list → doubleVec), "fixed" (exact `params` types), "time", "none".
    """

    name: str
    kind: str
    params: tuple[str, ...] = ()
    returns: str = "double"


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("avg", "list"),
        Function("len", "list"),
        Function("max", "list"),
        Function("min", "list"),
        Function("norm", "list"),
        Function("range", "list"),
        Function("std", "list"),
        Function("sum", "list"),
        Function("lg", "elementwise"),
        Function("ln", "elementwise"),
        Function("log", "elementwise"),
        Function("ceil", "elementwise"),
        Function("floor", "elementwise"),
        Function("round", "elementwise"),
        Function("percentile", "fixed", ("doubleVec", "double")),
        Function("val", "fixed", ("doubleVec", "double")),
        Function("rand", "fixed", ()),
        Function("stop", "fixed", (), "none"),
        Function("time", "time", (), "timestamp"),
    )
}

# §6.1: absent from every readable edition; a strict mode turns them off.
STRICT_OFF_FUNCTIONS: frozenset[str] = frozenset({"ceil", "floor", "round"})

# §6.4: sample methods, by name, with their result type.
SAMPLE_METHODS: dict[str, str] = {
    "GetSample": "doubleVec",
    "GetSamplePercent": "double",
    "GetSamplePeriod": "timeinterval",
    "Count": "double",
    "HistoryBeginTime": "timestamp",
}
