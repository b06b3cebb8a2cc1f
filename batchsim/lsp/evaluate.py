"""The "evaluate here" command: the formula run once against a context file (DESIGN §3), as
`batchsim eval` runs it, with the results string (or the service's error) as the answer.

The context file is the command's second argument when given (relative to the formula's folder),
else `<formula name>.context.json` beside the formula, else `context.json` in its folder; without
one the formula runs against an empty context at the current time, as `batchsim eval` does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from batchsim.formula.compiler import FormulaError, compile
from batchsim.formula.context import EvalContext, datetime_to_ticks
from batchsim.formula.context_file import ContextFileError, load_context

__all__ = ["COMMAND", "context_for", "evaluate_text"]

COMMAND = "batchsim.evaluate"


def context_for(formula_path: Path | None, given: str | None) -> Path | None:
    """The context file to use (see the module docstring), or None for an empty context."""
    folder = formula_path.parent if formula_path is not None else Path.cwd()
    if given:
        path = Path(given).expanduser()
        return path if path.is_absolute() else folder / path
    if formula_path is None:
        return None
    for candidate in (formula_path.with_name(f"{formula_path.stem}.context.json"), folder / "context.json"):
        if candidate.is_file():
            return candidate
    return None


def evaluate_text(text: str, context_path: Path | None, *, strict: bool = False) -> str:
    """The results string, or `error: CODE: Line L, Col C: detail` (as `batchsim eval` prints it)."""
    try:
        program = compile(text, strict=strict)
    except FormulaError as exc:
        first = exc.diagnostics[0]
        return f"error: {first.code}: Line {first.span.line}, Col {first.span.column}: {first.message}"
    except RecursionError:
        return "error: the formula is nested too deeply to evaluate"
    if context_path is None:
        context = EvalContext(now_tick=datetime_to_ticks(datetime.now(timezone.utc)))
    else:
        try:
            context = load_context(context_path)
        except ContextFileError as exc:
            return f"error: {exc}"
        except OSError as exc:
            return f"error: {context_path}: cannot read: {exc.strerror}"
    try:
        run = program.evaluate(context)
    except Exception as exc:  # an evaluator bug must not take the server down with it
        return f"error: the evaluation failed ({type(exc).__name__}: {exc})"
    if run.error is not None:
        return f"error: {run.error.code}: {run.error.detail}"
    return run.results
