"""The shipped price catalog: coverage, provenance, sane prices; lookup; scenarios pick or override it."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from batchsim.cost.catalog import CatalogError, catalog_document, catalog_rows, find, lookup
from batchsim.pipeline import resolve_prices
from batchsim.scenario import ScenarioError, load_scenario

ROWS = catalog_rows()
BY_KEY = {(r["vm_size"], r["region"], r["os"]): r for r in ROWS}


def test_format_and_row_fields() -> None:
    assert catalog_document()["format"] == "batchsim-price-catalog/1"
    assert catalog_document()["currency"] == "USD"
    fields = {"vm_size", "region", "os", "category", "vcpus", "memory_gib", "gpus", "family"}
    fields |= {"dedicated_per_hour", "spot_per_hour", "source", "date"}
    for row in ROWS:
        assert fields <= row.keys(), row
        assert row["os"] in ("linux", "windows")
        assert row["vcpus"] >= 1 and row["memory_gib"] > 0 and row["gpus"] >= 0
        assert (row["gpus"] > 0) == (row["category"] == "gpu"), row["vm_size"]
    assert len(BY_KEY) == len(ROWS), "one row per size, region and OS"


def test_at_least_40_sizes_in_at_least_5_regions() -> None:
    regions: dict[str, set[str]] = defaultdict(set)
    for row in ROWS:
        regions[row["vm_size"]].add(row["region"])
    assert len({r["region"] for r in ROWS}) >= 5
    assert sum(len(where) >= 5 for where in regions.values()) >= 40


def test_families_covered_for_linux_and_windows() -> None:
    for os_name in ("linux", "windows"):
        categories = {r["category"] for r in ROWS if r["os"] == os_name}
        assert categories == {"general", "compute", "memory", "gpu"}
        letters = {re.sub(r"^Standard_([A-Z]+).*", r"\1", r["vm_size"]) for r in ROWS if r["os"] == os_name}
        assert {"D", "F", "E", "NC", "NV"} <= letters


def test_every_row_has_a_source_and_an_iso_date() -> None:
    for row in ROWS:
        assert row["source"].strip() and "@" in row["source"], row  # repository path @ commit
        assert date.fromisoformat(row["date"]) <= date.today()


def test_spot_below_dedicated_and_windows_not_below_linux() -> None:
    for (size, region, os_name), row in BY_KEY.items():
        assert 0 < row["spot_per_hour"] < row["dedicated_per_hour"], (size, region, os_name)
        if os_name == "windows" and (size, region, "linux") in BY_KEY:
            linux = BY_KEY[(size, region, "linux")]
            assert row["dedicated_per_hour"] >= linux["dedicated_per_hour"], (size, region)
            assert row["spot_per_hour"] >= linux["spot_per_hour"], (size, region)


def test_every_windows_row_has_its_linux_row() -> None:
    for size, region, os_name in BY_KEY:
        other = "linux" if os_name == "windows" else "windows"
        assert (size, region, other) in BY_KEY


def test_lookup_and_find() -> None:
    prices = lookup("Standard_D2s_v3", "eastus")
    assert prices.dedicated_per_hour == 0.096 and prices.spot_per_hour < 0.096
    assert prices.source.startswith("catalog: ") and "2026-" in prices.source
    windows = lookup("Standard_D2s_v3", "eastus", "windows")
    assert windows.dedicated_per_hour > prices.dedicated_per_hour
    row = find("Standard_NC6s_v3", "westeurope")
    assert (row["vcpus"], row["memory_gib"], row["gpus"]) == (6, 112, 1)


def test_unknown_size_region_or_os_names_what_the_catalog_has() -> None:
    with pytest.raises(CatalogError) as size:
        lookup("Standard_Nope_v9", "westeurope")
    assert size.value.key == "pool.vm_size" and "Standard_D4s_v5" in str(size.value)
    with pytest.raises(CatalogError) as region:
        lookup("Standard_D4s_v5", "mars")
    assert region.value.key == "pool.region" and "westeurope" in str(region.value)


SCENARIO = """\
name: t
duration: 1h
pool:
  vm_size: {size}
  region: {region}
  os: {os}
workload: []
"""


def write(tmp_path: Path, size: str, region: str, os_name: str = "linux", extra: str = "") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(size=size, region=region, os=os_name) + extra)
    return path


def test_scenario_picks_size_region_and_os_from_the_catalog(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "Standard_E8s_v5", "northeurope", "windows"))
    prices = resolve_prices(scenario)
    row = find("Standard_E8s_v5", "northeurope", "windows")
    assert (prices.dedicated_per_hour, prices.spot_per_hour) == (row["dedicated_per_hour"], row["spot_per_hour"])


def test_explicit_prices_override_the_catalog(tmp_path: Path) -> None:
    extra = "prices: {dedicated_per_hour: 1.5, spot_per_hour: 0.25}\n"
    scenario = load_scenario(write(tmp_path, "Standard_E8s_v5", "northeurope", extra=extra))
    prices = resolve_prices(scenario)
    assert (prices.dedicated_per_hour, prices.spot_per_hour, prices.source) == (1.5, 0.25, "scenario")
    # with prices given, a size the catalog lacks is fine
    assert load_scenario(write(tmp_path, "Standard_Custom_v1", "mars", extra=extra)).prices is not None


def test_unknown_size_in_a_scenario_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "Standard_Nope_v9", "westeurope")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    message = str(error.value)
    assert message.startswith(f"{path}:4: key 'pool.vm_size': no catalog price for Standard_Nope_v9")
    assert "Standard_D2s_v5" in message and "prices:" in message
    with pytest.raises(ScenarioError, match=r":5: key 'pool.region'.*priced in: .*westeurope"):
        load_scenario(write(tmp_path, "Standard_F8s_v2", "mars"))
    with pytest.raises(ScenarioError, match=r"--set key 'pool.region'"):
        load_scenario(write(tmp_path, "Standard_F8s_v2", "westeurope"), ["pool.region=mars"])
