"""bench_compiled.py's quick form runs and prints its figures (issue 26: CI runs a quick form of each
benchmark). Here both sides are this interpreter's package, so it says pure Python on both; CI's
compiled-build section (.ci/run) runs it against the installed compiled wheel. No timing threshold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_form_prints_both_sides_and_the_ratios() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_compiled.py"),
            "--compiled",
            sys.executable,
            "--quick",
            "--rounds",
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    assert "this: batchsim.sim.engine from" in out
    assert out.count("base / this:") == 4  # spot, mixed, day, week
    assert out.count("engine / simpy") == 4  # this and base, on both reference models
