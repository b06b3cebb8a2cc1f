"""One forward pass over a formula's statements: what each value depends on, for the lint rules.

Statements run in order (formula reference §3.4) and assignments are statements, so a variable
read in statement k holds the value of its latest assignment before k — `n = max(n, 0)` reads the
`n` assigned before it, and a later reassignment changes nothing for earlier reads. The pass
keeps, for every variable, the `Facts` of its current value and derives the facts of each new
expression from its operands', so every rule sees through temporaries, renames and reassignment
alike, and no rule looks ahead.

Facts are a summary, not an evaluation: which service variables a value reads (directly or
through variables), whether it depends on a `GetSamplePercent` and of which metric, on `rand()`,
whether it can grow with a metric (`bounded`), whether it is a constant.

Trees are walked with explicit stacks (formulas can nest thousands of levels).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from batchsim.formula import ast
from batchsim.formula.symbols import READ_ONLY_SCALARS, SAMPLED, TARGET_ALIASES

__all__ = ["TARGETS", "Facts", "Flow", "SampleCall", "analyse"]

TARGETS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", *TARGET_ALIASES)
_DEALLOC = "$NodeDeallocationOption"
_FULL_AND_ALIAS = (("$TargetDedicatedNodes", "$TargetDedicated"), ("$TargetLowPriorityNodes", "$TargetLowPriority"))
_IMPURE = ("rand", "time")


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known of a value without evaluating it.

    reads: service variables it reads, directly or through variables (sampled metrics included,
        read through their methods; a target read before the formula assigns it is the pool's
        current target).
    percent_of: the metrics whose `GetSamplePercent` it depends on.
    random: it depends on `rand()`.
    bounded: it cannot grow with a metric: it reads no metric, or caps it (`min(x, 10)`), or is a
        percentage, a comparison, a timestamp field.
    constant: its value (`number`, when a double) is known without reading anything.
    percent: the value is a `GetSamplePercent` result, possibly copied through variables.
    time: the value is a timeinterval or a timestamp (what selects `GetSample`'s window form).
    """

    reads: frozenset[str] = frozenset()
    percent_of: frozenset[str] = frozenset()
    random: bool = False
    bounded: bool = True
    constant: bool = False
    number: float | None = None
    percent: bool = False
    time: bool = False


_CONSTANT = Facts(constant=True)
_TIME_RESULTS = ("GetSamplePeriod", "HistoryBeginTime")


@dataclass(frozen=True, slots=True)
class SampleCall:
    """A `GetSample` call on a metric.

    windowed: the window form (a time bound first), not the count form.
    guarded: evaluated only under a condition that depends on that metric's `GetSamplePercent`
        (a conditional's condition, or the left side of `&&`/`||`).
    count: the count of the count form, when constant. required: the window form's explicit
        percentage, when constant (None when omitted: 70).
    """

    call: ast.MethodCall
    metric: str
    windowed: bool
    guarded: bool
    count: float | None = None
    required: float | None = None


@dataclass(slots=True)
class Flow:
    """Everything the forward pass learns about a formula.

    final: each variable's (targets' included) last assignment and the facts of its value.
    samples: every `GetSample` call, in source order.
    dead: user-variable assignments whose value is never read: overwritten first (with the
        assignment that overwrites it) or never read at all (with None).
    dealloc: the `$NodeDeallocationOption` keyword the formula ends with (`requeue` if unset).
    comparisons: every comparison, with the facts of its two sides.
    """

    final: dict[str, tuple[ast.Assignment, Facts]] = field(default_factory=dict)
    samples: list[SampleCall] = field(default_factory=list)
    dead: list[tuple[ast.Assignment, ast.Assignment | None]] = field(default_factory=list)
    dealloc: str = "requeue"
    comparisons: list[tuple[ast.Binary, Facts, Facts]] = field(default_factory=list)

    def effective_targets(self) -> list[tuple[ast.Assignment, Facts]]:
        """The assignments that set each target: the full name's last, else the alias's (§5.1)."""
        found = []
        for full, alias in _FULL_AND_ALIAS:
            chosen = self.final.get(full) or self.final.get(alias)
            if chosen is not None:
                found.append(chosen)
        return sorted(found, key=lambda pair: pair[0].span.start_offset)


def analyse(formula: ast.Formula) -> Flow:
    """The forward pass: statements in order, each expression's facts from its operands'."""
    flow = Flow()
    env: dict[str, Facts] = {}
    unread: dict[str, ast.Assignment] = {}  # user variable → its latest assignment, not yet read
    for statement in formula.statements:
        expr = statement.value if isinstance(statement, ast.Assignment) else statement.expr
        facts = _expression(expr, env, flow)
        for node in ast.walk(expr):
            if isinstance(node, ast.Name):
                unread.pop(node.name, None)
        if not isinstance(statement, ast.Assignment):
            continue
        name = statement.target
        if name == _DEALLOC:
            if isinstance(statement.value, ast.DeallocKeyword):
                flow.dealloc = statement.value.name
            continue
        if name in READ_ONLY_SCALARS or name in SAMPLED:
            continue
        if name not in TARGETS:
            overwritten = unread.pop(name, None)
            if overwritten is not None:
                flow.dead.append((overwritten, statement))
            unread[name] = statement
        env[name] = facts
        flow.final[name] = (statement, facts)
    flow.dead += [(assignment, None) for assignment in unread.values()]
    flow.dead.sort(key=lambda pair: pair[0].span.start_offset)
    return flow


