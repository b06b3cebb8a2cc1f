"""CI runs the quick form of benchmarks/bench_check.py (issue 26): it runs and prints its figures.
No timing threshold: CI machines vary; the figures are for the reader."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    importlib.util.find_spec("yamllint") is None, reason="yamllint is the reference: pip install yamllint"
)
def test_the_quick_check_benchmark_prints_its_figures() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_check.py"), "--quick", "--baseline", str(ROOT)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300, cwd=ROOT).stdout
    assert re.search(r"batchsim check / yamllint, 1 file: \d+\.\d+x", out), out
    assert re.search(r"batchsim check, 50 files: best \d+\.\d+ s CPU", out), out
    assert re.search(r"batchsim check, 1 file, this / baseline: \d+\.\d+x", out), out
