"""The compiled build against the pure package (issue 26), on `bench_engine.py`'s workloads.

Run:  python benchmarks/bench_compiled.py --compiled VENV/bin/python [--rounds N] [--quick] [--parts P]

VENV holds the compiled wheel (README "Compiled build"). `bench_engine.py` runs under that
interpreter with `--code` set to the compiled package's directory ("this") and `--baseline` set to
this source tree (the pure package, "base"): every part in a fresh process, alternating round by
round, best of N CPU seconds, with the ratio base / this (how many times faster the compiled build
is). Which side is compiled is read from the package itself (`batchsim.sim.engine` is a `.so` or a
`.py`). To measure the compiled build against older code instead, run `bench_engine.py --code DIR
--baseline OLD` yourself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_engine.py"
_PROBE = "import os, batchsim.sim.engine as e; print(e.__file__); print(os.path.dirname(os.path.dirname(os.path.dirname(e.__file__))))"


def installed(python: str) -> tuple[str, Path]:
    """The engine's file and the directory holding the `batchsim` package of `python` (run from
    outside the tree, without PYTHONPATH, so that it is the installed one)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    lines = subprocess.run(
        [python, "-c", _PROBE], env=env, cwd=ROOT / "benchmarks", capture_output=True, text=True, check=True
    ).stdout.split("\n")
    return lines[0], Path(lines[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiled", required=True, help="a Python whose batchsim is the compiled wheel")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per side (best of)")
    parser.add_argument("--quick", action="store_true", help="bench_engine.py --quick (a few seconds)")
    parser.add_argument("--parts", default="spot,mixed,day,week", help="bench_engine.py's parts")
    args = parser.parse_args()
    engine, site = installed(args.compiled)
    kind = "compiled" if engine.endswith(".so") else "pure Python"
    print(f"this: batchsim.sim.engine from {engine} ({kind}); base: the pure package of {ROOT}")
    command = [args.compiled, str(BENCH), "--code", str(site), "--baseline", str(ROOT)]
    command += ["--rounds", str(args.rounds), "--parts", args.parts, *(["--quick"] if args.quick else [])]
    sys.stdout.flush()
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
