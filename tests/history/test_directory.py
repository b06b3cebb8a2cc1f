"""Reading history directories: every bad input is one message naming the file, line and column."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from batchsim.history.directory import HistoryError, read_history


def _copy(history_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "h"
    shutil.copytree(history_dir, target)
    return target


def test_the_generated_history_reads_back(history_dir: Path) -> None:
    history = read_history(history_dir)
    assert history.pool_id == "render"
    assert history.window_s == 24 * 3600
    assert history.meta["label"].startswith("GENERATED")
    assert set(history.present()) == {
        "pool.json",
        "tasks.csv",
        "autoscale.csv",
        "resizes.csv",
        "node_counts.csv",
        "nodes.csv",
    }
    tasks = history.tasks
    assert (tasks["started"].dropna() >= tasks.loc[tasks["started"].notna(), "created"]).all()
    # Spot counts include preempted nodes (as $CurrentLowPriorityNodes does).
    counts = history.node_counts
    assert counts is not None and (counts["spot"] >= counts["preempted"]).all()


def test_missing_directory_and_files(tmp_path: Path, history_dir: Path) -> None:
    with pytest.raises(HistoryError, match="no such history directory"):
        read_history(tmp_path / "nothing")
    (tmp_path / "nothing.partial").mkdir()
    with pytest.raises(HistoryError, match="interrupted pull"):
        read_history(tmp_path / "nothing")
    copy = _copy(history_dir, tmp_path)
    (copy / "tasks.csv").unlink()
    with pytest.raises(HistoryError, match=r"tasks\.csv: missing"):
        read_history(copy)


def test_a_bad_time_names_its_line_and_column(tmp_path: Path, history_dir: Path) -> None:
    copy = _copy(history_dir, tmp_path)
    lines = (copy / "tasks.csv").read_text().splitlines()
    fields = lines[3].split(",")
    fields[2] = "yesterday"
    lines[3] = ",".join(fields)
    (copy / "tasks.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(HistoryError, match=r"tasks\.csv:4: column 'created': 'yesterday' is not an ISO 8601 time"):
        read_history(copy)


def test_a_bad_number_and_a_bad_pool_file(tmp_path: Path, history_dir: Path) -> None:
    copy = _copy(history_dir, tmp_path)
    text = (copy / "node_counts.csv").read_text().splitlines()
    text[2] = text[2].split(",", 1)[0] + ",two," + text[2].split(",", 2)[2]
    (copy / "node_counts.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(HistoryError, match=r"node_counts\.csv:3: column 'dedicated': 'two' is not a number"):
        read_history(copy)
    (copy / "pool.json").write_text("[1, 2]")
    with pytest.raises(HistoryError, match="expected a JSON object"):
        read_history(copy)
    (copy / "pool.json").write_text("{")
    with pytest.raises(HistoryError, match="not valid JSON"):
        read_history(copy)


def test_an_empty_window_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "pool.json").write_text(json.dumps({"id": "p"}))
    (root / "tasks.csv").write_text("job_id,task_id,created,started,ended\n")
    with pytest.raises(HistoryError, match="records no time at all"):
        read_history(root)
    (root / "history.json").write_text(
        json.dumps({"window": {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T10:00:00Z"}})
    )
    with pytest.raises(HistoryError, match="is empty"):
        read_history(root)
