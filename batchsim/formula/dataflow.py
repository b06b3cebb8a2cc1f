"""One forward pass over a formula's statements: what each value depends on, for the lint rules.

Statements run in order (formula reference §3.4) and assignments are statements, so a variable
read in statement k holds the value of its latest assignment before k — `n = max(n, 0)` reads the
`n` assigned before it, and a later reassignment changes nothing for earlier reads. The pass
keeps, for every variable, the `Facts` of its current value and derives the facts of each new
expression from its operands', so every rule sees through temporaries, renames and reassignment
alike, and no rule looks ahead.

Facts are a summary, not an evaluation: which service variables a value reads (directly or
through variables), whether it depends on a `GetSamplePercent` and of which metric, on `rand()`,
whether it can grow with a metric (`bounded`), whether it is a constant, whether it is a vector
that can be empty.

Trees are walked with explicit stacks (formulas can nest thousands of levels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from batchsim.formula import ast
from batchsim.formula.symbols import READ_ONLY_SCALARS, SAMPLED, TARGET_ALIASES

__all__ = ["FAILS_ON_EMPTY", "TARGETS", "Aggregate", "Facts", "Flow", "SampleCall", "analyse"]

TARGETS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", *TARGET_ALIASES)
_DEALLOC = "$NodeDeallocationOption"
_FULL_AND_ALIAS = (("$TargetDedicatedNodes", "$TargetDedicated"), ("$TargetLowPriorityNodes", "$TargetLowPriority"))
_IMPURE = ("rand", "time")
# Functions that fail with "Empty data set in <name>" on an empty list (formula reference §6.3).
FAILS_ON_EMPTY = ("avg", "max", "min", "percentile", "range", "std")
_ELEMENTWISE = ("ceil", "floor", "lg", "ln", "log", "round")  # a vector in, a vector as long out
_CLAMPS = ("<", "<=", ">", ">=")
# A user constant named as a slot count (`maxTasksPerNode`, `$taskSlotsPerNode`, `slots`).
_SLOT_COUNT_NAME = re.compile(r"slot|per_?node", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known of a value without evaluating it.

    reads: service variables it reads, directly or through variables (sampled metrics included,
        read through their methods; a target read before the formula assigns it is the pool's
        current target).
    percent_of: the metrics whose `GetSamplePercent` it depends on.
    random: it depends on `rand()`.
    bounded: it cannot grow with a metric: it reads no metric, or caps it (`min(x, 10)`, or a
        conditional that clamps it, `x > 10 ? 10 : x`), or is a percentage, a comparison, a
        timestamp field.
    constant: its value (`number`, when a double) is known without reading anything.
    percent: the value is a `GetSamplePercent` result, possibly copied through variables.
    time: the value is a timeinterval or a timestamp (what selects `GetSample`'s window form).
    per_slot: it was divided by the formula's own slot-count constant (`tasks / maxTasksPerNode`).
    empty_of: the value is a vector that can be empty, and these are the metrics whose samples it
        holds: a count-form `GetSample` (a new pool has no sample) or a window that asks for 0%.
    counted_of: the metrics whose sample count it tests (`Count()`, `len` of their samples).
    """

    reads: frozenset[str] = frozenset()
    percent_of: frozenset[str] = frozenset()
    random: bool = False
    bounded: bool = True
    constant: bool = False
    number: float | None = None
    percent: bool = False
    time: bool = False
    per_slot: bool = False
    empty_of: frozenset[str] = frozenset()
    counted_of: frozenset[str] = frozenset()


_CONSTANT = Facts(constant=True)
_TIME_RESULTS = ("GetSamplePeriod", "HistoryBeginTime")


