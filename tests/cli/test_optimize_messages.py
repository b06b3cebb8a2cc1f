"""`optimize` says when its settings cannot work (issue 23 §3): successive halving with a budget too
small for its reduction warns before the search, and a plain search does not mention halving."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from batchsim.cli import app

runner = CliRunner()
SMALL = [
    "optimize",
    "default",
    "--template",
    "spot-share",
    "--seeds",
    "2",
    "--final-seeds",
    "2",
    "--set",
    "duration=1h",
]


def test_halving_with_a_small_budget_warns(tmp_path: Path) -> None:
    result = runner.invoke(app, [*SMALL, "--budget", "3", "--fidelity", "halving", "--out", str(tmp_path / "o")])
    assert result.exit_code in (0, 1), result.output
    assert "warning: --fidelity halving with --budget 3 and --reduction 16: too few trials" in result.stderr
    assert "give --budget 64 or more" in result.stderr


def test_a_plain_search_does_not_mention_halving(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = runner.invoke(app, [*SMALL, "--budget", "3", "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    assert "stopped early" not in result.output
    assert "warning: --fidelity" not in result.stderr
    assert all("stopped early" not in p.read_text(encoding="utf-8") for p in out.glob("*.md"))


def test_a_bad_grid_value_is_named_as_a_grid_value(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["sweep", "default", "--grid", "pool.initial_dedicated=2,x", "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 1
    assert "--grid pool.initial_dedicated='x': Input should be a valid integer" in result.output
    assert "--set" not in result.output
