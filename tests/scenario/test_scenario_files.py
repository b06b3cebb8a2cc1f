"""Scenario files as editors and users meet them: the schema validates every shipped scenario, ISO 8601
durations, every mistake reported at once with file:line, key and a "did you mean", seeds checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from batchsim.scenario import ScenarioError, load_scenario, scenario_json_schema
from batchsim.units import DURATION_PATTERN, parse_duration_s

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


class _EditorLoader(yaml.SafeLoader):
    """YAML as editors hand it to a JSON Schema validator: timestamps stay strings."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _validator() -> jsonschema.Draft202012Validator:
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_the_schema_accepts_every_shipped_scenario(path: Path) -> None:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_EditorLoader)
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(document)]
    assert errors == []


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    validator = _validator()
    base: dict[str, Any] = {"duration": "24h", "workload": [{"kind": "poisson", "rate_per_hour": 1}]}
    assert validator.is_valid(base)
    assert validator.is_valid(base | {"duration": "P1DT2H"})
    assert not validator.is_valid(base | {"duration": "soon"})
    assert not validator.is_valid(base | {"seed": -4})
    assert not validator.is_valid(base | {"base_dir": "/tmp"})  # the loader's own, not a key of the file
    assert not validator.is_valid(base | {"pool": {"initial_dedicatd": 2}})


def test_schema_descriptions_speak_to_users() -> None:
    text = json.dumps(scenario_json_schema(), ensure_ascii=False)
    assert "§" not in text and "DESIGN" not in text and "loader" not in text
    assert "base_dir" not in text


def test_base_dir_is_not_a_key_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("duration: 1h\nbase_dir: /elsewhere\n")
    with pytest.raises(ScenarioError, match=r":2: key 'base_dir': unknown key"):
        load_scenario(path)
    path.write_text("duration: 1h\n")
    assert load_scenario(path).base_dir == str(tmp_path.resolve())


# Oracle: isodate (a dependency of azure-batch) parses ISO 8601 durations independently.
_PART = st.one_of(st.none(), st.integers(0, 400))


@given(weeks=_PART, days=_PART, hours=_PART, minutes=_PART, seconds=st.one_of(st.none(), st.integers(0, 10**5)))
def test_iso_8601_durations_agree_with_isodate(
    weeks: int | None, days: int | None, hours: int | None, minutes: int | None, seconds: int | None
) -> None:
    isodate = pytest.importorskip("isodate")
    date = "".join(f"{v}{u}" for v, u in ((weeks, "W"), (days, "D")) if v is not None)
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v is not None)
    text = "P" + date + (f"T{time}" if time else "")
    if text == "P":
        with pytest.raises(ValueError, match="duration"):
            parse_duration_s(text)
        return
    if weeks is not None and (days is not None or time):
        return  # isodate (like ISO 8601:2004) does not combine weeks with other parts; batchsim does
    assert parse_duration_s(text) == isodate.parse_duration(text).total_seconds()
    import re

    assert re.match(DURATION_PATTERN, text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT15M", 900), ("P1DT2H", 93600), ("pt5m", 300), ("PT0.5S", 0.5), ("PT1,5H", 5400), ("P1W", 604800)],
)
def test_iso_8601_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("P1M", "years and months have no fixed length"),
        ("P1Y", "years and months have no fixed length"),
        ("-PT1M", "cannot be negative"),
        ("P", "ISO 8601"),
        ("PT", "ISO 8601"),
        ("P1DT", "ISO 8601"),
    ],
)
def test_iso_8601_mistakes(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration_s(text)


def test_scenarios_accept_iso_8601(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "duration: P1DT2H\npool:\n  autoscale:\n    interval: PT15M\n"
        "    formula: '$TargetDedicatedNodes = 1;'\n"
        "workload:\n  - kind: poisson\n    rate_per_hour: 1\n    task_duration: {dist: constant, value: PT90S}\n"
    )
    scenario = load_scenario(path)
    assert scenario.duration == 93600 and scenario.pool.autoscale is not None
    assert scenario.pool.autoscale.interval == 900
    assert scenario.workload[0].task_duration.mean_s == 90


SEVERAL = """\
name: several
duration: soon
seed: -4
pool:
  initial_dedicatd: 2
  autoscale:
    interval: P1M
    formula: "$TargetDedicatedNodes = 1;"
workload:
  - kind: poisson
    rate_per_hour: lots
    task_duraton: {dist: exponential, mean: 60s}
  - kind: gaussian
"""


def test_several_mistakes_are_all_reported_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "several.yaml"
    path.write_text(SEVERAL)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    lines = str(caught.value).splitlines()
    assert lines == caught.value.problems
    expected = [
        (2, "key 'duration': expected a duration"),
        (3, "key 'seed': Input should be greater than or equal to 0"),
        (5, "key 'pool.initial_dedicatd': unknown key; did you mean 'initial_dedicated'?"),
        (7, "key 'pool.autoscale.interval': years and months have no fixed length"),
        (11, "key 'workload.0.rate_per_hour': Input should be a valid number"),
        (12, "key 'workload.0.task_duraton': unknown key; did you mean 'task_duration'?"),
        (13, "key 'workload.1': unknown kind; allowed: 'poisson'"),
    ]
    assert len(lines) == len(expected), lines
    for line, (number, text) in zip(lines, expected, strict=True):
        assert line.startswith(f"{path}:{number}: {text}"), line


def test_did_you_mean_follows_unions_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "duration: 1h\npool:\n  provisioning_delay:\n    spot: {dist: lognormal, median: 6m, sigmaa: 0.3}\n"
        "workload:\n  - kind: schedule\n    tasks_per_job: 1\n    preparation: {duraton: 5m}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert ":4: key 'pool.provisioning_delay.spot.sigmaa': unknown key; did you mean 'sigma'?" in text
    assert ":8: key 'workload.0.preparation.duraton': unknown key; did you mean 'duration'?" in text


def test_an_unknown_key_with_no_close_match_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("duration: 1h\nprices: {dedicated_per_hour: 1, spot_per_hour: 0.2, currency: EUR}\n")
    with pytest.raises(ScenarioError, match=r"unknown key; allowed here: dedicated_per_hour, spot_per_hour, source"):
        load_scenario(path)


@pytest.mark.parametrize("seed", ["-4", "-1", "1.5", "many"])
def test_a_negative_or_fractional_seed_is_a_scenario_error(tmp_path: Path, seed: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"duration: 1h\nseed: {seed}\n")
    with pytest.raises(ScenarioError, match=r":2: key 'seed'"):
        load_scenario(path)
    path.write_text("duration: 1h\n")
    with pytest.raises(ScenarioError, match=r"--set key 'seed'"):
        load_scenario(path, [f"seed={seed}"])
