"""Reading formula files: text, with the problems of the file itself as diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from batchsim.formula.diagnostics import Diagnostic, Severity, Span

__all__ = ["FILE_CODE", "HOST_CODE", "PLACEHOLDER_CODE", "FormulaSource", "find_formula_files", "read_formula"]

FILE_CODE = "BS001"
# A Terraform, Bicep, JSON or YAML file that names a pool formula but cannot be read as its format.
HOST_CODE = "BS003"
# The note that a host file's interpolations were checked as a placeholder number (DESIGN §10).
PLACEHOLDER_CODE = "BS004"


@dataclass(frozen=True, slots=True)
class FormulaSource:
    """A formula file: its path as given, its text ('' when unreadable) and any file-level problem."""

    path: str
    text: str
    problem: Diagnostic | None = None


def read_formula(path: Path) -> FormulaSource:
    """Read a formula file as UTF-8 (a BOM is allowed); binary and undecodable files are diagnostics."""
    data = path.read_bytes()
    start = Span(1, 1, 1, 2, 0, 1)
    if b"\x00" in data:
        return FormulaSource(
            str(path), "", Diagnostic(FILE_CODE, Severity.ERROR, "binary file, not formula text", start)
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        return FormulaSource(str(path), "", Diagnostic(FILE_CODE, Severity.ERROR, message, Span(line, 1, line, 2)))
    return FormulaSource(str(path), text)


def find_formula_files(path: Path) -> list[Path]:
    """`path` itself when a file, else every `*.formula` file below it, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.formula") if p.is_file())
    return [path]
