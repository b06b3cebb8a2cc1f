"""Every command that reads a scenario takes a shipped scenario's name as `simulate` does: the name
gets past loading (the command then fails on the next thing it checks, which names that thing)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from batchsim.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("arguments", "next_error"),
    [
        (["stress", "default", "--stress", "nope"], "no stress 'nope'"),
        (["compare", "default", "missing.formula", "--seeds", "2"], "missing.formula: no such file"),
        (["optimize", "default", "--template", "nope", "--out", "unused"], "nope"),
        (["sweep", "default", "--grid", "pool.nope=1", "--out", "unused"], "pool.nope"),
    ],
)
def test_a_shipped_name_is_loaded_like_its_file(arguments: list[str], next_error: str) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code != 0
    assert "no such file: default" not in result.output
    assert next_error in result.output


def test_an_unknown_name_is_still_no_such_file() -> None:
    result = runner.invoke(app, ["stress", "no-such-scenario"])
    assert result.exit_code != 0 and "no such file: no-such-scenario" in result.output
