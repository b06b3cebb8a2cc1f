"""Formatters over diagnostics: text, json, github, sarif, junit (DESIGN §2).

One diagnostic type, many formatters (STYLE): each takes the findings of every checked file and
returns the whole output as a string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from batchsim.formula.diagnostics import Diagnostic, Severity

__all__ = ["FORMATTERS", "FileReport", "format_github", "format_json", "format_junit", "format_sarif", "format_text"]


@dataclass(frozen=True, slots=True)
class FileReport:
    """The findings for one formula and the text they point into.

    resource: for a formula inside a host file (Terraform, Bicep, ARM JSON, pool YAML), the pool
        resource that holds it (`azurerm_batch_pool.render`); `text` is then the host file's text and
        the diagnostics are at its lines. None for a `*.formula` file.
    """

    path: str
    text: str
    diagnostics: Sequence[Diagnostic]
    resource: str | None = None


def _source_line(text: str, line: int) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


_EXCERPT_CHARS = 100


def _window(source: str, column: int) -> tuple[str, int]:
    """A long line cut to the part around `column` (a 9000-character line would flood a terminal)."""
    if len(source) <= _EXCERPT_CHARS + 20:
        return source, column
    start = max(0, min(column - 1 - _EXCERPT_CHARS // 2, len(source) - _EXCERPT_CHARS))
    excerpt = source[start : start + _EXCERPT_CHARS]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + _EXCERPT_CHARS < len(source) else ""
    return prefix + excerpt + suffix, column - start + len(prefix)


def _one_line(path: str, d: Diagnostic, resource: str | None = None) -> str:
    where = f" [{resource}]" if resource else ""
    return f"{path}:{d.span.line}:{d.span.column}: {d.severity.value} {d.code} {d.message}{where}"


def _summary(reports: Sequence[FileReport]) -> str:
    errors = sum(d.severity is Severity.ERROR for r in reports for d in r.diagnostics)
    warnings = sum(d.severity is Severity.WARNING for r in reports for d in r.diagnostics)
    files = len(dict.fromkeys(r.path for r in reports))
    formulas = f" ({len(reports)} formula(s))" if any(r.resource for r in reports) else ""
    return f"{files} file(s) checked{formulas}: {errors} error(s), {warnings} warning(s)"


def format_text(reports: Sequence[FileReport]) -> str:
    """`path:line:col: severity code message`, then the source line and a caret under the column."""
    out: list[str] = []
    for report in reports:
        for d in report.diagnostics:
            out.append(_one_line(report.path, d, report.resource))
            source = _source_line(report.text, d.span.line)
            if source.strip():
                width = max(1, (d.span.end_column - d.span.column) if d.span.end_line == d.span.line else 1)
                excerpt, column = _window(source.expandtabs(1), d.span.column)
                out.append(f"    {excerpt}")
                out.append("    " + " " * (column - 1) + "^" + "~" * min(width - 1, len(excerpt) - column, 80))
    out.append(_summary(reports))
    return "\n".join(out) + "\n"


def _record(path: str, d: Diagnostic, resource: str | None) -> dict[str, object]:
    return {
        "path": path,
        "resource": resource,
        "line": d.span.line,
        "column": d.span.column,
        "end_line": d.span.end_line,
        "end_column": d.span.end_column,
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
    }


def format_json(reports: Sequence[FileReport]) -> str:
    """A JSON list of objects with the fixed keys of DESIGN §2, and `resource` (DESIGN §10; null for
    a *.formula file)."""
    from batchsim import jsonio  # here: the text report, a pre-commit hook's, loads no json

    return jsonio.dumps([_record(r.path, d, r.resource) for r in reports for d in r.diagnostics], indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(reports: Sequence[FileReport]) -> str:
    """GitHub Actions workflow commands: `::error file=…,line=…,col=…::message` per finding."""
    out = []
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    for report in reports:
        for d in report.diagnostics:
            title = f"{d.code} {report.resource}" if report.resource else d.code
            props = (
                f"file={_escape_property(report.path)},line={d.span.line},col={d.span.column},"
                f"endLine={d.span.end_line},endColumn={d.span.end_column},title={_escape_property(title)}"
            )
            message = f"{report.resource}: {d.message}" if report.resource else d.message
            out.append(f"::{levels[d.severity]} {props}::{_escape_data(message)}")
    return "\n".join(out) + ("\n" if out else "")


# Descriptions of the file-level codes (the lint rules describe themselves in lint.RULES).
_FILE_RULES = {
    "BS001": "The file is not formula text (binary, or not UTF-8)",
    "BS003": "A host file that names a pool formula cannot be read as its format (HCL, Bicep, JSON, YAML)",
    "BS004": "A host file's interpolations were checked with a placeholder number (give --var NAME=VALUE)",
}


def _logical(resource: str | None) -> dict[str, object]:
    """SARIF's logicalLocations: the pool resource holding an embedded formula."""
    if resource is None:
        return {}
    return {"logicalLocations": [{"name": resource, "kind": "resource"}]}


def format_sarif(reports: Sequence[FileReport]) -> str:
    """A SARIF 2.1.0 log with one run; rules for the lint codes and the service's error codes."""
    from batchsim import __version__
    from batchsim.formula.lint import RULES

    codes = sorted({d.code for r in reports for d in r.diagnostics})
    lint_help = {rule.code: f"{rule.name}: {rule.pitfall}" for rule in RULES} | _FILE_RULES
    rules = [{"id": code, "shortDescription": {"text": lint_help.get(code, code)}} for code in codes]
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    results = [
        {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": levels[d.severity],
            "message": {"text": f"{r.resource}: {d.message}" if r.resource else d.message},
            "locations": [
                {
                    **_logical(r.resource),
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.path.replace("\\", "/")},
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": d.span.column,
                            "endLine": d.span.end_line,
                            "endColumn": max(d.span.end_column, d.span.column),
                        },
                    },
                }
            ],
        }
        for r in reports
        for d in r.diagnostics
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "batchsim",
                        "version": __version__,
                        "informationUri": "https://github.com/batchsim/batchsim",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    from batchsim import jsonio

    return jsonio.dumps(log, indent=2) + "\n"


def format_junit(reports: Sequence[FileReport]) -> str:
    """JUnit XML: one test case per formula (per file, or per resource of a host file), failing with
    its errors (warnings go to system-out)."""
    from xml.etree import ElementTree as ET

    suite = ET.Element("testsuite", name="batchsim check", tests=str(len(reports)))
    failures = 0
    for report in reports:
        name = f"{report.path} {report.resource}" if report.resource else report.path
        case = ET.SubElement(suite, "testcase", classname="batchsim.check", name=name)
        errors = [d for d in report.diagnostics if d.severity is Severity.ERROR]
        lines = [_one_line(report.path, d, report.resource) for d in report.diagnostics]
        if errors:
            failures += 1
            first = errors[0]
            failure = ET.SubElement(case, "failure", message=f"{first.code}: {first.message}", type=first.code)
            failure.text = "\n".join(lines)
        elif lines:
            ET.SubElement(case, "system-out").text = "\n".join(lines)
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


FORMATTERS: dict[str, Callable[[Sequence[FileReport]], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "sarif": format_sarif,
    "junit": format_junit,
}
