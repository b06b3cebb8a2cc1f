"""What the editor says about each name of the language: hover texts and completion details.

Names, groups, types and aliases come from `batchsim.formula.symbols`; the meanings, signatures and
values are those of the formula reference (§2 constants and keywords, §4 timestamp fields, §5
variables, §6 functions and methods). A test checks that every name `symbols.py` knows has a text
here, so a name added to the language cannot go undocumented in the editor.
"""

from __future__ import annotations

from batchsim.formula.symbols import (
    DEALLOC_KEYWORDS,
    DEPRECATED,
    FUNCTIONS,
    NODE_METRICS,
    READ_ONLY_SCALARS,
    READ_WRITE,
    RESOURCE_METRICS,
    SAMPLE_METHODS,
    SAMPLED,
    STRICT_OFF_FUNCTIONS,
    TARGET_ALIASES,
    TASK_METRICS,
    TIME_CONSTANTS,
    TIMESTAMP_FIELDS,
)
from batchsim.lsp.inference import service_type

__all__ = [
    "KNOWN_NAMES",
    "LIST_PARAMETER",
    "constant_doc",
    "field_doc",
    "function_doc",
    "function_signatures",
    "keyword_doc",
    "method_doc",
    "method_signatures",
    "variable_doc",
    "variable_summary",
]

_VARIABLE_MEANINGS: dict[str, str] = {
    "$TargetDedicatedNodes": "The target number of dedicated nodes. Each run starts with the pool's current "
    "`targetDedicatedNodes`; the value the formula leaves is applied truncated toward zero (a negative "
    "value becomes 0, NaN or infinity is an evaluation error).",
    "$TargetLowPriorityNodes": "The target number of Spot (formerly low-priority) nodes. Each run starts with "
    "the pool's current `targetLowPriorityNodes`; applied as `$TargetDedicatedNodes` is.",
    "$NodeDeallocationOption": "What happens to the tasks on nodes a shrink removes: `requeue` (the default), "
    "`terminate`, `taskcompletion` or `retaineddata`. Takes a bare keyword as the whole right-hand side; "
    "it cannot be read. Reset to `requeue` at each run.",
    "$TargetDedicated": "Pre-2017 name of `$TargetDedicatedNodes`, kept as a separate slot: if both are "
    "assigned, the full name's value wins; results report it under the full name.",
    "$TargetLowPriority": "Older name of `$TargetLowPriorityNodes`, kept as a separate slot: if both are "
    "assigned, the full name's value wins; results report it under the full name.",
    "$CurrentDedicatedNodes": "The number of dedicated nodes in the pool.",
    "$CurrentLowPriorityNodes": "The number of Spot/low-priority nodes in the pool, preempted ones included.",
    "$TaskSlotsPerNode": "The pool's `taskSlotsPerNode`: how many tasks a node runs at once (default 1, at "
    "most min(4 × vCPUs, 256)).",
    "$UsableNodeCount": "The number of usable nodes in the pool.",
    "$CurrentDedicated": "Pre-2017 name of `$CurrentDedicatedNodes`.",
    "$ActiveTasks": "Tasks waiting to run whose dependencies are met (a multi-instance task counts its instances).",
    "$RunningTasks": "Tasks running.",
    "$PendingTasks": "Tasks active or running (`$ActiveTasks` + `$RunningTasks`).",
    "$SucceededTasks": "Tasks that finished successfully.",
    "$FailedTasks": "Tasks that failed.",
    "$PreemptedNodeCount": "Spot nodes in the preempted state (reported as always 0 on the current docs page).",
    "$SampleNodeCount": "The number of compute nodes.",
    "$CPUPercent": "The average CPU usage, in percent.",
    "$WallClockSeconds": "Wall-clock seconds consumed.",
    "$MemoryBytes": "The average memory used (documented in megabytes).",
    "$DiskBytes": "The average disk space used on the local disks (documented in gigabytes).",
    "$DiskReadBytes": "Bytes read.",
    "$DiskWriteBytes": "Bytes written.",
    "$DiskReadOps": "Disk read operations.",
    "$DiskWriteOps": "Disk write operations.",
    "$NetworkInBytes": "Inbound network bytes.",
    "$NetworkOutBytes": "Outbound network bytes.",
}

_SAMPLED_NOTE = (
    "Sampled every 30 s; read it only through a sample method (`GetSample`, `GetSamplePercent`, "
    "`GetSamplePeriod`, `Count`, `HistoryBeginTime`): used as a number it is a type mismatch."
)

