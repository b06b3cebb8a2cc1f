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


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        ("a = (1", "AutoScalingFormulaSyntaxError", "Line 1, Col 7: Unexpected end of formula"),
        ("", "InvalidAutoScalingSettings", "Line 1, Col 1: The formula has no statement"),
        ("// only a comment\n", "InvalidAutoScalingSettings", "Line 1, Col 1: The formula has no statement"),
        ("a=1;" * 2250, "AutoScalingFormulaTooLong", "Line 1, Col 8193: The formula has 9000 characters"),
        ("a=1;" * 101, "AutoScalingFormulaTooLong", "Line 1, Col 401: The formula has 101 statements"),
    ],
    ids=["syntax", "empty", "comment-only", "too-long", "too-many-statements"],
)
def test_request_time_errors_are_json_too(tmp_path: Path, content: str, code: str, message: str) -> None:
    context = write(tmp_path, "c.json", json.dumps(CONTEXT))
    result = runner.invoke(
        app, ["eval", write(tmp_path, "f.formula", content), "--context", context, "--format", "json"]
    )
    assert result.exit_code == 1
    document = json.loads(result.output)  # one JSON object, nothing else on stdout
    assert set(document) == {"timestamp", "results", "error"}
    assert document["timestamp"] == "2026-01-05T12:00:00.000Z" and document["results"] is None
    assert document["error"]["code"] == code and document["error"]["message"].startswith(message)


def test_stop_used_as_a_value_fails_in_eval_as_check_says(tmp_path: Path) -> None:
    formula = write(tmp_path, "f.formula", "$TargetDedicatedNodes = 1;\nx = stop();")
    result = runner.invoke(app, ["eval", formula])
    assert result.exit_code == 1
    assert result.output == (
        "error: AutoScalingFormulaEvaluationError: Line 2, Col 5: Type mismatch: stop() has no value and must stand alone\n"
    )
    checked = runner.invoke(app, ["check", formula])
    assert (
        checked.exit_code == 1
        and ":2:5: error AutoScalingFormulaEvaluationError Type mismatch: stop()" in checked.output
    )


def test_an_overflow_is_an_evaluation_error(tmp_path: Path) -> None:
    formula = write(tmp_path, "f.formula", 'x = time("9999-12-31T00:00:00Z") + TimeInterval_Year;')
    result = runner.invoke(app, ["eval", formula, "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["error"] == {
        "code": "AutoScalingFormulaEvaluationError",
        "message": "Line 1, Col 34: Timestamp out of range: results must lie between 0001-01-01 and 9999-12-31",
    }
