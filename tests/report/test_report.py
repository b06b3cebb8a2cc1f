"""Reports and plots as planners read them: what was simulated, runs labelled by what differs, every
autoscale decision, plots in clock time on axes of one unit each, drawn without pyplot."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.integrate import trapezoid

import batchsim as bs
from batchsim.report import load_run, plots, render_report, run_info, write_run
from batchsim.report.describe import decisions, run_labels

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, name: str, scenario: str = "default.yaml", seed: int = 1, **overrides: object) -> Path:
    settings = {"duration": "3h", **overrides}
    loaded = bs.load_scenario(ROOT / "scenarios" / scenario, settings)
    result = bs.simulate(loaded, seed=seed)
    out = tmp_path / name
    write_run(result, out, run_info(loaded, result.summary, settings, ROOT / "scenarios" / scenario))
    return out


class _Text(HTMLParser):
    """The report's visible text, and its `<details>` elements."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.details = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.details += tag == "details"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_report_says_what_was_simulated(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path, "a", **{"pool.spot.eviction_rate_per_hour": 0.2}))
    page = render_report([run])
    parser = _Text()
    parser.feed(page)
    text = " ".join(parser.text)
    formula = (run.info["formula"] or {})["text"]
    for fact in (
        "working-day",  # scenario name
        "Standard_D2s_v3",
        "eastus",
        "linux",
        "$0.0960 dedicated",
        "Azure Retail Prices, 2026-",  # the price source, as a reader names it
        "pool.spot.eviction_rate_per_hour=0.2",  # overrides
        "2026-01-05 00:00 UTC",  # start
        "3h",  # horizon
        "unfinished at the end",
        "deadlines met",
    ):
        assert fact in text, fact
    assert "maxNumberofVMs = 25;" in formula and "maxNumberofVMs = 25;" in text  # the formula's text
    assert str(run.summary["seed"]) in text


def test_several_runs_are_labelled_by_what_differs(tmp_path: Path) -> None:
    seeds = [load_run(_run(tmp_path, f"s{s}", seed=s)) for s in (1, 2, 3)]
    assert run_labels(seeds) == ["seed 1", "seed 2", "seed 3"]
    evictions = [
        load_run(_run(tmp_path, "low")),
        load_run(_run(tmp_path, "high", **{"pool.spot.eviction_rate_per_hour": 0.5})),
    ]
    # The first run did not override the key: its label shows the scenario's own value.
    assert run_labels(evictions) == ["eviction_rate_per_hour=0.05", "eviction_rate_per_hour=0.5"]
    formulas = [
        load_run(_run(tmp_path, "f1", "spot-first.yaml")),
        load_run(
            _run(tmp_path, "f2", "spot-first.yaml", **{"pool.autoscale.formula_file": "../formulas/slot-aware.formula"})
        ),
    ]
    assert run_labels(formulas) == ["spot-first.formula", "slot-aware.formula"]


def test_every_decision_is_listed_and_no_cell_says_nan(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path, "a", duration="8h"))
    ev = run.evaluations
    targets = list(zip(ev["target_dedicated"], ev["target_spot"], strict=True))
    before = [(run.info["pool"]["initial_dedicated"], run.info["pool"]["initial_spot"]), *targets[:-1]]
    changed = sum(1 for b, a in zip(before, targets, strict=True) if a != b)
    assert changed > 12  # more than the report shows before its <details>
    assert len(decisions(run)) == changed
    page = render_report([run])
    body = page.split("id='autoscale-decisions'", 1)[1]
    assert body.count("<tr>") == changed + 2  # each table has a header row
    parser = _Text()
    parser.feed(page)
    assert parser.details >= 2  # the formula text and the rest of the decisions, collapsed
    assert not re.search(r"\bnan\b", " ".join(parser.text), re.IGNORECASE)


def test_a_failed_evaluation_shows_its_error_in_the_timeline(tmp_path: Path) -> None:
    # Fails until an hour of samples exists (GetSample with 100 % required), then succeeds.
    formula = "$TargetDedicatedNodes = max(1, avg($PendingTasks.GetSample(TimeInterval_Hour, 100)));"
    run = load_run(_run(tmp_path, "err", **{"pool.autoscale.formula": formula}))
    failed = [d for d in decisions(run) if d.error]
    assert failed and "sample" in failed[0].error.lower()
    assert "<th>error</th>" in render_report([run])