_FUNCTION_MEANINGS: dict[str, str] = {
    "avg": "The mean of the values.",
    "ceil": "⌈x⌉, or of each element.",
    "floor": "⌊x⌋, or of each element.",
    "round": "The nearest integer, halves away from zero, or of each element.",
    "len": "The number of values.",
    "lg": "log₂ x, or of each element (x ≤ 0 is an error).",
    "ln": "The natural logarithm, or of each element (x ≤ 0 is an error).",
    "log": "log₁₀ x, or of each element (x ≤ 0 is an error).",
    "max": "The largest value.",
    "min": "The smallest value.",
    "norm": "√Σx², the Euclidean norm.",
    "percentile": "The element of `v` at percentile `p` (0–100, nearest rank).",
    "rand": "A random value in [0, 1).",
    "range": "max − min of the values.",
    "std": "The sample standard deviation (n − 1); 0 for one value.",
    "stop": "Ends the evaluation: the values assigned so far are final. Stands alone, as a statement or "
    "a whole branch of a conditional.",
    "sum": "The sum of the values.",
    "time": 'Now (the run\'s instant), or the parsed string: W3C-DTF (`"2024-06-23T02:19:08Z"`) or RFC 1123; '
    '`time("")` is now.',
    "val": "The element of `v` at zero-based index `i` (truncated); 0 when out of range.",
}

LIST_PARAMETER = "L"  # a doubleVecList: one or more doubles or doubleVecs, flattened in order (§4)
_LIST = LIST_PARAMETER
_LIST_NOTE = "`L` is one or more arguments, each a double or a doubleVec, flattened in order."

_METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "GetSample": (
        (
            "GetSample(double count)",
            "GetSample(bound start [, double pct])",
            "GetSample(bound a, bound b [, double pct])",
        ),
        "The last `count` samples (never fails), or the samples of the window from `start` (or between "
        "`a` and `b`) to now, oldest first. A window fails with `InsufficientSampleData` when fewer than "
        "`pct` percent (default 70) of its samples exist. A bound is a timeinterval back from now, or a "
        "timestamp.",
    ),
    "GetSamplePercent": (
        ("GetSamplePercent(bound start [, bound end])",),
        "The percentage (0–100) of the window's possible samples that exist. Never fails; guard a "
        "windowed `GetSample` with it.",
    ),
    "GetSamplePeriod": (("GetSamplePeriod()",), "The sampling period: 30 s."),
    "Count": (("Count()",), "The number of samples in the retained history."),
    "HistoryBeginTime": (
        ("HistoryBeginTime()",),
        "The time of the oldest retained sample, or now when there is none.",
    ),
}

_FIELDS: dict[str, str] = {
    "year": "the year",
    "month": "the month, 1–12",
    "day": "the day of the month, 1–31",
    "weekday": "the day of the week, 1 = Monday … 7 = Sunday",
    "hour": "the hour, 0–23",
    "minute": "the minute, 0–59",
    "second": "the second, 0–59",
}

_KEYWORDS: dict[str, str] = {
    "requeue": "The default. Terminates running tasks at once and requeues them, then removes the nodes.",
    "terminate": "Terminates running tasks for good, then removes the nodes.",
    "taskcompletion": "Lets running tasks finish and starts no new ones, then removes the node.",
    "retaineddata": "Like `taskcompletion`, and also waits for the task data retention to expire "
    "(deprecated in SDK 15.x).",
}

_CONSTANT_VALUES: dict[str, str] = {
    "TimeInterval_Zero": "0",
    "TimeInterval_100ns": "100 ns",
    "TimeInterval_Microsecond": "1 µs",
    "TimeInterval_Millisecond": "1 ms",
    "TimeInterval_Second": "1 s",
    "TimeInterval_Minute": "60 s",
    "TimeInterval_Hour": "3,600 s",
    "TimeInterval_Day": "86,400 s",
    "TimeInterval_Week": "604,800 s",
    "TimeInterval_Year": "365 days (31,536,000 s)",
}


def _code(text: str) -> str:
    return f"```batchsim-formula\n{text}\n```"


def _group(name: str) -> str:
    if name in TASK_METRICS:
        return "task counts"
    if name in NODE_METRICS:
        return "node counts"
    if name in RESOURCE_METRICS:
        return "resource usage"
    return ""