@dataclass(frozen=True, slots=True)
class SampleCall:
    """A `GetSample` call on a metric.

    windowed: the window form (a time bound first), not the count form.
    guarded: evaluated only under a condition that depends on that metric's `GetSamplePercent`
        (a conditional's condition, or the left side of `&&`/`||`).
    count: the count of the count form, when constant. required: the window form's explicit
        percentage (`explicit`), when constant; None when omitted (70) or not a constant.
    """

    call: ast.MethodCall
    metric: str
    windowed: bool
    guarded: bool
    count: float | None = None
    required: float | None = None
    explicit: bool = False


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A call of a function in `FAILS_ON_EMPTY` whose list can be empty: every argument (the
    first, for `percentile`) is a vector that can be empty, holding samples of `metrics`, and no
    enclosing condition tests their availability (`GetSamplePercent`, `Count()`, `len`)."""

    call: ast.Call
    metrics: frozenset[str]


@dataclass(slots=True)
class Flow:
    """Everything the forward pass learns about a formula.

    final: each variable's (targets' included) last assignment and the facts of its value.
    samples: every `GetSample` call, in source order.
    dead: user-variable assignments whose value is never read: overwritten first (with the
        assignment that overwrites it) or never read at all (with None).
    dealloc: the `$NodeDeallocationOption` keyword the formula ends with (`requeue` if unset).
    comparisons: every comparison, with the facts of its two sides.
    empty_aggregates: the calls that fail on a new pool with "Empty data set", in source order.
    """

    final: dict[str, tuple[ast.Assignment, Facts]] = field(default_factory=dict)
    samples: list[SampleCall] = field(default_factory=list)
    dead: list[tuple[ast.Assignment, ast.Assignment | None]] = field(default_factory=list)
    dealloc: str = "requeue"
    comparisons: list[tuple[ast.Binary, Facts, Facts]] = field(default_factory=list)
    empty_aggregates: list[Aggregate] = field(default_factory=list)

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
        facts[id(node)] = _combine(node, [facts[id(child)] for child in operands], env, flow, facts)
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
        "per_slot": any(p.per_slot for p in parts),
        "counted_of": frozenset().union(*(p.counted_of for p in parts)),
    }
    values.update(changes)
    return Facts(**values)  # type: ignore[arg-type]


def _combine(
    node: ast.Expr, operands: list[Facts], env: dict[str, Facts], flow: Flow, facts: dict[int, Facts]
) -> Facts:
    """The facts of `node` from its operands' (`facts` holds those of every sub-expression)."""
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
        empty_of = operand.empty_of if node.op == "-" else frozenset()
        bounded = operand.bounded or node.op == "!"
        return _union(operands, number=number, bounded=bounded, time=operand.time, empty_of=empty_of)
    if isinstance(node, ast.Binary):
        left, right = operands
        if node.op in ("<", "<=", "==", ">=", ">", "!="):
            flow.comparisons.append((node, left, right))
        arithmetic = node.op in ("+", "-", "*", "/")
        return _union(
            operands,
            bounded=left.bounded and right.bounded if arithmetic else True,
            time=arithmetic and (left.time or right.time),
            per_slot=left.per_slot or right.per_slot or (node.op == "/" and _slot_count(node.right, env)),
            empty_of=left.empty_of | right.empty_of if arithmetic else frozenset(),
        )
    if isinstance(node, ast.Conditional):
        _, then, otherwise = operands
        bounded = (then.bounded and otherwise.bounded) or _clamps(node, facts)
        return _union(operands, bounded=bounded, time=then.time, empty_of=then.empty_of | otherwise.empty_of)
    if isinstance(node, ast.Call):
        if node.name == "min":
            bounded = any(a.bounded for a in operands) or not operands
        else:
            bounded = all(a.bounded for a in operands)
        every_empty = bool(operands) and all(a.empty_of for a in operands)
        vectors: frozenset[str] = frozenset().union(*(a.empty_of for a in operands)) if every_empty else frozenset()
        counted = vectors if node.name == "len" else frozenset()
        return _union(
            operands,
            bounded=bounded,
            random=node.name == "rand" or any(a.random for a in operands),
            constant=node.name not in _IMPURE and all(a.constant for a in operands),
            time=node.name == "time",
            empty_of=vectors if node.name in _ELEMENTWISE else frozenset(),
            counted_of=_union(operands).counted_of | counted,
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
    counted = frozenset({metric}) if metric and node.name == "Count" else frozenset()
    empty = metric is not None and node.name == "GetSample" and _can_be_empty(operands[1:])
    return _union(
        operands,
        bounded=timed,
        constant=False,
        time=timed,
        empty_of=frozenset({metric}) if empty and metric else frozenset(),
        counted_of=_union(operands).counted_of | counted,
    )


def _can_be_empty(arguments: list[Facts]) -> bool:
    """Whether `GetSample(arguments)` can return no sample without failing (§6.4): the count form
    (a new pool has none), or a window that asks for 0%."""
    if not arguments or not arguments[0].time:
        return True
    explicit = len(arguments) >= 2 and not arguments[-1].time
    return explicit and arguments[-1].number == 0


def _slot_count(divisor: ast.Expr, env: dict[str, Facts]) -> bool:
    """Whether `divisor` is a user constant named as a slot count (the formula's own `$TaskSlotsPerNode`)."""
    if not isinstance(divisor, ast.Name) or divisor.name not in env:
        return False
    return env[divisor.name].constant and _SLOT_COUNT_NAME.search(divisor.name) is not None


def _clamps(node: ast.Conditional, facts: dict[int, Facts]) -> bool:
    """Whether the condition caps every unbounded branch: `x > 10 ? 10 : x` takes `x` only when
    `x <= 10`, and `x < 10 ? x : 10` likewise (a branch can be such a conditional itself:
    `x > 10 ? 10 : (x < 0 ? 0 : x)`). The bound must itself be bounded."""
    condition = node.condition
    if not isinstance(condition, ast.Binary) or condition.op not in _CLAMPS:
        return False
    below = condition.op in ("<", "<=")  # true means left <= right; false means left >= right
    # (the branch taken, the side of the comparison it must be, the bound on the other side)
    capped = [
        (node.then, condition.left if below else condition.right, condition.right if below else condition.left),
        (node.otherwise, condition.right if below else condition.left, condition.left if below else condition.right),
    ]
    for branch, side, bound in capped:
        if facts[id(branch)].bounded:
            continue
        if not facts[id(bound)].bounded:
            return False
        pending: list[ast.Expr] = [branch]  # explicit stack: conditionals nest deep
        while pending:
            value = pending.pop()
            if facts[id(value)].bounded or ast.same_tree(value, side):
                continue
            if not isinstance(value, ast.Conditional):
                return False
            pending += [value.then, value.otherwise]
    return True


_Guards = tuple[frozenset[str], frozenset[str]]  # metrics whose percentage, whose availability is tested


def _tested(guards: _Guards, test: Facts) -> _Guards:
    percent, available = guards
    return percent | test.percent_of, available | test.percent_of | test.counted_of


def _record_samples(root: ast.Expr, facts: dict[int, Facts], flow: Flow) -> None:
    """Every `GetSample` in `root`, with whether a percent test on its metric guards it, and every
    aggregate that can meet an empty list unguarded (top-down, explicit stack: guards come from
    enclosing conditions)."""
    empty: _Guards = (frozenset(), frozenset())
    stack: list[tuple[ast.Expr, _Guards]] = [(root, empty)]
    while stack:
        node, guards = stack.pop()
        guarded = guards[0]
        children: list[tuple[ast.Node, _Guards]]
        if isinstance(node, ast.Conditional):
            inner = _tested(guards, facts[id(node.condition)])
            children = [(node.condition, guards), (node.then, inner), (node.otherwise, inner)]
        elif isinstance(node, ast.Binary) and node.op in ("&&", "||"):
            children = [(node.left, guards), (node.right, _tested(guards, facts[id(node.left)]))]
        else:
            children = [(child, guards) for child in ast.children(node)]
        if isinstance(node, ast.Call) and node.name in FAILS_ON_EMPTY and node.args:
            lists = [facts[id(arg)] for arg in (node.args[:1] if node.name == "percentile" else node.args)]
            if all(arg.empty_of for arg in lists):
                metrics: frozenset[str] = frozenset().union(*(arg.empty_of for arg in lists))
                if metrics - guards[1]:
                    flow.empty_aggregates.append(Aggregate(node, metrics))
        if isinstance(node, ast.MethodCall) and node.name == "GetSample" and isinstance(node.target, ast.Name):
            metric = node.target.name
            arguments = [facts[id(arg)] for arg in node.args]
            windowed = bool(arguments) and arguments[0].time
            count = arguments[0].number if not windowed and len(arguments) == 1 else None
            explicit = windowed and len(arguments) >= 2 and not arguments[-1].time
            required = arguments[-1].number if explicit else None
            sample = SampleCall(node, metric, windowed, metric in guarded, count, required, explicit)
            flow.samples.append(sample)
        stack.extend((child, g) for child, g in reversed(children))  # type: ignore[misc]
    flow.samples.sort(key=lambda sample: sample.call.span.start_offset)
    flow.empty_aggregates.sort(key=lambda aggregate: aggregate.call.span.start_offset)
