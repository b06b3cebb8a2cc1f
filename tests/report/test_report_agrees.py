"""The report says what the terminal says (issue 23 §1): the table across seeds cell for cell, costs
with their period, censored waits marked the same way, plots that show every series' true peak,
a plain price source, and the stress report's demand line and shaded stress window."""

from __future__ import annotations

import html
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from typer.testing import CliRunner

import batchsim as bs
from batchsim.cli import app
from batchsim.report import load_run, plots, render_report, run_info, write_run
from batchsim.report.tables import cost_periods, cost_text, period_text

ROOT = Path(__file__).resolve().parents[2]
FORMULAS = ROOT / "formulas"
DAY_S = 86400.0


def _visible_text(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _table_lines(output: str, first_header: str) -> list[list[str]]:
    """The terminal table's rows as cells (columns are separated by two or more spaces)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("mean ±"):
            break
        rows.append([cell for cell in re.split(r"\s{2,}", line.strip()) if cell])
    return rows


def test_the_compare_report_carries_the_terminals_table_across_seeds(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    formulas = [str(FORMULAS / "pending-tasks.formula"), str(FORMULAS / "job-schedule-aware.formula")]
    args = ["compare", "default", *formulas, "--seeds", "2", "--set", "duration=2h", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = _table_lines(result.output, "formula")
    assert len(rows) == 2 and all("±" in row[1] for row in rows)  # each mean with its interval
    page = _visible_text((out / "report.html").read_text(encoding="utf-8"))
    for row in rows:
        for cell in row:
            assert cell in page, cell  # cell for cell: means, intervals, paired differences
    assert "across 2 seeds" in page and "paired difference against pending-tasks.formula" in page
    assert "pending-tasks.formula (2 seeds)" in page  # the plots overlay the seeds, labelled
    assert "cost (USD) per 2 h" in result.output and "cost (USD) per 2 h" in page
    # Every seed's run is kept, not the first seed only.
    assert len(list((out / "runs").glob("*/seed-*"))) == 4


def test_report_of_seed_run_directories_gives_the_same_table_as_compare(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    formulas = [str(FORMULAS / "pending-tasks.formula"), str(FORMULAS / "job-schedule-aware.formula")]
    compared = CliRunner().invoke(
        app, ["compare", "default", *formulas, "--seeds", "2", "--set", "duration=2h", "--out", str(out)]
    )
    assert compared.exit_code == 0, compared.output
    dirs = [str(p) for p in sorted((out / "runs" / "pending-tasks.formula").glob("seed-*"))]
    dirs += [str(p) for p in sorted((out / "runs" / "job-schedule-aware.formula").glob("seed-*"))]
    reported = CliRunner().invoke(app, ["report", *dirs, "--out", str(tmp_path / "r.html")])
    assert reported.exit_code == 0, reported.output
    # The same seeds measured by the same code: the same cells (the name column aside).
    assert [r[1:] for r in _table_lines(reported.output, "set-up")] == [
        r[1:] for r in _table_lines(compared.output, "formula")
    ]
    page = _visible_text((tmp_path / "r.html").read_text(encoding="utf-8"))
    for row in _table_lines(compared.output, "formula"):
        for cell in row[1:]:
            assert cell in page, cell


def test_costs_carry_their_period_per_day_and_per_month() -> None:
    # The Azure pricing calculator prices a month as 730 hours.
    assert cost_periods(30 * DAY_S) == [("30 days", 1.0), ("day", 1 / 30), ("month", 730 * 3600 / (30 * DAY_S))]
    assert (
        cost_text(283.23, 0.97, 30 * DAY_S)
        == "283.23 ± 0.97 USD per 30 days (9.44 ± 0.03 per day, 287.16 ± 0.98 per month)"
    )
    assert cost_text(2.5, None, 3 * 3600) == "2.50 USD per 3 h (20.00 per day)"  # under a week: no month
    assert cost_text(1.0, None, DAY_S) == "1.00 USD per 1 day"
    assert period_text(5400) == "1.5 h"


def test_the_report_marks_a_censored_p95_as_the_terminal_does(tmp_path: Path) -> None:
    # A pool far too small for its work: tasks are still waiting at the end, so waits are lower bounds.
    overrides = {"duration": "2h", "pool.autoscale": None, "pool.initial_dedicated": 1, "pool.initial_spot": 0}
    scenario = bs.load_scenario(ROOT / "scenarios" / "default.yaml", overrides)
    result = bs.simulate(scenario, seed=1)
    assert result.summary["wait_censored"] and result.summary["tasks_never_started"] > 0
    out = write_run(result, tmp_path / "run", run_info(scenario, result.summary, overrides))
    never = result.summary["tasks_never_started"]
    marked = f"≥ {result.summary['wait_s_p95']:.0f} s ({never} never started)"
    page = _visible_text(render_report([load_run(out)]))
    assert marked in page
    terminal = CliRunner().invoke(
        app, ["simulate", "default", "--set", "duration=2h", "--set", "pool.autoscale=null",
              "--set", "pool.initial_dedicated=1", "--set", "pool.initial_spot=0"],
        env={"COLUMNS": "200"},  # one line per row
    )  # fmt: skip
    assert terminal.exit_code == 0, terminal.output
    # The terminal's row is mean / p95 / max, each marked, then the count once.
    assert f"/ ≥ {result.summary['wait_s_p95']:.0f} s /" in terminal.output
    assert f"({never} never started)" in terminal.output


def test_the_price_source_is_named_not_a_data_file(tmp_path: Path) -> None:
    scenario = bs.load_scenario(ROOT / "scenarios" / "default.yaml", {"duration": "1h"})
    result = bs.simulate(scenario, seed=1)
    out = write_run(result, tmp_path / "run", run_info(scenario, result.summary))
    page = _visible_text(render_report([load_run(out)]))
    assert re.search(r"Azure Retail Prices, \d{4}-\d{2}-\d{2}", page)
    assert "testdata" not in page and ".json" not in page


def _spiky_run(horizon_s: float = 30 * DAY_S) -> Any:
    """A 30-day run with 2 Spot nodes all along and 40 more for two minutes: the peak is 42."""
    spike_s = 12.3 * DAY_S
    nodes = pd.DataFrame(
        {
            "node_id": [f"n{i}" for i in range(42)],
            "kind": ["spot"] * 42,
            "state": ["running"] * 42,
            "billed": [True] * 42,
            "start_s": [0.0, 0.0] + [spike_s] * 40,
            "end_s": [horizon_s, horizon_s] + [spike_s + 120.0] * 40,
        }
    )
    evaluations = pd.DataFrame(
        {"time_s": [0.0, spike_s - 300, spike_s + 300], "target_dedicated": [0, 0, 0], "target_spot": [2, 42, 2]}
    )
    pending = pd.DataFrame({"name": "$PendingTasks", "time_s": [0.0, spike_s, spike_s + 30], "value": [0.0, 42.0, 0.0]})
    summary = {"simulated_s": horizon_s, "price_dedicated_per_hour": 0.1, "price_spot_per_hour": 0.02, "seed": 1}
    return SimpleNamespace(
        name="spiky", summary=summary, nodes=nodes, evaluations=evaluations, metrics=pending,
        tasks=pd.DataFrame({"wait_s": [1.0]}), info={},
    )  # fmt: skip


def _highest(ax: Any) -> float:
    """The highest y any line or shaded area of the axes reaches."""
    tops = [float(np.nanmax(line.get_ydata())) for line in ax.get_lines() if len(line.get_ydata())]
    for collection in ax.collections:
        if isinstance(collection, PolyCollection):
            for path in collection.get_paths():
                tops.append(float(path.vertices[:, 1].max()))
    return max(tops)


@pytest.mark.parametrize("several", [False, True])
def test_every_plot_shows_a_short_peak_the_metrics_count(several: bool) -> None:
    run = _spiky_run()
    runs = [run, _spiky_run()] if several else [run]
    labels = ["a", "b"] if several else None
    nodes = plots.nodes_over_time(runs, ax=Figure().subplots(), labels=labels)
    assert _highest(nodes) == pytest.approx(42)  # 40 Spot nodes for two minutes of 30 days
    rate = plots.cost_rate(runs, ax=Figure().subplots(), labels=labels)
    assert _highest(rate) == pytest.approx(42 * 0.02)  # the cost-per-hour plot agrees with the nodes plot
    queue_run = _spiky_run()
    queue_run.metrics = pd.DataFrame(
        {"name": "$ActiveTasks", "time_s": [0.0, 12.3 * DAY_S, 12.3 * DAY_S + 30], "value": [0.0, 500.0, 0.0]}
    )
    queue = plots.queue_length([queue_run], ax=Figure().subplots())
    assert _highest(queue) == pytest.approx(500)


def test_binned_means_keep_the_node_hours() -> None:
    run = _spiky_run()
    edges = plots._edges([run])
    mean, peak = plots._counts(run.nodes, edges, "spot", ("running",))
    node_hours = float(np.sum(mean * np.diff(edges)) / 3600)
    assert node_hours == pytest.approx(2 * 30 * 24 + 40 * 120 / 3600)  # 2 nodes all month + the spike
    assert peak.max() == 42 and mean.max() < 42


def test_the_stress_plot_has_its_demand_line_and_shaded_window() -> None:
    runs = [_spiky_run(), _spiky_run()]
    burst = runs[1].metrics
    burst.loc[burst["value"] > 0, "value"] = 60.0  # demand above every other series: only its line reaches 60
    window = (10 * DAY_S, 2 * 3600.0)
    ax = plots.nodes_over_time(runs, ax=Figure().subplots(), labels=["baseline", "burst"], windows=[window])
    labels = ax.get_legend_handles_labels()[1]
    assert "dotted: demand" in labels and "stress window" in labels
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":" and len(line.get_ydata())]
    assert len(dotted) == 2  # one demand line per run
    assert _highest(ax) == pytest.approx(60)
    spans = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_label() == "stress window"]
    assert len(spans) == 1


def test_the_sweep_report_carries_the_sweeps_table(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    grid = ["--grid", "pool.spot.eviction_rate_per_hour=0.05,0.5"]
    result = CliRunner().invoke(
        app, ["sweep", "default", *grid, "--seeds", "2", "--set", "duration=2h", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = _table_lines(result.output, "pool.spot.eviction_rate_per_hour")
    assert len(rows) == 2 and "cost (USD) per 2 h" in result.output
    page = _visible_text((out / "report.html").read_text(encoding="utf-8"))
    for row in rows:
        for cell in row:
            assert cell in page, cell
    assert "eviction_rate_per_hour=0.5 (2 seeds)" in page


def test_a_multi_seed_simulate_reports_its_table_across_seeds(tmp_path: Path) -> None:
    out = tmp_path / "seeds"
    result = CliRunner().invoke(app, ["simulate", "default", "--seeds", "3", "--set", "duration=2h", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = _table_lines(result.output, "set-up")
    assert len(rows) == 1 and "±" in rows[0][1] and "across 3 seeds" in result.output
    summaries = [load_run(out / f"seed-{s}").summary for s in (1, 2, 3)]
    mean = sum(s["cost_usd"] for s in summaries) / 3
    assert rows[0][1].startswith(f"{mean:.2f} ± ")  # the mean of the three runs written
    page = _visible_text((out / "report.html").read_text(encoding="utf-8"))
    for cell in rows[0]:
        assert cell in page, cell
    assert "working-day (3 seeds)" in page
    both = CliRunner().invoke(app, ["simulate", "default", "--seeds", "2", "--seed", "4"])
    assert both.exit_code == 2 and "--seed or --seeds" in both.output
