"""Issue 21 "Calibration and the engine agree": recovery under the engine's own default provisioning
model (batchsim.sim.config: one shared wait per resize, LN(240 s, 0.4) dedicated and LN(288 s, 0.5)
Spot, then each node LN(119 s, 0.4)), not only under independent delays.

The oracle is the truth scenario's resize durations by Monte Carlo: the median time a resize of
n nodes takes, W + max(X_1..X_n), for n = 1, 3, 8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from truth import scenario_text

from batchsim.history.calibrate import calibrate
from batchsim.history.directory import read_history
from batchsim.history.synthetic import write_synthetic_history
from batchsim.scenario import load_scenario

TRUTH = {
    "dedicated": ({"median": 240.0, "sigma": 0.4}, {"median": 119.0, "sigma": 0.4}),
    "spot": ({"median": 288.0, "sigma": 0.5}, {"median": 119.0, "sigma": 0.4}),
}


def _resize_median(wait: dict[str, Any] | None, node: dict[str, Any], n: int, rng: np.random.Generator) -> float:
    draws = 100_000
    shared = rng.lognormal(np.log(wait["median"]), wait["sigma"], draws) if wait else 0.0
    slowest = rng.lognormal(np.log(node["median"]), node["sigma"], (draws, n)).max(axis=1)
    return float(np.median(shared + slowest))


def test_the_engines_default_delays_are_recovered(tmp_path: Path) -> None:
    text = scenario_text(duration="48h")
    # No provisioning_delay key: the engine's default four-part model.
    delay_lines = ("  provisioning_delay:", "    dedicated: {dist", "    spot: {dist")
    lines = [line for line in text.splitlines() if not line.startswith(delay_lines)]
    (tmp_path / "default.yaml").write_text("\n".join(lines) + "\n")
    scenario = load_scenario(tmp_path / "default.yaml")
    assert scenario.pool.provisioning_delay.resize_wait is not None
    history = read_history(write_synthetic_history(scenario, tmp_path / "h", pool_id="render"))
    cal = calibrate(history)
    delays = cal.document["pool"]["provisioning_delay"]
    assert "resize_wait" in delays, cal.notes  # the shared-wait model was chosen, by AIC
    assert any("the shared wait kept" in note for note in cal.notes)
    rng = np.random.default_rng(0)
    for kind, (wait, node) in TRUTH.items():
        for n in (1, 3, 8):
            truth = _resize_median(wait, node, n, rng)
            fitted = _resize_median(delays["resize_wait"][kind], delays[kind], n, rng)
            assert abs(fitted - truth) <= 0.1 * truth, (kind, n, fitted, truth)
    block = cal.block()
    assert block["pool.provisioning_delay.resize_wait.dedicated.median"]["n"] > 0
