"""CI's quick form of the search benchmark (issue 26): `benchmarks/bench_candidates.py --quick` runs
a small search on two workers and prints its figures (no timing threshold: CI machines vary)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_search_benchmark_prints_its_figures() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_candidates.py"), "--quick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert re.search(
        r"this code: 16 runs in [0-9.]+ s wall \([0-9.]+ ms a run; 1000 x 5 at this rate [0-9.]+ min\)", line
    )
    assert re.search(r"workers' CPU [0-9.]+ ms a run, [0-9.]+ x wall on 2 workers", line)
    assert re.search(r"trials [0-9a-f]{16}$", line)
