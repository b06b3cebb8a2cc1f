"""`batchsim simulate`, `batchsim demo`, `batchsim report`, `batchsim scenario schema` as users run them."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.sim.result import SUMMARY_KEYS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_simulate_json_has_the_fixed_summary_keys(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "simulate",
            str(ROOT / "scenarios" / "default.yaml"),
            "--set",
            "duration=4h",
            "--seed",
            "3",
            "--out",
            str(out),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(SUMMARY_KEYS) <= set(summary) and summary["seed"] == 3
    assert json.loads((out / "summary.json").read_text()) == summary
    assert {p.stem for p in out.iterdir()} >= {"summary", "tasks", "nodes", "evaluations", "metrics"}


def test_simulate_text_prints_a_table() -> None:
    result = runner.invoke(app, ["simulate", str(ROOT / "scenarios" / "default.yaml"), "--set", "duration=2h"])
    assert result.exit_code == 0 and "wait mean / p95 / max" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.yaml"], "nope.yaml: no such file"),
        (["SCEN", "--set", "pool.initial_dedicatd=2"], "--set key 'pool.initial_dedicatd': unknown key"),
        (
            ["SCEN", "--set", "pool.autoscale.formula=$TargetDedicatedNodes = (1"],
            "pool.autoscale.formula: Line 1, Col 27: AutoScalingFormulaSyntaxError",
        ),
        (["SCEN", "--set", "pool.autoscale.formula_file=missing.formula"], "pool.autoscale.formula_file: cannot read"),
        (["SLOTS", "--set", "pool.autoscale.formula_file=missing.formula"], "formula_file: cannot read"),
    ],
)
def test_bad_input_is_one_clear_message(args: list[str], message: str) -> None:
    files = {"SCEN": "default.yaml", "SLOTS": "pathology-slot-blind.yaml"}
    args = [str(ROOT / "scenarios" / files[a]) if a in files else a for a in args]
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self.ids.append(dict(attrs).get("id") or "")
        if tag == "img" and (dict(attrs).get("src") or "").startswith("data:image/png;base64,"):
            self.images += 1


def test_demo_runs_with_no_arguments_and_writes_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "batchsim demo: working-day" in result.output
    out = tmp_path / "batchsim-demo"
    assert (out / "summary.json").is_file() and (out / "report.html").is_file()
    assert (out / "scenario.yaml").read_text() == (ROOT / "scenarios" / "default.yaml").read_text()
    info = json.loads((out / "run.json").read_text())
    assert info["scenario"] == "working-day" and info["formula"]["text"].startswith("// The docs' pending-tasks")
    parser = _Sections()
    parser.feed((out / "report.html").read_text())
    assert parser.ids == [
        "setup",
        "summary",
        "cost",
        "cost-per-hour",
        "nodes",
        "queue",
        "waits",
        "preemptions",
        "autoscale-decisions",
    ]
    assert parser.images == 6


def test_report_compares_runs_side_by_side(tmp_path: Path) -> None:
    scenario = str(ROOT / "scenarios" / "spot-first.yaml")
    for name, rate in (("low", "0.05"), ("high", "0.5")):
        args = [
            "simulate",
            scenario,
            "--set",
            "duration=3h",
            "--set",
            f"pool.spot.eviction_rate_per_hour={rate}",
            "--out",
            str(tmp_path / name),
        ]
        assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(
        app, ["report", str(tmp_path / "low"), str(tmp_path / "high"), "--out", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text()
    # Labelled by what differs, each figure overlaid once, each run's nodes plot in a <details>.
    assert "eviction_rate_per_hour=0.05" in html and "eviction_rate_per_hour=0.5" in html
    assert html.count("data:image/png;base64,") == 6 + 2
    markdown = runner.invoke(
        app,
        [
            "report",
            str(tmp_path / "low"),
            str(tmp_path / "high"),
            "--format",
            "md",
            "--out",
            str(tmp_path / "md" / "r.md"),
        ],
    )
    assert markdown.exit_code == 0, markdown.output
    text = (tmp_path / "md" / "r.md").read_text()
    assert "## Autoscale decisions" in text and text.count("![") == 6
    assert "## What was simulated" in text and "eviction_rate_per_hour=0.5" in text
    assert len(list((tmp_path / "md").glob("*.png"))) == 6
    bad = runner.invoke(app, ["report", str(tmp_path)])
    assert bad.exit_code == 1 and "no summary.json" in bad.output


def test_scenario_schema() -> None:
    result = runner.invoke(app, ["scenario", "schema"])
    assert result.exit_code == 0 and "workload" in json.loads(result.output)["properties"]
