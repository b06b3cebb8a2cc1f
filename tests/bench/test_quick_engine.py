"""The engine benchmark's quick form runs and prints every figure (issue 26: CI runs a quick form).

No timing threshold: CI machines vary; the figures are for the README's speed table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_engine_benchmark_prints_its_figures() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_engine.py"), "--quick"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for part in ("spot:", "mixed:", "day:", "week:"):
        assert part in out
    assert out.count("engine / simpy") == 2
    assert out.count("events/s") == 4
    assert "peak" in out


def test_baseline_must_hold_the_engine() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_engine.py"), "--quick", "--baseline", str(ROOT / "docs")],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "no batchsim/sim/engine.py" in done.stderr
