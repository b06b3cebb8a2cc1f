"""Shared pieces of the sweep, stress, compare and optimize commands: Ctrl-C
(`interrupt_once`), and the formula files they are given."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "EXIT_INTERRUPTED",
    "check_targets",
    "formula_text",
    "interrupt_once",
    "read_formulas",
    "scenario_file",
    "search_progress",
    "slug",
]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


def check_targets(p95_wait_target_s: float, deadline_miss_target: float) -> None:
    """A target of 0 is refused: a violation is measured as a fraction of the target, and no run
    can be ranked against "no wait at all" or "no deadline ever missed" that way."""
    from batchsim.cli.errors import EXIT_USAGE, fail

    if p95_wait_target_s <= 0:
        fail(f"--p95-wait-target {p95_wait_target_s:g}: a wait target is more than 0 seconds", EXIT_USAGE)
    if deadline_miss_target <= 0:
        fail(
            f"--deadline-miss-target {deadline_miss_target:g}: the allowed share of missed deadlines is more than 0",
            EXIT_USAGE,
        )


def scenario_file(path: Path) -> Path:
    """The scenario file at `path`, or the shipped scenario of that name; a usage error when neither exists."""
    from batchsim.cli.errors import EXIT_USAGE, fail
    from batchsim.data import resolve_scenario

    found = resolve_scenario(path)
    if not found.is_file():
        fail(f"no such file: {found}", EXIT_USAGE)
    return found


def formula_text(path: Path) -> str:
    """A formula file's text, read as `batchsim check` reads it (UTF-8, BS001 for a binary or
    undecodable file, "is a directory", "no such file"); a problem is a `ScenarioError` naming the file."""
    from batchsim.data import shipped_formulas
    from batchsim.formula.sources import read_formula
    from batchsim.scenario import ScenarioError

    if path.is_dir():
        raise ScenarioError(f"{path}: is a directory, not a formula file")
    if not path.exists():
        shipped = ", ".join(shipped_formulas())
        raise ScenarioError(f"{path}: no such file (shipped formulas, usable by name: {shipped})")
    try:
        source = read_formula(path)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    if source.problem is not None:
        span, problem = source.problem.span, source.problem
        raise ScenarioError(f"{path}:{span.line}:{span.column}: error {problem.code} {problem.message}")
    return source.text


def interrupt_once() -> None:
    """The first Ctrl-C raises KeyboardInterrupt; later ones are ignored while the command winds down.

    A user who presses twice (0.2 s apart is common) must still get the saved runs and the
    "interrupted" line, not a second KeyboardInterrupt while they are written or while the
    interpreter shuts down (which resets Python-level handlers, so only SIG_IGN holds there).
    """

    def handler(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)


def read_formulas(loaded: object, files: list[Path]) -> dict[str, str | None]:
    """Label → formula text (None: the scenario's own); a formula that does not compile is bad input."""
    from batchsim.formula.compiler import FormulaError, compile
    from batchsim.scenario import Scenario, ScenarioError

    assert isinstance(loaded, Scenario)
    if not files:
        if loaded.pool.autoscale is None:
            return {"initial sizes (no autoscale)": None}
        return {"scenario's formula": None}
    strict = loaded.pool.autoscale.strict if loaded.pool.autoscale is not None else False
    texts: dict[str, str | None] = {}
    from batchsim.data import resolve_formula

    files = [resolve_formula(path) for path in files]
    for path, label in zip(files, _labels(files), strict=True):
        text = formula_text(path)
        try:
            compile(text, strict=strict)
        except FormulaError as exc:
            first = exc.diagnostics[0]
            raise ScenarioError(
                f"{path}:{first.span.line}:{first.span.column}: {first.code}: {first.message}"
            ) from None
        texts[label] = text
    return texts


def _labels(files: list[Path]) -> list[str]:
    """Each file's name where that name is unique among `files`, else the path as given; a file given
    twice gets a number, so it is still compared with itself."""
    names = [path.name for path in dict.fromkeys(files)]  # a name counts once per distinct file
    labels = [path.name if names.count(path.name) == 1 else str(path) for path in files]
    seen: dict[str, int] = {}
    for index, label in enumerate(labels):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[index] = f"{label} ({seen[label]})"
    return labels


def slug(label: str) -> str:
    """A directory name for a formula's label (labels are unique, and so are their slugs)."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in label).strip("-.") or "formula"


def search_progress(
    stack: contextlib.ExitStack[bool | None], name: str, budget: int
) -> Callable[[int, int], None] | None:
    """A progress bar on stderr for a search of `budget` trials, closed with `stack`; None when stderr
    is no terminal (a bar would only clutter a log). The callback takes (trials done, trials in all)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    bar = stack.enter_context(Progress(transient=True, console=Console(stderr=True)))
    task = bar.add_task(name, total=budget)
    return lambda done, total: bar.update(task, completed=done, total=total)
