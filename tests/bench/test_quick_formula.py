"""CI runs the quick form of benchmarks/bench_formula.py (issue 26): it runs and prints its figures.
No timing threshold: CI machines vary; the figures are for the reader."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_formula_benchmark_prints_its_rates() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_formula.py"), "--quick", "--baseline", str(ROOT)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300, cwd=ROOT).stdout
    assert re.search(r"^evaluate: [\d,]+ evaluations/s", out, re.MULTILINE), out
    assert re.search(r"this / baseline \d+\.\d+x", out), out
