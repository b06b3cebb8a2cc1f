"""`batchsim fmt FILE... [--check]` (DESIGN §8): formulas laid out by the printer, comments kept."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_BAD_INPUT, EXIT_USAGE, fail

_BOM = b"\xef\xbb\xbf"
_HOST_SUFFIXES = (".tf", ".bicep", ".json", ".yaml", ".yml")


@app.command("fmt")
def fmt_command(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="PATH...",
        help="Formula files, directories searched for *.formula files, or - for stdin to stdout.",
    ),
    check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 when a file would be reformatted."),
) -> None:
    """Rewrite formulas in the printer's layout. A file that does not parse is left as it is (exit 1)."""
    from batchsim.formula.formatters import FileReport, format_text
    from batchsim.formula.reformat import CannotFormat, reformat
    from batchsim.formula.sources import find_formula_files, read_formula

    if [str(p) for p in paths] == ["-"]:
        _filter(sys.stdin.buffer.read())
        return
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or directory: {', '.join(missing)}", EXIT_USAGE)
    files = [f for p in paths for f in find_formula_files(p)]
    if not files:
        fail(f"no *.formula files under {', '.join(str(p) for p in paths)}", EXIT_USAGE)
    changed = unchanged = broken = 0
    for file in files:
        if file.suffix.lower() in _HOST_SUFFIXES:
            # A formula inside Terraform, Bicep, JSON or YAML is laid out by its host file's owner.
            typer.echo(f"{file}: not a formula file, left as it is (check reads formulas in it; fmt does not)")
            continue
        try:
            data = file.read_bytes()
            source = read_formula(file)
        except OSError as exc:
            fail(f"{file}: cannot read: {exc.strerror}")
        if source.problem is not None:
            typer.echo(format_text([FileReport(str(file), "", [source.problem])]), nl=False)
            broken += 1
            continue
        try:
            formatted = reformat(source.text)
        except CannotFormat as exc:
            typer.echo(format_text([FileReport(str(file), source.text, exc.diagnostics)]), nl=False)
            typer.echo(f"{file}: not formatted, left as it is")
            broken += 1
            continue
        if formatted == source.text:
            unchanged += 1
            continue
        changed += 1
        if check:
            typer.echo(f"would reformat {file}")
            continue
        _rewrite(file, ("\ufeff" if data.startswith(_BOM) else "") + formatted)
        typer.echo(f"reformatted {file}")
    verb = "would be reformatted" if check else "reformatted"
    typer.echo(f"{changed} file(s) {verb}, {unchanged} unchanged, {broken} not formatted", err=True)
    if broken or (check and changed):
        raise typer.Exit(EXIT_BAD_INPUT)


def _filter(data: bytes) -> None:
    """`fmt -`: stdin formatted to stdout. Text that cannot be formatted is echoed byte for byte
    (an editor piping its buffer through the filter must not lose it), the reason on stderr, exit 1."""
    from batchsim.formula.formatters import FileReport, format_text
    from batchsim.formula.reformat import CannotFormat, reformat

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        typer.echo(data, nl=False)
        typer.echo(f"<stdin>: not UTF-8 (byte {exc.start}); left as it is", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    try:
        formatted = reformat(text[len(bom) :])
    except CannotFormat as exc:
        typer.echo(data, nl=False)
        typer.echo(format_text([FileReport("<stdin>", text[len(bom) :], exc.diagnostics)]), nl=False, err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo((bom + formatted).encode("utf-8"), nl=False)


def _rewrite(file: Path, text: str) -> None:
    """Replace the file's text atomically, through symlinks, keeping its permissions."""
    from batchsim.files import write_atomically

    target = file.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    try:
        write_atomically(target, text)
        os.chmod(target, mode)
    except OSError as exc:
        fail(f"{file}: cannot write: {exc.strerror}")