def _expression(root: ast.Expr, env: dict[str, Facts], flow: Flow) -> Facts:
    """The facts of `root` (post-order, explicit stack), recording sample calls and comparisons."""
    facts: dict[int, Facts] = {}
    stack: list[tuple[ast.Expr, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        operands = ast.children(node)
        if operands and not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(operands))  # type: ignore[misc]
            continue
        facts[id(node)] = _combine(node, [facts[id(child)] for child in operands], env, flow)
    _record_samples(root, facts, flow)
    return facts[id(root)]


def _union(parts: list[Facts], **changes: object) -> Facts:
    reads: frozenset[str] = frozenset().union(*(p.reads for p in parts))
    percent_of: frozenset[str] = frozenset().union(*(p.percent_of for p in parts))
    values: dict[str, object] = {
        "reads": reads,
        "percent_of": percent_of,
        "random": any(p.random for p in parts),
        "bounded": all(p.bounded for p in parts),
        "constant": all(p.constant for p in parts),
    }
    values.update(changes)
    return Facts(**values)  # type: ignore[arg-type]


def _combine(node: ast.Expr, operands: list[Facts], env: dict[str, Facts], flow: Flow) -> Facts:
    if isinstance(node, ast.Number):
        return Facts(constant=True, number=node.value)
    if isinstance(node, ast.TimeConstant):
        return Facts(constant=True, time=True)
    if isinstance(node, (ast.String, ast.DeallocKeyword)):
        return _CONSTANT
    if isinstance(node, ast.Name):
        if node.name in env:
            return env[node.name]
        # a service variable: a metric scales with load; node counts and targets do not
        return Facts(reads=frozenset({node.name}), bounded=node.name not in SAMPLED)
    if isinstance(node, ast.Unary):
        (operand,) = operands
        number = -operand.number if node.op == "-" and operand.number is not None else None
        return _union(operands, number=number, bounded=operand.bounded or node.op == "!", time=operand.time)
    if isinstance(node, ast.Binary):
        left, right = operands
        if node.op in ("<", "<=", "==", ">=", ">", "!="):
            flow.comparisons.append((node, left, right))
        arithmetic = node.op in ("+", "-", "*", "/")
        return _union(
            operands,
            bounded=left.bounded and right.bounded if arithmetic else True,
            time=arithmetic and (left.time or right.time),
        )
    if isinstance(node, ast.Conditional):
        _, then, otherwise = operands
        return _union(operands, bounded=then.bounded and otherwise.bounded, time=then.time)
    if isinstance(node, ast.Call):
        if node.name == "min":
            bounded = any(a.bounded for a in operands) or not operands
        else:
            bounded = all(a.bounded for a in operands)
        return _union(
            operands,
            bounded=bounded,
            random=node.name == "rand" or any(a.random for a in operands),
            constant=node.name not in _IMPURE and all(a.constant for a in operands),
            time=node.name == "time",
        )
    if isinstance(node, ast.Field):
        return _union(operands, bounded=True, constant=False)
    assert isinstance(node, ast.MethodCall)
    metric = node.target.name if isinstance(node.target, ast.Name) else None
    if node.name == "GetSamplePercent":
        percent_of = frozenset({metric}) if metric else frozenset()
        merged = _union(operands)
        return _union(operands, percent_of=merged.percent_of | percent_of, percent=True, bounded=True, constant=False)
    timed = node.name in _TIME_RESULTS
    return _union(operands, bounded=timed, constant=False, time=timed)


def _record_samples(root: ast.Expr, facts: dict[int, Facts], flow: Flow) -> None:
    """Every `GetSample` in `root`, with whether a percent test on its metric guards it
    (top-down, explicit stack: guards come from enclosing conditions)."""
    stack: list[tuple[ast.Expr, frozenset[str]]] = [(root, frozenset())]
    while stack:
        node, guarded = stack.pop()
        children: list[tuple[ast.Node, frozenset[str]]]
        if isinstance(node, ast.Conditional):
            inner = guarded | facts[id(node.condition)].percent_of
            children = [(node.condition, guarded), (node.then, inner), (node.otherwise, inner)]
        elif isinstance(node, ast.Binary) and node.op in ("&&", "||"):
            children = [(node.left, guarded), (node.right, guarded | facts[id(node.left)].percent_of)]
        else:
            children = [(child, guarded) for child in ast.children(node)]
        if isinstance(node, ast.MethodCall) and node.name == "GetSample" and isinstance(node.target, ast.Name):
            metric = node.target.name
            arguments = [facts[id(arg)] for arg in node.args]
            windowed = bool(arguments) and arguments[0].time
            count = arguments[0].number if not windowed and len(arguments) == 1 else None
            explicit = windowed and len(arguments) >= 2 and not arguments[-1].time
            required = arguments[-1].number if explicit else None
            flow.samples.append(SampleCall(node, metric, windowed, metric in guarded, count, required))
        stack.extend((child, g) for child, g in reversed(children))  # type: ignore[misc]
    flow.samples.sort(key=lambda sample: sample.call.span.start_offset)
