"""Histories generated from known scenarios (the truth behind every file is the scenario)."""

from __future__ import annotations

from pathlib import Path

import pytest
from truth import make_scenario

from batchsim.history.synthetic import write_synthetic_history


@pytest.fixture(scope="session")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day's history of the default truth scenario."""
    root = tmp_path_factory.mktemp("history")
    scenario = make_scenario(root, duration="24h")
    return write_synthetic_history(scenario, root / "render", pool_id="render")