def test_plots_are_clock_time_and_one_unit_per_axis(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path, "a", **{"pool.spot.eviction_rate_per_hour": 0.5}))
    figure = Figure()
    nodes = plots.nodes_over_time(run, ax=figure.add_subplot(3, 1, 1))
    evictions = plots.preemptions(run, ax=figure.add_subplot(3, 1, 2))
    assert nodes.get_ylabel() == "nodes" and evictions.get_ylabel() == "evictions per hour"
    assert [line.get_label() for line in evictions.get_lines()] == []  # bars of evictions only, no node counts
    assert sum(p.get_height() for p in evictions.patches) == run.summary["preemptions"]
    assert figure.axes == [nodes, evictions]  # no twin axis hiding a second unit
    assert nodes.get_xlabel() == "time (UTC)"
    import matplotlib.dates as mdates

    start, end = (mdates.num2date(x) for x in (nodes.dataLim.x0, nodes.dataLim.x1))
    assert (start.year, start.month, start.day, start.hour) == (2026, 1, 5, 0)
    assert (end - start).total_seconds() == pytest.approx(3 * 3600, abs=60)


def _top(collection: object) -> tuple[np.ndarray, np.ndarray]:
    """The upper edge of a filled area: the largest y at each x of its outline."""
    vertices = collection.get_paths()[0].vertices  # type: ignore[attr-defined]
    xs = np.unique(vertices[:, 0])
    return xs, np.array([vertices[vertices[:, 0] == x, 1].max() for x in xs])


def test_the_cost_per_hour_curve_adds_up_to_the_cost(tmp_path: Path) -> None:
    # Oracle: the area under USD per hour over the run is what it cost (billing is per second).
    run = load_run(_run(tmp_path, "a", duration="6h"))
    ax = plots.cost_rate(run, ax=Figure().subplots())
    assert ax.get_ylabel() == "USD per hour"
    dedicated, stacked = (_top(c) for c in ax.collections[:2])
    tolerance = 0.03 * run.summary["cost_usd"]  # the curve is sampled on a grid of 600 points
    for (days, usd_per_hour), cost in ((dedicated, "cost_dedicated_usd"), (stacked, "cost_usd")):
        assert trapezoid(usd_per_hour, (days - days[0]) * 24) == pytest.approx(run.summary[cost], abs=tolerance)


def test_plots_take_a_result_and_several_runs_overlay_on_one_axis(tmp_path: Path) -> None:
    loaded = bs.load_scenario(ROOT / "scenarios" / "default.yaml", {"duration": "2h"})
    results = [bs.simulate(loaded, seed=s) for s in (1, 2)]
    for draw in (plots.nodes_over_time, plots.queue_length, plots.wait_distribution, plots.cost_rate):
        ax = draw(results, ax=Figure().subplots(), labels=["seed 1", "seed 2"])
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("seed 1" in t for t in labels) and any("seed 2" in t for t in labels)
    bars = plots.cost_breakdown(results, ax=Figure().subplots(), labels=["seed 1", "seed 2"])
    assert [t.get_text() for t in bars.get_yticklabels()] == ["seed 1", "seed 2"]


def test_reports_leave_pyplot_and_the_backend_alone(tmp_path: Path) -> None:
    out = _run(tmp_path, "a")
    code = f"""
import sys, matplotlib
# The raw setting: reading rcParams["backend"] or get_backend() would itself resolve it through pyplot.
backend = dict.__getitem__(matplotlib.rcParams, "backend")
from batchsim.report import write_markdown, write_report
write_report([{str(out)!r}], {str(tmp_path / "r.html")!r})
write_markdown([{str(out)!r}], {str(tmp_path / "r.md")!r})
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
assert dict.__getitem__(matplotlib.rcParams, "backend") == backend, "the backend was switched"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_no_module_or_notebook_switches_the_backend() -> None:
    sources = [*(ROOT / "batchsim").rglob("*.py"), *(ROOT / "notebooks").glob("*.ipynb")]
    assert [str(p) for p in sources if "matplotlib.use(" in p.read_text(encoding="utf-8")] == []
