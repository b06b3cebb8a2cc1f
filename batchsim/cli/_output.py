"""Where commands write: output locations checked before the work starts, progress bars on stderr."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from batchsim.cli.errors import EXIT_USAGE, fail

__all__ = ["check_out_dir", "check_out_file", "check_run_dir", "progress"]


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe(directory: Path, flag: str, target: Path) -> None:
    """Create and remove a file in `directory`: the one sure test of writing (root ignores modes)."""
    try:
        handle, name = tempfile.mkstemp(dir=directory, prefix=".batchsim-probe-")
    except OSError as exc:
        fail(f"{flag} {target}: cannot write in {directory}: {exc.strerror}", EXIT_USAGE)
    os.close(handle)
    os.unlink(name)


def check_out_dir(out: Path, flag: str = "--out") -> None:
    """Fail (usage error, exit 2) unless `out` is a directory batchsim can create or write in.

    Called before a simulation starts, so that a mistyped `--out` costs nothing; creates nothing.
    """
    if out.exists() and not out.is_dir():
        fail(f"{flag} {out}: exists and is not a directory", EXIT_USAGE)
    existing = _nearest_existing(out)
    if not existing.is_dir():
        fail(f"{flag} {out}: {existing} is a file, not a directory", EXIT_USAGE)
    _probe(existing, flag, out)


def check_out_file(out: Path, flag: str = "--out") -> None:
    """Fail (usage error, exit 2) unless `out` is a file batchsim can write (its folder may be new)."""
    if out.is_dir():
        fail(f"{flag} {out}: is a directory; give a file name such as {out / 'report.html'}", EXIT_USAGE)
    if out.is_symlink() or (out.exists() and not out.is_file()):
        # A link, a device or a pipe (/dev/stdout, /dev/full): writing beside it and renaming would replace it.
        fail(f"{flag} {out}: exists and is not a regular file; give a file name, or - for stdout", EXIT_USAGE)
    check_out_dir(out.parent, flag)


def check_run_dir(out: Path, force: bool, flag: str = "--out") -> None:
    """One convention for every command that writes a run directory (as `calibrate` does for its
    scenario): a directory that already holds a run is replaced only with `--force`, and then its
    old report and tables go first, so nothing stale is left beside the new run."""
    held = [name for name in ("summary.json", "run.json", "report.html") if (out / name).is_file()]
    # compare and stress keep their runs in OUT/runs/FORMULA/...: old seeds left there would be read as new ones.
    held += [f"{name}/" for name in ("runs",) if (out / name).is_dir()]
    if not held:
        return
    if not force:
        fail(f"{flag} {out}: already holds a run ({', '.join(held)}); give --force to replace it", EXIT_USAGE)
    for path in out.iterdir():
        if path.is_file() and (path.suffix in (".json", ".parquet", ".csv", ".html", ".md", ".png")):
            path.unlink()
        elif path.is_dir() and path.name == "runs":
            shutil.rmtree(path)


def _simulated(seconds: float) -> str:
    from batchsim.units import format_duration

    return format_duration(round(seconds))


@contextlib.contextmanager
def progress(description: str, total_s: float) -> Iterator[Callable[[float], None] | None]:
    """A progress bar on stderr when it is a terminal (results stay alone on stdout); else None.

    It shows the simulated time done of the whole, the wall time so far and the time left; it
    is transient, so a run of a second leaves nothing behind."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[done]} of " + _simulated(total_s) + " simulated"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total_s, done=_simulated(0))
        yield lambda t: bar.update(task, completed=t, done=_simulated(t))
