"""The family is part of the search (issue 21 §2): `--template` repeats, `--template all` searches
every shipped template, the family is a categorical choice of one optuna study with each family's
parameters conditional on it, report.md shows the best of each family and result.json names the
winning template."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.measure.clairvoyant import clairvoyant_cost_usd
from batchsim.measure.executors import Executor
from batchsim.optimize.families import Families
from batchsim.optimize.objective import Objective
from batchsim.optimize.search import OWN_FORMULA, optimize
from batchsim.optimize.templates import TemplateError, find_template, list_templates
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SPOT_FIRST = ROOT / "scenarios" / "spot-first.yaml"


def test_two_families_in_one_study_with_conditional_parameters() -> None:
    scenario = load_scenario(SPOT_FIRST, ["duration=2h"])
    share, pending = find_template("spot-share"), find_template("pending-tasks")
    with Executor(workers=2) as executor:
        result = optimize(
            scenario,
            [share, pending],
            Objective(p95_wait_target_s=3600),
            executor,
            budget=8,
            seeds=1,
            final_seeds=2,
            baselines={OWN_FORMULA: scenario.formula_text() or ""},
        )
    trials = result.trials
    assert set(trials["template"]) == {"spot-share", "pending-tasks"}  # both families were tried
    # The first two trials are the families' documented defaults; each trial has only its family's parameters.
    assert list(trials["template"][:2]) == ["spot-share", "pending-tasks"]
    for _, row in trials.iterrows():
        mine = row["template"]
        for template in (share, pending):
            for p in template.parameters:
                value = row[f"{template.name}.{p.name}"]
                assert (template.name == mine) == (not (isinstance(value, float) and math.isnan(value)))
    assert result.families == ["spot-share", "pending-tasks"]
    # The clairvoyant bound comes from the library (the command only prints it), on the fresh seeds.
    expected = sum(clairvoyant_cost_usd(scenario, s) for s in result.fresh_seeds) / len(result.fresh_seeds)
    assert result.lower_bound_usd == pytest.approx(expected)
    assert set(result.family_best) == {"spot-share", "pending-tasks"}
    if result.best is not None:
        assert result.best.template in result.families
        assert result.best.formula == find_template(result.best.template).render(result.best.params)
        assert result.family_best[result.best.template] is result.best
        # The other family's best is measured on the same fresh seeds as the winner.
        for name, found in result.family_best.items():
            if found is not None:
                assert found.template == name and found.baseline.seeds == result.fresh_seeds


def test_a_template_given_twice_is_refused() -> None:
    with pytest.raises(TemplateError, match="given twice"):
        Families([find_template("spot-share"), find_template("spot-share")])


def test_template_all_from_the_command_line(tmp_path: Path) -> None:
    shipped = list_templates()
    assert len(shipped) >= 2
    args = ["optimize", str(SPOT_FIRST), "--template", "all", "--budget", str(len(shipped) + 2), "--seeds", "1"]
    args += ["--final-seeds", "2", "--set", "duration=1h", "--p95-wait-target", "3600", "--workers", "2"]
    result = CliRunner().invoke(app, [*args, "--format", "json", "--out", str(tmp_path)])
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    assert document["templates"] == shipped
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert set(trials["template"]) == set(shipped)  # every family's defaults come first
    assert set(document["families"]) == set(shipped)
    for name, family in document["families"].items():
        assert family["trials"] == int((trials["template"] == name).sum())
    report = (tmp_path / "report.md").read_text()
    assert "Best of each family" in report
    for name in shipped:
        assert f"| {name}" in report
    if document["best"] is not None:
        assert document["template"] == document["best"]["template"] in shipped
        assert f"| {document['template']} (winner) |" in report


def test_repeated_templates_from_the_command_line(tmp_path: Path) -> None:
    args = ["optimize", str(SPOT_FIRST), "--template", "spot-share", "--template", "spot-fallback"]
    args += ["--budget", "4", "--seeds", "1", "--final-seeds", "2", "--set", "duration=1h"]
    args += ["--p95-wait-target", "3600", "--workers", "2", "--format", "json", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    assert document["templates"] == ["spot-share", "spot-fallback"]
    assert set(pd.read_csv(tmp_path / "trials.csv")["template"]) == {"spot-share", "spot-fallback"}
    unknown = CliRunner().invoke(app, [*args[:4], "--template", "no-such", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 1 and "no-such" in unknown.output
