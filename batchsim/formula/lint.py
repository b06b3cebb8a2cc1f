"""Lint rules: formulas the service accepts but that behave badly on a real pool.

Each rule is tied to a pitfall recorded in the references (formula-language.md, batch-behavior.md)
and reports warnings with a project code. Rules read the AST only; they never evaluate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from batchsim.formula import ast
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.formula.symbols import DEPRECATED, SAMPLED, TARGET_ALIASES

__all__ = ["RULES", "Rule", "lint"]

_TARGETS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", *TARGET_ALIASES)
_SPOT_TARGETS = ("$TargetLowPriorityNodes", "$TargetLowPriority")
_TASK_COUNTS = ("$ActiveTasks", "$PendingTasks", "$RunningTasks")


@dataclass(frozen=True, slots=True)
class Rule:
    """A lint rule: code, short name, the pitfall it guards against (with its source), the check."""

    code: str
    name: str
    pitfall: str
    check: Callable[[ast.Formula], Iterator[tuple[str, Span]]]


def walk(node: object) -> Iterator[object]:
    """Every node below `node`, depth first, in source order."""
    yield node
    if isinstance(node, ast.Formula):
        for statement in node.statements:
            yield from walk(statement)
    elif isinstance(node, ast.Assignment):
        yield from walk(node.value)
    elif isinstance(node, ast.ExprStatement):
        yield from walk(node.expr)
    elif isinstance(node, ast.Unary):
        yield from walk(node.operand)
    elif isinstance(node, ast.Binary):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, ast.Conditional):
        yield from walk(node.condition)
        yield from walk(node.then)
        yield from walk(node.otherwise)
    elif isinstance(node, ast.Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, ast.Field):
        yield from walk(node.target)
    elif isinstance(node, ast.MethodCall):
        yield from walk(node.target)
        for arg in node.args:
            yield from walk(arg)


def _methods(formula: ast.Formula, name: str) -> list[ast.MethodCall]:
    return [n for n in walk(formula) if isinstance(n, ast.MethodCall) and n.name == name]


def _metric(call: ast.MethodCall) -> str | None:
    return call.target.name if isinstance(call.target, ast.Name) else None


def _reads(formula: ast.Formula) -> set[str]:
    return {n.name for n in walk(formula) if isinstance(n, ast.Name)}


def _assignments(formula: ast.Formula) -> list[ast.Assignment]:
    return [s for s in formula.statements if isinstance(s, ast.Assignment)]


def _is_count_form(call: ast.MethodCall) -> bool:
    return len(call.args) == 1 and isinstance(call.args[0], ast.Number)


def _depends_on(formula: ast.Formula, expr: ast.Expr, names: tuple[str, ...]) -> bool:
    """Whether `expr` reads any of `names`, directly or through user variables assigned earlier."""
    sources: dict[str, ast.Expr] = {a.target: a.value for a in _assignments(formula)}
    seen: set[str] = set()
    stack = [expr]
    while stack:
        for node in walk(stack.pop()):
            if isinstance(node, ast.Name) and node.name not in seen:
                seen.add(node.name)
                if node.name in names:
                    return True
                if node.name in sources and node.name not in _TARGETS:
                    stack.append(sources[node.name])
    return False


# -- rules -----------------------------------------------------------------------------------


def _unguarded_window(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    guarded = {_metric(c) for c in _methods(formula, "GetSamplePercent")}
    for call in _methods(formula, "GetSample"):
        if _is_count_form(call) or _metric(call) in guarded:
            continue
        explicit_zero = len(call.args) in (2, 3) and isinstance(call.args[-1], ast.Number) and call.args[-1].value == 0
        if not explicit_zero:
            yield (
                f"windowed {_metric(call)}.GetSample fails with InsufficientSampleData while fewer than 70% of the "
                "window's samples exist (a new pool has none); guard it with GetSamplePercent",
                call.lparen_span,
            )


def _percent_as_fraction(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    percent_vars = {
        a.target
        for a in _assignments(formula)
        if isinstance(a.value, ast.MethodCall) and a.value.name == "GetSamplePercent"
    }
    for node in walk(formula):
        if not isinstance(node, ast.Binary) or node.op not in ("<", "<=", ">", ">="):
            continue
        for side, other in ((node.left, node.right), (node.right, node.left)):
            is_percent = (isinstance(side, ast.MethodCall) and side.name == "GetSamplePercent") or (
                isinstance(side, ast.Name) and side.name in percent_vars
            )
            if is_percent and isinstance(other, ast.Number) and 0 < other.value < 1:
                yield (
                    f"GetSamplePercent returns 0–100, not a fraction: comparing it with {other.text} is almost always "
                    f"wrong (did you mean {other.value * 100:g}?)",
                    node.op_span,
                )


def _slot_blind(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    if "$TaskSlotsPerNode" in _reads(formula):
        return
    for assignment in _assignments(formula):
        if assignment.target in _TARGETS and _depends_on(formula, assignment.value, _TASK_COUNTS):
            yield (
                f"{assignment.target} follows task counts but ignores $TaskSlotsPerNode: a node runs "
                "$TaskSlotsPerNode tasks at once, so on multi-slot pools this asks for too many nodes",
                assignment.target_span,
            )
            return


def _active_tasks_requeue(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    options = [
        a.value.name
        for a in _assignments(formula)
        if a.target == "$NodeDeallocationOption" and isinstance(a.value, ast.DeallocKeyword)
    ]
    if options and options[-1] != "requeue":
        return
    for assignment in _assignments(formula):
        if (
            assignment.target in _TARGETS
            and _depends_on(formula, assignment.value, ("$ActiveTasks",))
            and not _depends_on(formula, assignment.value, ("$RunningTasks", "$PendingTasks"))
        ):
            yield (
                f"{assignment.target} scales on $ActiveTasks alone with $NodeDeallocationOption requeue: once the "
                "queue drains the pool shrinks under running tasks, which are killed and rerun; use $PendingTasks "
                "or taskcompletion",
                assignment.target_span,
            )
            return


def _preemption_blind(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    if "$PreemptedNodeCount" in _reads(formula):
        return
    for assignment in _assignments(formula):
        if assignment.target in _SPOT_TARGETS and not isinstance(assignment.value, ast.Number):
            yield (
                "preempted Spot nodes stay counted in the Spot count until they are replaced, so they run "
                "nothing while the target looks met; account for them with $PreemptedNodeCount",
                assignment.target_span,
            )
            return


def _uncapped(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    for assignment in _assignments(formula):
        if assignment.target not in _TARGETS or isinstance(assignment.value, ast.Number):
            continue
        capped = any(isinstance(n, ast.Call) and n.name == "min" for n in walk(assignment.value))
        sources = {a.target: a.value for a in _assignments(formula)}
        capped = capped or any(
            isinstance(n, ast.Name)
            and n.name in sources
            and any(isinstance(m, ast.Call) and m.name == "min" for m in walk(sources[n.name]))
            for n in walk(assignment.value)
        )
        if not capped and _depends_on(formula, assignment.value, tuple(SAMPLED)):
            yield (
                f"{assignment.target} has no upper cap: a burst of tasks scales the pool to whatever the metric "
                "says; cap it with min(..., <max nodes>)",
                assignment.target_span,
            )


def _deprecated(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    for node in walk(formula):
        name, span = None, None
        if isinstance(node, (ast.Name, ast.DeallocKeyword)) and node.name in DEPRECATED:
            name, span = node.name, node.span
        elif isinstance(node, ast.Assignment) and node.target in DEPRECATED:
            name, span = node.target, node.target_span
        if name is not None and span is not None:
            yield f"{name} is deprecated; use {DEPRECATED[name]}", span


def _no_target(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    if not any(a.target in _TARGETS for a in _assignments(formula)):
        yield (
            "the formula assigns no target ($TargetDedicatedNodes or $TargetLowPriorityNodes): "
            "it never resizes the pool",
            formula.span,
        )


def _unused(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    reads = _reads(formula)
    for assignment in _assignments(formula):
        name = assignment.target
        if name.lstrip("$") and name not in _TARGETS and name != "$NodeDeallocationOption" and name not in reads:
            yield f"{name} is assigned but never used", assignment.target_span


def _last_sample_only(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    windowed = {_metric(c) for c in _methods(formula, "GetSample") if not _is_count_form(c)}
    for call in _methods(formula, "GetSample"):
        if _is_count_form(call) and call.args[0].value == 1 and _metric(call) not in windowed:  # type: ignore[union-attr]
            yield (
                f"{_metric(call)}.GetSample(1) alone follows one late, possibly missing sample; the docs advise "
                "looking at a window of several minutes",
                call.lparen_span,
            )


def _empty_statement(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    for span in formula.empty_statements:
        yield "empty statement (';;')", span


def _random_target(formula: ast.Formula) -> Iterator[tuple[str, Span]]:
    for assignment in _assignments(formula):
        if assignment.target in _TARGETS and any(
            isinstance(n, ast.Call) and n.name == "rand" for n in walk(assignment.value)
        ):
            yield f"{assignment.target} depends on rand(): the pool resizes at random", assignment.target_span


RULES: tuple[Rule, ...] = (
    Rule("BS101", "unguarded-sample-window", "formula-language §6.5, R11 (Batch Shipyard #138)", _unguarded_window),
    Rule("BS102", "sample-percent-as-fraction", "formula-language §6.4, D4/D6", _percent_as_fraction),
    Rule("BS103", "slot-blind-scaling", "batch-behavior §4.1, Azure/Batch#151", _slot_blind),
    Rule(
        "BS104", "active-tasks-requeue", "batch-behavior §1.5, metrics 'per task, not per slot'", _active_tasks_requeue
    ),
    Rule("BS105", "preempted-spot-unaccounted", "batch-behavior spot counting, nextflow#5545", _preemption_blind),
    Rule("BS106", "uncapped-target", "formula-language §10 docs examples cap with min()", _uncapped),
    Rule("BS107", "deprecated-name", "formula-language §5.1–5.2", _deprecated),
    Rule("BS108", "no-target", "formula-language §5.1", _no_target),
    Rule("BS109", "unused-variable", "formula-language §9.1 (reported, never read)", _unused),
    Rule(
        "BS110", "last-sample-only", "formula-language §6.5 (docs warn against GetSample(1) alone)", _last_sample_only
    ),
    Rule("BS111", "empty-statement", "formula-language §2 (Q8)", _empty_statement),
    Rule("BS112", "random-target", "formula-language §6.3 rand()", _random_target),
)


def lint(formula: ast.Formula) -> list[Diagnostic]:
    """Warnings for a parsed formula, from every rule in `RULES`."""
    findings: list[Diagnostic] = []
    for rule in RULES:
        for message, span in rule.check(formula):
            findings.append(Diagnostic(rule.code, Severity.WARNING, f"{message} [{rule.name}]", span))
    return findings