def variable_summary(name: str) -> str:
    """One line for completion details: type, access, sampled or not."""
    access = "read-write" if name in READ_WRITE else "read-only"
    sampled = ", sampled" if name in SAMPLED else ""
    return f"{service_type(name)}, {access}{sampled}"


def variable_doc(name: str) -> str | None:
    """Markdown for a service variable (type, access, sampled or not, meaning, alias), or None."""
    if name not in _VARIABLE_MEANINGS or service_type(name) is None:
        return None
    facts = [f"**type** {service_type(name)}", "**read-write**" if name in READ_WRITE else "**read-only**"]
    if name in SAMPLED:
        facts.append(f"**sampled** ({_group(name)})")
    else:
        facts.append("**not sampled**")
    parts = [_code(name), " · ".join(facts), _VARIABLE_MEANINGS[name]]
    aliases = [alias for alias, full in TARGET_ALIASES.items() if full == name]
    aliases += [old for old, new in DEPRECATED.items() if new == name and old not in aliases]
    if aliases:
        parts.append("Alias: " + ", ".join(f"`{a}` (deprecated)" for a in aliases) + ".")
    if name in DEPRECATED:
        parts.append(f"Deprecated: use `{DEPRECATED[name]}`.")
    if name in SAMPLED:
        parts.append(_SAMPLED_NOTE)
    return "\n\n".join(parts)


def function_signatures(name: str) -> tuple[str, ...]:
    """The signatures of a built-in function (§6.1–6.2), or () for an unknown name."""
    function = FUNCTIONS.get(name)
    if function is None:
        return ()
    if function.kind == "list":
        return (f"{name}({_LIST}) → double",)
    if function.kind == "elementwise":
        return (f"{name}(double x) → double", f"{name}({_LIST}) → doubleVec")
    if function.kind == "time":
        return ("time() → timestamp", "time(string s) → timestamp")
    names = {"percentile": ("v", "p"), "val": ("v", "i")}.get(name, ())
    params = ", ".join(f"{kind} {param}" for kind, param in zip(function.params, names, strict=False))
    return (f"{name}({params}) → {'none' if function.returns == 'none' else function.returns}",)


def function_doc(name: str) -> str | None:
    signatures = function_signatures(name)
    if not signatures:
        return None
    parts = [_code("\n".join(signatures)), _FUNCTION_MEANINGS[name]]
    if FUNCTIONS[name].kind in ("list", "elementwise"):
        parts.append(_LIST_NOTE)
    if name in STRICT_OFF_FUNCTIONS:
        parts.append("Absent from every readable edition of the service docs; `--strict` rejects it.")
    return "\n\n".join(parts)


def method_signatures(name: str) -> tuple[str, ...]:
    if name not in SAMPLE_METHODS:
        return ()
    return tuple(f"{s} → {SAMPLE_METHODS[name]}" for s in _METHODS[name][0])


def method_doc(name: str) -> str | None:
    if name not in SAMPLE_METHODS:
        return None
    return "\n\n".join([_code("\n".join(method_signatures(name))), "Sample method. " + _METHODS[name][1]])


def field_doc(name: str) -> str | None:
    if name not in TIMESTAMP_FIELDS:
        return None
    return "\n\n".join([_code(f"timestamp.{name} → double"), f"Timestamp field: {_FIELDS[name]}, in UTC."])


def constant_doc(name: str) -> str | None:
    if name not in TIME_CONSTANTS:
        return None
    ticks = TIME_CONSTANTS[name]
    return "\n\n".join([_code(f"{name}: timeinterval"), f"{_CONSTANT_VALUES[name]} ({ticks:,} ticks of 100 ns)."])


def keyword_doc(name: str) -> str | None:
    if name not in DEALLOC_KEYWORDS:
        return None
    parts = [
        _code(f"{name}: dealloc option"),
        f"`$NodeDeallocationOption` keyword. {_KEYWORDS[name]}",
    ]
    if name in DEPRECATED:
        parts.append(f"Deprecated: use {DEPRECATED[name]}.")
    return "\n\n".join(parts)


# Every name the language knows has a text (checked by the tests).
KNOWN_NAMES: tuple[str, ...] = (
    *READ_WRITE,
    *READ_ONLY_SCALARS,
    *SAMPLED,
    *FUNCTIONS,
    *SAMPLE_METHODS,
    *TIMESTAMP_FIELDS,
    *TIME_CONSTANTS,
    *DEALLOC_KEYWORDS,
)
