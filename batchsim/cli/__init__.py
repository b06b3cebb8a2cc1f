"""Command line: `batchsim COMMAND ...` (DESIGN section 2).

Each command lives in its own module of this package, named after the command, and registers
itself on `app` with `@app.command` (or `app.add_typer` for a group): adding a command is adding
a file. Exit codes: 0 success, 1 bad input, 2 usage error.

Start-up is a feature: `batchsim check` runs in pre-commit hooks on every commit. So the console
script imports only the module of the command it runs (`batchsim check ...` imports `check.py`
alone); `batchsim --help`, a name that is not a module, shell completion, and
`from batchsim.cli import app` import every command module, so help lists them all.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import TYPE_CHECKING, Any

from batchsim.cli.errors import EXIT_USAGE

if TYPE_CHECKING:
    import typer


__all__ = ["app", "load_commands", "main"]

# Optional dependencies by the top-level module a command imports, and the extra that installs them.
_EXTRA_OF_MODULE = {
    "azure": "azure",
    "azure.monitor": "monitor",
    "optuna": "tune",
    "dask": "dask",
    "distributed": "dask",
    "pygls": "lsp",
    "lsprotocol": "lsp",
}
# What the light install (packaging/batchsim-check) leaves out: a command or formula that needs one
# of these there (`eval` on a formula with rand(), which draws from numpy's generator) names the full install.
_FULL_ONLY = ("numpy", "pandas", "scipy", "matplotlib", "pyarrow")
_NOT_COMMANDS = ("app", "errors")


def _command_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_COMMANDS and not m.name.startswith("_")
    )


def _registered(application: typer.Typer) -> set[str]:
    names = {info.name or "" for info in application.registered_groups}
    for info in application.registered_commands:
        callback = info.callback
        names.add(info.name or (callback.__name__.lower().replace("_", "-") if callback else ""))
    return names


def _application() -> typer.Typer:
    """The Typer application of `app.py`, imported on first use (`check`'s fast path never does)."""
    loaded = f"{__name__}.app" in sys.modules
    application: typer.Typer = importlib.import_module(f"{__name__}.app").app
    if not loaded:
        # Importing the submodule `app` binds this package's attribute `app` to the module; drop
        # that binding so that `batchsim.cli.app` goes through `__getattr__` below and is the full
        # application, as it always was. (Later imports of the loaded submodule do not bind it again.)
        globals().pop("app", None)
    return application


def load_commands(argv: list[str] | None = None) -> typer.Typer:
    """The application with the command `argv` names registered — every command when `argv` is
    None, names none, or names one that is not a module of its own."""
    application = _application()
    wanted = None
    if argv is not None and not any(key.endswith("_COMPLETE") for key in os.environ):
        wanted = next((arg for arg in argv if not arg.startswith("-")), None)
    modules = _command_modules()
    if wanted in modules:
        importlib.import_module(f"{__name__}.{wanted}")
        if wanted in _registered(application):
            return application
    for module in modules:
        importlib.import_module(f"{__name__}.{module}")
    return application


def __getattr__(name: str) -> Any:
    if name == "app":  # the full application, as tests and `python -m batchsim` use it
        application = load_commands()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# `check`'s options that take a value, and the values `--format` accepts (check.CheckFormat).
_CHECK_VALUED = ("--format", "--var")
_CHECK_FORMATS = ("text", "json", "github", "sarif", "junit")


def _plain_check(argv: list[str]) -> tuple[list[str], str, bool, list[str]] | None:
    """`batchsim check`'s arguments (paths, format, strict, vars) when `argv` is a plain check
    (`check` then paths, `--format F`, `--strict`, `--var N=V`); None for anything else (help,
    completion, an unknown option, a bad value, no path), which Typer parses and reports."""
    if not argv or argv[0] != "check" or any(key.endswith("_COMPLETE") for key in os.environ):
        return None
    paths: list[str] = []
    output_format, strict, variables = "text", False, []
    words = iter(argv[1:])
    for word in words:
        if not word.startswith("-"):
            paths.append(word)
            continue
        name, equals, value = word.partition("=")
        if name == "--strict" and not equals:
            strict = True
            continue
        if name not in _CHECK_VALUED:
            return None
        if not equals:
            value = next(words, "-")
            if value.startswith("-"):
                return None
        if name == "--var":
            variables.append(value)
        elif value in _CHECK_FORMATS:
            output_format = value
        else:
            return None
    return (paths, output_format, strict, variables) if paths else None


def _check_fast(arguments: tuple[list[str], str, bool, list[str]]) -> None:
    """Run a plain `check` without building the Typer application: what Typer would do with these
    arguments (tests/cli/test_check_cli.py runs both ways), for a fraction of the start-up."""
    from pathlib import Path

    from batchsim.cli._check_run import run_check

    paths, output_format, strict, variables = arguments
    try:
        code = run_check([Path(p) for p in paths], output_format, strict, variables)
    except KeyboardInterrupt:
        # As Click ends a command on Ctrl-C: one line, exit 1, no traceback.
        sys.stderr.write("\nAborted!\n")
        raise SystemExit(1) from None
    except Exception as exc:
        import typer

        if isinstance(exc, typer.Exit):  # `fail`: its message is already on stderr
            raise SystemExit(exc.exit_code) from None
        raise
    raise SystemExit(code)


def main() -> None:
    """Entry point of the `batchsim` console script."""
    plain = _plain_check(sys.argv[1:])
    if plain is not None:
        _check_fast(plain)
    import typer

    application = load_commands(sys.argv[1:])
    try:
        application()
    except ModuleNotFoundError as exc:
        parts = (exc.name or "").split(".")
        if parts[0] in _FULL_ONLY:
            typer.echo(
                f"error: this needs {parts[0]!r}, which the light install (batchsim-check) leaves out: "
                "pip install batchsim",
                err=True,
            )
            raise SystemExit(EXIT_USAGE) from None
        # The longest known prefix: azure.monitor.querymetrics is the monitor extra, azure.batch azure.
        extra = next(
            (
                _EXTRA_OF_MODULE[".".join(parts[:n])]
                for n in range(len(parts), 0, -1)
                if ".".join(parts[:n]) in _EXTRA_OF_MODULE
            ),
            None,
        )
        if extra is None:
            raise
        typer.echo(
            f"error: this command needs the optional package {exc.name!r}: pip install 'batchsim[{extra}]'",
            err=True,
        )
        raise SystemExit(EXIT_USAGE) from None
