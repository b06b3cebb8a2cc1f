"""`batchsim check` from a cold process, against yamllint on one YAML file (issue 14 §7, issue 25 §5).

A pre-commit hook runs `batchsim check` on every commit, so what counts is a fresh process:
interpreter start, imports, grammar load, the check. The reference is yamllint, a linter of the
same kind, on one shipped scenario file, measured in the same run, interleaved with batchsim so
that both see the same machine load. Figures are CPU time (user + system) of the child process,
the best and the median of the runs, and their ratio; the same for `batchsim check` on one
Terraform file (tests/hosts/fixtures/pools.tf: three pools, heredocs, escapes, an interpolation),
which loads python-hcl2's parser as well; then `batchsim check` on a directory of 200 formulas (the
corpus and the library, repeated).

Both tools run as installed packages do, with their modules byte-compiled: an editable install
under `PYTHONDONTWRITEBYTECODE` would recompile batchsim's sources on every start and measure the
compiler instead. So the children run without that variable and with their bytecode in a
temporary `PYTHONPYCACHEPREFIX`, after one untimed warm-up each.

Needs yamllint (`pip install yamllint`; not a dependency of batchsim). python-hcl2 caches its
LALR tables in its own package folder on first use (a few seconds, once); the untimed warm-up run
pays that, as a first commit would.
With `--baseline DIR` (another checkout, e.g. the main branch's worktree), that checkout's
`batchsim check` runs interleaved with this one's, for before/after ratios under the same load.
`--quick` (what CI runs: tests/bench/test_quick_check.py) times 3 runs of each, 50 files instead
of 200, and leaves out the typer + lark floor and the .tf file.
Run: python benchmarks/bench_check.py [--runs N] [--quick] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What any typer + lark linter pays before checking anything: a one-command typer app with
# check's parameters, and the formula grammar loaded from lark's cache. The floor of the design.
FLOOR = f"""
import sys
from enum import Enum
from pathlib import Path
import typer
import lark
app = typer.Typer()
@app.callback()
def root() -> None: ...
class Format(str, Enum):
    text = "text"
@app.command()
def check(paths: list[Path] = typer.Argument(...), output_format: Format = typer.Option(Format.text, "--format"),
          strict: bool = typer.Option(False, "--strict")) -> None:
    grammar = Path({str(ROOT / "batchsim" / "formula" / "grammar.lark")!r}).read_text()
    lark.Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True, cache=True).parse("a = 1;")
sys.argv = ["floor", "check", "x.formula"]
app()
"""
FORMULA = ROOT / "formulas" / "pending-tasks.formula"
YAML = ROOT / "scenarios" / "default.yaml"
TERRAFORM = ROOT / "tests" / "hosts" / "fixtures" / "pools.tf"


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process; a `PYTHONPATH=DIR` first word runs the
    command on that checkout (from DIR: `python -m` puts the current directory first)."""
    cwd = None
    if command[0].startswith("PYTHONPATH="):
        cwd = command[0].removeprefix("PYTHONPATH=")
        env = {**env, "PYTHONPATH": cwd}
        command = command[1:]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def _measure(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, list[tuple[float, float]]]:
    for command in commands.values():
        _run(command, env)  # warm-up: writes the bytecode cache
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():  # interleaved: both see the same load
            results[name].append(_run(command, env))
    return results


def _summary(samples: list[tuple[float, float]]) -> tuple[float, float, float]:
    cpu = [c for c, _ in samples]
    return min(cpu), statistics.median(cpu), min(w for _, w in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command (default 15)")
    parser.add_argument("--baseline", type=Path, help="another checkout whose `batchsim check` runs alongside")
    parser.add_argument("--quick", action="store_true", help="3 runs, 50 files, no floor and no .tf file")
    options = parser.parse_args()
    if options.quick:
        options.runs = 3
    files = 50 if options.quick else 200
    many_name = f"batchsim check, {files} files"
    try:
        yamllint_version = metadata.version("yamllint")
    except metadata.PackageNotFoundError:
        sys.exit("yamllint is needed for the comparison: pip install yamllint")
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        corpus = ROOT.parent / "shared" / "corpus" / "formulas"
        sources = sorted((ROOT / "formulas").rglob("*.formula")) + sorted(corpus.glob("*.formula"))
        many = Path(tmp) / "formulas"
        many.mkdir()
        for i, source in enumerate(islice(cycle(sources), files)):
            (many / f"{i:03d}.formula").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "typer + lark floor": [python, "-c", FLOOR],
            "batchsim check, 1 file": [python, "-m", "batchsim", "check", str(FORMULA)],
            "yamllint, 1 file": [python, "-m", "yamllint", str(YAML)],
            "batchsim check, 1 .tf file": [python, "-m", "batchsim", "check", str(TERRAFORM)],
            many_name: [python, "-m", "batchsim", "check", "--format", "json", str(many)],
        }
        if options.quick:
            del commands["typer + lark floor"], commands["batchsim check, 1 .tf file"]
        if options.baseline is not None:
            here = f"PYTHONPATH={ROOT}"
            base = f"PYTHONPATH={options.baseline.resolve()}"
            for name in ("batchsim check, 1 file", many_name):
                commands[name] = [here, *commands[name]]
                commands[f"baseline {name.removeprefix('batchsim ')}"] = [base, *commands[name][1:]]
        results = _measure(commands, env, options.runs)
    print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{options.runs} runs each, interleaved; CPU time of the child (user + system); "
        f"typer {metadata.version('typer')}, lark {metadata.version('lark')}, yamllint {yamllint_version}"
    )
    for name, samples in results.items():
        best, median, wall = _summary(samples)
        print(
            f"  {name:28s} CPU best {best * 1e3:6.0f} ms, median {median * 1e3:6.0f} ms; wall best {wall * 1e3:6.0f} ms"
        )
    ours, reference = _summary(results["batchsim check, 1 file"]), _summary(results["yamllint, 1 file"])
    print(
        f"batchsim check / yamllint, 1 file: {ours[0] / reference[0]:.2f}x (best), {ours[1] / reference[1]:.2f}x "
        "(median); aim <= 1, bar <= 2"
    )
    if "batchsim check, 1 .tf file" in results:
        terraform = _summary(results["batchsim check, 1 .tf file"])
        print(
            f"batchsim check on a .tf file / yamllint, 1 file: {terraform[0] / reference[0]:.2f}x (best), "
            f"{terraform[1] / reference[1]:.2f}x (median)"
        )
    aim = "; aim <= 0.3 s" if files == 200 else ""
    print(f"{many_name}: best {_summary(results[many_name])[0]:.2f} s CPU{aim}")
    if options.baseline is not None:
        for name in ("batchsim check, 1 file", many_name):
            now, before = _summary(results[name]), _summary(results[f"baseline {name.removeprefix('batchsim ')}"])
            print(f"{name}, this / baseline: {now[0] / before[0]:.2f}x (best), {now[1] / before[1]:.2f}x (median)")


if __name__ == "__main__":
    main()
