"""Lint rules: formulas the service accepts but that behave badly on a real pool.

Each rule is tied to a pitfall recorded in the references (formula-language.md, batch-behavior.md)
and reports warnings with a project code. Rules read the AST and the facts of one forward pass
over the statements (`dataflow.analyse`), shared by every rule, so they follow the code as it
runs: through temporaries, renames, reassignment and self-reference (`n = max(n, 0)`), and never
ahead. Rules about targets judge the assignment that sets each target (its last one; the full
name's over the alias's). They never evaluate.

A warning can be accepted where it is reported, with a comment that says why (`accept.py`):

    // batchsim: accept BS105 the dedicated floor keeps work moving while Spot nodes are preempted
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from batchsim.formula import ast
from batchsim.formula.accept import ACCEPT_CODE, apply_acceptances
from batchsim.formula.dataflow import TARGETS, Flow, analyse
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.formula.symbols import DEPRECATED, READ_ONLY_SCALARS, SAMPLED

__all__ = ["RULES", "Rule", "lint"]

_SPOT_TARGETS = ("$TargetLowPriorityNodes", "$TargetLowPriority")
_TASK_COUNTS = frozenset(("$ActiveTasks", "$PendingTasks", "$RunningTasks"))

_NO_TARGET, _UNUSED = "BS108", "BS109"

Finding = tuple[str, Span]


@dataclass(frozen=True, slots=True)
class Rule:
    """A lint rule: code, short name, the pitfall it guards against (with its source), the check.

    check: the findings (message, span) for a formula and its forward-pass facts; None for the
    rule on accept comments themselves, which `lint` applies to the other rules' findings.
    """

    code: str
    name: str
    pitfall: str
    check: Callable[[ast.Formula, Flow], Iterator[Finding]] | None


def _unguarded_window(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for sample in flow.samples:
        if sample.windowed and not sample.guarded and sample.required != 0:
            if not sample.explicit:
                wanted = "70% (the default when no percentage is given)"
            elif sample.required is not None:
                wanted = f"{sample.required:g}%"
            else:
                wanted = "the percentage it asks for"
            yield (
                f"windowed {sample.metric}.GetSample fails with InsufficientSampleData while fewer than {wanted} "
                "of the window's samples exist (a new pool has none); guard it with GetSamplePercent",
                sample.call.lparen_span,
            )


def _percent_as_fraction(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for node, left, right in flow.comparisons:
        if node.op not in ("<", "<=", ">", ">="):
            continue
        for side, other, other_node in ((left, right, node.right), (right, left, node.left)):
            if side.percent and other.number is not None and 0 < other.number < 1:
                written = other_node.text if isinstance(other_node, ast.Number) else f"{other.number:g}"
                yield (
                    f"GetSamplePercent returns 0–100, not a fraction: comparing it with {written} is almost "
                    f"always wrong (did you mean {other.number * 100:g}?)",
                    node.op_span,
                )


def _slot_blind(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for assignment, facts in flow.effective_targets():
        if facts.reads & _TASK_COUNTS and "$TaskSlotsPerNode" not in facts.reads and not facts.per_slot:
            yield (
                f"{assignment.target} follows task counts but ignores $TaskSlotsPerNode: a node runs "
                "$TaskSlotsPerNode tasks at once, so on multi-slot pools this asks for too many nodes",
                assignment.target_span,
            )


def _active_tasks_requeue(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    if flow.dealloc != "requeue":
        return
    for assignment, facts in flow.effective_targets():
        if "$ActiveTasks" in facts.reads and not facts.reads & {"$RunningTasks", "$PendingTasks"}:
            yield (
                f"{assignment.target} scales on $ActiveTasks alone with $NodeDeallocationOption requeue: once the "
                "queue drains the pool shrinks under running tasks, which are killed and rerun; use $PendingTasks "
                "or taskcompletion",
                assignment.target_span,
            )


def _preemption_blind(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    targets = flow.effective_targets()
    if any("$PreemptedNodeCount" in facts.reads for _, facts in targets):
        return  # some target makes up for preempted nodes (on Spot or, as preemption-aware does, dedicated)
    for assignment, facts in targets:
        if assignment.target in _SPOT_TARGETS and not facts.constant:
            yield (
                "preempted Spot nodes stay counted in the Spot count until they are replaced, so they run "
                "nothing while the target looks met; account for them with $PreemptedNodeCount",
                assignment.target_span,
            )


def _uncapped(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for assignment, facts in flow.effective_targets():
        if not facts.bounded:
            yield (
                f"{assignment.target} has no upper cap: a burst of tasks scales the pool to whatever the metric "
                "says; cap it with min(..., <max nodes>)",
                assignment.target_span,
            )


def _deprecated(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for node in ast.walk(formula):
        name, span = None, None
        if isinstance(node, (ast.Name, ast.DeallocKeyword)) and node.name in DEPRECATED:
            name, span = node.name, node.span
        elif isinstance(node, ast.Assignment) and node.target in DEPRECATED:
            name, span = node.target, node.target_span
        if name is not None and span is not None:
            yield f"{name} is deprecated; use {DEPRECATED[name]}", span


def _no_target(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    if not any(name in flow.final for name in TARGETS):
        yield (
            "the formula assigns no target ($TargetDedicatedNodes or $TargetLowPriorityNodes): "
            "it never resizes the pool",
            formula.span,
        )


def _unused(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for assignment, overwritten in flow.dead:
        name = assignment.target
        if name in READ_ONLY_SCALARS or name in SAMPLED:
            continue
        if overwritten is None:
            yield f"{name} is assigned but never used", assignment.target_span
        else:
            where = f"{overwritten.target_span.line}:{overwritten.target_span.column}"
            yield f"{name} is assigned again at {where} before this value is used", assignment.target_span


def _last_sample_only(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    windowed = {sample.metric for sample in flow.samples if sample.windowed}
    for sample in flow.samples:
        if not sample.windowed and sample.count == 1 and sample.metric not in windowed:
            yield (
                f"{sample.metric}.GetSample(1) alone follows one late, possibly missing sample; the docs advise "
                "looking at a window of several minutes",
                sample.call.lparen_span,
            )


def _empty_statement(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for span in formula.empty_statements:
        yield "empty statement (';;')", span


def _random_target(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for assignment, facts in flow.effective_targets():
        if facts.random:
            yield f"{assignment.target} depends on rand(): the pool resizes at random", assignment.target_span


def _empty_aggregate(formula: ast.Formula, flow: Flow) -> Iterator[Finding]:
    for aggregate in flow.empty_aggregates:
        name, metrics = aggregate.call.name, ", ".join(sorted(aggregate.metrics))
        yield (
            f'{name}() fails with "Empty data set in {name}" when its samples of {metrics} are empty (GetSample(n) '
            "on a new pool has none); add a scalar argument (max(0, ...)), use val(..., 0), or test Count() "
            "or GetSamplePercent first",
            aggregate.call.lparen_span,
        )


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
    Rule(_NO_TARGET, "no-target", "formula-language §5.1", _no_target),
    Rule(_UNUSED, "unused-variable", "formula-language §9.1 (reported, never read)", _unused),
    Rule(
        "BS110", "last-sample-only", "formula-language §6.5 (docs warn against GetSample(1) alone)", _last_sample_only
    ),
    Rule("BS111", "empty-statement", "formula-language §2 (Q8)", _empty_statement),
    Rule("BS112", "random-target", "formula-language §6.3 rand()", _random_target),
    Rule(
        "BS114", "empty-aggregate", "formula-language §6.3 empty lists, §8.3 'Empty data set in <n>'", _empty_aggregate
    ),
    Rule(ACCEPT_CODE, "accept-comment", "an accepted warning says why, and is still reported", None),
)


def lint(formula: ast.Formula, text: str | None = None) -> list[Diagnostic]:
    """Warnings for a parsed formula, from every rule in `RULES`; with the formula's `text`, the
    warnings its accept comments explain are left out (and the comments themselves checked).
    Accepting BS108 marks an evaluate-only probe, which also accepts BS109's "never used"."""
    flow = analyse(formula)
    findings: list[Diagnostic] = []
    for rule in RULES:
        if rule.check is None:
            continue
        for message, span in rule.check(formula, flow):
            findings.append(Diagnostic(rule.code, Severity.WARNING, f"{message} [{rule.name}]", span))
    if text is None:
        return findings
    kept = apply_acceptances(text, findings)
    if any(f.code == _NO_TARGET for f in findings) and not any(f.code == _NO_TARGET for f in kept):
        # An accepted BS108 says the formula is an evaluate-only probe: its variables are read back
        # from the results string (reference §9.1), so a variable never read in the formula is used.
        never_read = {a.target_span for a, overwritten in flow.dead if overwritten is None}
        kept = [f for f in kept if not (f.code == _UNUSED and f.span in never_read)]
    return kept
