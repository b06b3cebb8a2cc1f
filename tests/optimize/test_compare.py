"""`batchsim compare`: formulas on the same workload and seeds, paired differences against the first."""

from __future__ import annotations

import json
import math
from pathlib import Path

from typer.testing import CliRunner

from batchsim.cli import app

ROOT = Path(__file__).resolve().parents[2]
SPOT_FIRST = ROOT / "scenarios" / "spot-first.yaml"
FORMULA = (ROOT / "formulas" / "spot-first.formula").read_text()


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _compare(tmp_path: Path, *formulas: Path, extra: tuple[str, ...] = ()) -> list[dict[str, object]]:
    args = ["compare", str(SPOT_FIRST), *map(str, formulas), "--set", "duration=3h", "--seeds", "4", "--workers", "2"]
    result = CliRunner().invoke(app, [*args, *extra, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = _strict(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_the_same_formula_twice_differs_by_exactly_nothing(tmp_path: Path) -> None:
    """Common random numbers: same workload, same streams, so the same formula gives the same runs."""
    (tmp_path / "a.formula").write_text(FORMULA)
    (tmp_path / "b.formula").write_text(FORMULA)
    first, second = _compare(tmp_path, tmp_path / "a.formula", tmp_path / "b.formula")
    for key in ("cost_usd", "wait_s_p95", "tasks_never_started"):
        assert second[key] == first[key] and second[f"{key}_diff"] == 0 and second[f"{key}_diff_ci"] == 0
        assert first[f"{key}_ci"] > 0  # while the seeds themselves differ


def test_paired_intervals_are_narrower_than_independent_ones(tmp_path: Path) -> None:
    (tmp_path / "floor2.formula").write_text(FORMULA)
    (tmp_path / "floor3.formula").write_text(FORMULA.replace("dedicatedFloor = 2", "dedicatedFloor = 3"))
    assert "dedicatedFloor = 2" in FORMULA
    first, second = _compare(tmp_path, tmp_path / "floor2.formula", tmp_path / "floor3.formula")
    assert second["cost_usd_diff"] > 0  # one more dedicated node whenever there is work
    independent = math.hypot(first["cost_usd_ci"], second["cost_usd_ci"])  # type: ignore[arg-type]
    assert second["cost_usd_diff_ci"] < independent  # type: ignore[operator]
    assert second["cost_usd_diff"] - second["cost_usd_diff_ci"] > 0  # type: ignore[operator]


def test_compare_writes_runs_and_a_report(tmp_path: Path) -> None:
    (tmp_path / "floor2.formula").write_text(FORMULA)
    (tmp_path / "floor3.formula").write_text(FORMULA.replace("dedicatedFloor = 2", "dedicatedFloor = 3"))
    out = tmp_path / "out"
    args = ["compare", str(SPOT_FIRST), str(tmp_path / "floor2.formula"), str(tmp_path / "floor3.formula")]
    result = CliRunner().invoke(
        app, [*args, "--set", "duration=2h", "--seeds", "2", "--workers", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Δ" in result.output and "±" in result.output and "cost (USD)" in result.output
    assert sorted(p.name for p in (out / "runs" / "floor3.formula").iterdir()) == ["seed-1", "seed-2"]
    assert (out / "report.html").read_text().count("<img") >= 2
    one = CliRunner().invoke(app, [*args[:3], "--seeds", "1"])
    assert one.exit_code == 2
    missing = CliRunner().invoke(app, [*args[:2], str(tmp_path / "none.formula")])
    assert missing.exit_code == 1 and "none.formula" in missing.output


def test_formulas_are_labelled_by_file_name_and_the_same_file_twice_is_two_rows(tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.formula").write_text(FORMULA)
    (tmp_path / "own.formula").write_text(FORMULA)
    files = [tmp_path / "own.formula", tmp_path / "one" / "same.formula", tmp_path / "two" / "same.formula"]
    rows = _compare(tmp_path, *files, files[0], extra=("--out", str(tmp_path / "out")))
    labels = [row["formula"] for row in rows]
    assert labels == ["own.formula", str(files[1]), str(files[2]), "own.formula (2)"]
    assert rows[3]["cost_usd_diff"] == 0
    assert len(list((tmp_path / "out" / "runs").iterdir())) == 4  # one directory per row, none shared
