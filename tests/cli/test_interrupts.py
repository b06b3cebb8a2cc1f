"""Ctrl-C keeps what was done (issue 23 §2): `compare` and `stress` keep every finished run and say
how many, `simulate` says where it stopped; all exit 130 (128 + SIGINT), as `sweep` does."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMULAS = ROOT / "formulas"


def _interrupt(args: list[str], after_s: float) -> tuple[int, str]:
    """Run `batchsim ARGS`, press Ctrl-C (SIGINT to the process group, as a terminal does) after `after_s`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "batchsim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    time.sleep(after_s)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def test_ctrl_c_in_compare_keeps_every_finished_run(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    formulas = [str(FORMULAS / "pending-tasks.formula"), str(FORMULAS / "job-schedule-aware.formula")]
    args = ["compare", "default", *formulas, "--seeds", "30", "--workers", "1", "--set", "duration=2d"]
    code, stderr = _interrupt([*args, "--out", str(out)], after_s=10.0)
    assert code == 130, stderr
    found = re.search(r"interrupted: (\d+) of 60 runs finished, saved in ", stderr)
    assert found, stderr
    kept = sorted(p for p in (out / "runs").glob("*/seed-*") if (p / "summary.json").is_file())
    assert 0 < len(kept) == int(found.group(1)) < 60
    assert "Traceback" not in stderr


def test_ctrl_c_in_stress_keeps_the_finished_summaries(tmp_path: Path) -> None:
    out = tmp_path / "st"
    args = ["stress", "default", "--seeds", "10", "--workers", "1", "--set", "duration=2d", "--out", str(out)]
    code, stderr = _interrupt(args, after_s=10.0)
    assert code == 130, stderr
    found = re.search(r"interrupted: (\d+) of (\d+) runs finished, saved in (\S+)", stderr)
    assert found, stderr
    rows = json.loads(Path(found.group(3)).read_text(encoding="utf-8"))
    assert 0 < len(rows) == int(found.group(1)) < int(found.group(2))
    assert {"formula", "stress", "seed", "summary"} <= set(rows[0])


def test_ctrl_c_in_simulate_says_it_was_interrupted() -> None:
    code, stderr = _interrupt(["simulate", "default", "--set", "duration=60d"], after_s=5.0)
    assert code == 130, stderr
    assert re.search(r"interrupted: the simulation stopped at \S+ of 60d; nothing was written", stderr), stderr
    assert "Traceback" not in stderr
