"""What `batchsim check` does, without Typer: the command (`check.py`) and the console script's
fast path (`batchsim.cli.main`, for plain arguments) both run it, so that a pre-commit hook's
`batchsim check FILE` does not pay for building the command line parser (DESIGN §2, §10)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from batchsim.cli.errors import EXIT_USAGE, fail

if TYPE_CHECKING:
    from batchsim.formula.formatters import FileReport

__all__ = ["run_check"]


def run_check(paths: list[Path], output_format: str, strict: bool, var: list[str]) -> int:
    """Check `paths`, print the report in `output_format`; the exit code: 1 when any error is found.
    Bad arguments `fail` (exit 2)."""
    from batchsim.data import resolve_formula
    from batchsim.formula.checker import has_errors
    from batchsim.formula.formatters import FORMATTERS
    from batchsim.formula.sources import find_formula_files

    variables = {}
    for item in var:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            fail(f"--var {item!r}: expected NAME=VALUE", EXIT_USAGE)
        variables[name.strip()] = value
    paths = [resolve_formula(p) for p in paths]  # a shipped formula's name reads that formula
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or directory: {', '.join(missing)}", EXIT_USAGE)
    named_hosts = [p for p in paths if p.is_file() and _is_host(p)]
    reports: list[FileReport] = []
    for path in paths:
        if path.is_dir():
            from batchsim.hosts import find_host_files

            for file in find_formula_files(path):
                reports.append(_formula_report(file, strict))
            for file in find_host_files(path):
                reports.extend(_host_reports(file, variables, strict, named=False))
        elif _is_host(path):
            reports.extend(_host_reports(path, variables, strict, named=True))
        else:
            reports.append(_formula_report(path, strict))
    if not reports and not named_hosts:
        fail(f"no *.formula files or pool formulas under {', '.join(str(p) for p in paths)}", EXIT_USAGE)
    sys.stdout.write(FORMATTERS[output_format](reports))
    sys.stdout.flush()
    return 1 if any(has_errors(list(r.diagnostics)) for r in reports) else 0


def _is_host(path: Path) -> bool:
    # The suffixes, here without importing batchsim.hosts: `check` on *.formula files loads no host reader.
    return path.suffix.lower() in (".tf", ".bicep", ".json", ".yaml", ".yml")


def _formula_report(file: Path, strict: bool) -> FileReport:
    from batchsim.formula.checker import check as check_text
    from batchsim.formula.formatters import FileReport
    from batchsim.formula.sources import read_formula

    try:
        source = read_formula(file)
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror}")
    diagnostics = [source.problem] if source.problem else check_text(source.text, strict=strict)
    return FileReport(str(file), source.text, diagnostics)


def _host_reports(file: Path, variables: dict[str, str], strict: bool, *, named: bool) -> list[FileReport]:
    """One report per pool formula of the host file; none for a file without one (skipped silently)."""
    from batchsim.formula.checker import check as check_text
    from batchsim.formula.diagnostics import Diagnostic, Severity
    from batchsim.formula.formatters import FileReport
    from batchsim.formula.sources import HOST_CODE, PLACEHOLDER_CODE, read_formula
    from batchsim.hosts import HostProblem, find_formulas, line_starts, offsets_span, relocate
    from batchsim.hosts.embedded import PLACEHOLDER

    try:
        source = read_formula(file)
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror}")
    if source.problem is not None:
        # Through a directory, an unreadable .json or .yaml is somebody else's file, not a pool's.
        return [FileReport(str(file), "", [source.problem])] if named else []
    starts = line_starts(source.text)
    try:
        formulas = find_formulas(file, source.text, variables)
    except HostProblem as exc:
        problem = Diagnostic(HOST_CODE, Severity.ERROR, exc.message, offsets_span(starts, exc.offset, exc.offset + 1))
        return [FileReport(str(file), source.text, [problem])]
    reports = []
    unset = [i for f in formulas for i in f.interpolations if not i.given]
    # The note, once per file, goes with the formula that holds the first interpolation without a value.
    noted = next((n for n, f in enumerate(formulas) if any(not i.given for i in f.interpolations)), None)
    for n, formula in enumerate(formulas):
        diagnostics = relocate(formula, starts, check_text(formula.text, strict=strict))
        if n == noted:
            names = ", ".join(dict.fromkeys(str(i) for i in unset))
            directives = " (a %{...} directive is left out)" if any(i.directive for i in unset) else ""
            message = (
                f"{len(unset)} interpolation(s) in this file checked with the number {PLACEHOLDER} in their place"
                f"{directives}: {names}; give values with --var NAME=VALUE"
            )
            note = Diagnostic(
                PLACEHOLDER_CODE, Severity.INFO, message, offsets_span(starts, unset[0].start, unset[0].end)
            )
            diagnostics = sorted([note, *diagnostics], key=lambda d: (d.span.line, d.span.column))
        reports.append(FileReport(str(file), source.text, diagnostics, formula.resource))
    return reports
