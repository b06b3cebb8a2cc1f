"""`batchsim eval` with the context file of DESIGN §3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchsim.cli import app

runner = CliRunner()

CONTEXT = {
    "time": "2026-01-05T12:00:00Z",
    "pool": {"targetDedicatedNodes": 2, "currentDedicatedNodes": 2, "taskSlotsPerNode": 4},
    "samples": {"$PendingTasks": {"interval_s": 30, "lag_s": 60, "values": [0, 0, 4, 9, 12]}},
}


def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


def test_results_string_on_one_line(tmp_path: Path) -> None:
    formula = write(
        tmp_path,
        "f.formula",
        "v = $PendingTasks.GetSample(TimeInterval_Minute * 3, 0);\n$TargetDedicatedNodes = max(v) / $TaskSlotsPerNode;",
    )
    context = write(tmp_path, "c.json", json.dumps(CONTEXT))
    result = runner.invoke(app, ["eval", formula, "--context", context])
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;v=[0,4,9,12]\n"
    )


def test_json_output(tmp_path: Path) -> None:
    formula = write(tmp_path, "f.formula", "$TargetLowPriorityNodes = 3")
    context = write(tmp_path, "c.json", json.dumps(CONTEXT))
    document = json.loads(runner.invoke(app, ["eval", formula, "--context", context, "--format", "json"]).output)
    assert document == {
        "timestamp": "2026-01-05T12:00:00.000Z",
        "results": "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=3;$NodeDeallocationOption=requeue",
        "error": None,
    }


def test_evaluation_error_exits_one_with_the_services_code(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", write(tmp_path, "f.formula", "$x")])
    assert result.exit_code == 1
    assert result.output == "error: AutoScalingFormulaEvaluationError: Line 1, Col 1: Undefined symbol: $x\n"


def test_insufficient_samples_json(tmp_path: Path) -> None:
    formula = write(tmp_path, "f.formula", "v = avg($PendingTasks.GetSample(TimeInterval_Minute * 10));")
    context = write(tmp_path, "c.json", json.dumps(CONTEXT))
    result = runner.invoke(app, ["eval", formula, "--context", context, "--format", "json"])
    assert result.exit_code == 1
    error = json.loads(result.output)["error"]
    assert error == {
        "code": "InsufficientSampleData",
        "message": "Line 1, Col 32: Insufficient data from data set: $PendingTasks wanted 70%, received 25%",
    }


def test_syntax_error_is_reported_like_check(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", write(tmp_path, "f.formula", "a = (1")])
    assert result.exit_code == 1
    assert "AutoScalingFormulaSyntaxError" in result.output


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("{", "not valid JSON"),
        ('{"pool": {"targetDedicated": 1}}', "key 'pool.targetDedicated'"),
        ('{"samples": {"$Pending": {"values": [1]}}}', "key 'samples.$Pending': not a sampled variable"),
        ('{"time": "yesterday"}', "key 'time'"),
    ],
)
def test_malformed_context_files(tmp_path: Path, context: str, message: str) -> None:
    formula = write(tmp_path, "f.formula", "$TargetDedicatedNodes = 1")
    result = runner.invoke(app, ["eval", formula, "--context", write(tmp_path, "c.json", context)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_missing_formula_file_is_a_usage_error(tmp_path: Path) -> None:
    assert runner.invoke(app, ["eval", str(tmp_path / "none.formula")]).exit_code == 2
