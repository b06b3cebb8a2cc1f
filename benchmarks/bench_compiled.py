"""The compiled build against the pure package (issue 26), on `bench_engine.py`'s three workloads.

Run:  python benchmarks/bench_compiled.py --compiled VENV/bin/python [--rounds N] [--quick]

VENV holds the compiled wheel (README "Compiled build"). Both sides run `bench_engine.py` with that
same interpreter and the same dependencies, in alternating rounds: the compiled side imports the
installed package, the pure side this source tree's (`PYTHONPATH`). Each figure is the best of the
rounds of the CPU time `bench_engine.py` measures in its own process; the ratio is compiled / pure.
Which side is compiled is read from the package itself (`batchsim.sim.engine` is a `.so` or a `.py`).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_engine.py"
# bench_engine.py's lines: "1. ... full engine 3.06 s ... ratio 1.00", "3. ... : 0.73 s", "2. ... : 19.0 s".
_FIGURES = {
    "simpy ratio": re.compile(r"^1\..*ratio ([0-9.]+)"),
    "simpy-model engine s": re.compile(r"^1\..*full engine ([0-9.]+) s"),
    "50-node day s": re.compile(r"^3\..*: ([0-9.]+) s"),
    "1000-node week s": re.compile(r"^2\..*: ([0-9.]+) s"),
}


def _env(pure: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pure:
        env["PYTHONPATH"] = str(ROOT)
    return env


def engine_file(python: str, pure: bool) -> str:
    """The file `batchsim.sim.engine` is imported from on that side (run from outside the tree)."""
    probe = "import batchsim.sim.engine as e; print(e.__file__)"
    return subprocess.run(
        [python, "-c", probe], env=_env(pure), cwd=ROOT / "benchmarks", capture_output=True, text=True, check=True
    ).stdout.strip()


def one_round(python: str, pure: bool, quick: bool) -> dict[str, float]:
    # The script's own directory is first on its path, not this tree: the compiled side imports
    # the installed package, the pure side the tree through PYTHONPATH.
    out = subprocess.run(
        [python, str(BENCH), *(["--quick"] if quick else [])],
        env=_env(pure),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures: dict[str, float] = {}
    for line in out.splitlines():
        for name, pattern in _FIGURES.items():
            if match := pattern.match(line):
                figures[name] = float(match.group(1))
    missing = set(_FIGURES) - set(figures)
    if missing:
        raise SystemExit(f"bench_engine.py printed no {', '.join(sorted(missing))}:\n{out}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiled", required=True, help="a Python whose batchsim is the compiled wheel")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per side (best of)")
    parser.add_argument("--quick", action="store_true", help="bench_engine.py --quick (a few seconds)")
    args = parser.parse_args()
    sides = {"compiled": engine_file(args.compiled, pure=False), "pure": engine_file(args.compiled, pure=True)}
    for side, path in sides.items():
        print(f"{side}: batchsim.sim.engine from {path} ({'compiled' if path.endswith('.so') else 'pure Python'})")
    best: dict[str, dict[str, float]] = {"compiled": {}, "pure": {}}
    for _ in range(args.rounds):
        for side in ("pure", "compiled"):
            for name, value in one_round(args.compiled, side == "pure", args.quick).items():
                best[side][name] = min(value, best[side].get(name, value))
    load_1m = os.getloadavg()[0]
    print(f"best of {args.rounds} rounds each, CPU seconds; load average (1 min) at the end {load_1m:.2f}")
    print(f"{'figure':<22} {'pure':>8} {'compiled':>9} {'compiled / pure':>16}")
    for name in _FIGURES:
        pure, compiled = best["pure"][name], best["compiled"][name]
        print(f"{name:<22} {pure:>8.2f} {compiled:>9.2f} {compiled / pure:>16.2f}")


if __name__ == "__main__":
    sys.exit(main())
