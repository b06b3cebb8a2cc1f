"""A wait or deadline target of 0 is a usage error in optimize and plan, not a ZeroDivisionError.

A violation is measured as a fraction of the target (objective.py), so 0 cannot rank runs; before
this check `optimize --p95-wait-target 0` ended in a traceback after the baseline run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchsim.cli import app

SEARCHES = [
    ["optimize", "default", "--template", "spot-share", "--budget", "2", "--seeds", "1"],
    ["plan", "default", "--size", "Standard_D2s_v3", "--budget", "2", "--seeds", "1"],
]


@pytest.mark.parametrize("command", SEARCHES, ids=["optimize", "plan"])
@pytest.mark.parametrize(
    ("flag", "named"),
    [
        (["--p95-wait-target", "0"], "a wait target is more than 0 seconds"),
        (["--objective", "deadline", "--deadline-miss-target", "0"], "missed deadlines is more than 0"),
    ],
    ids=["wait", "deadline"],
)
def test_a_zero_target_is_refused_before_any_run(
    tmp_path: Path, command: list[str], flag: list[str], named: str
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [*command, *flag, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_the_library_refuses_a_zero_target_too() -> None:
    from batchsim.optimize.objective import Objective

    with pytest.raises(ValueError, match="more than 0"):
        Objective(p95_wait_target_s=0.0)
