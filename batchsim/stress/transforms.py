"""Stresses as scenario transformations: `apply(scenario, stress)` → the stressed scenario.

Each transformation only sets scenario keys, so a stressed scenario is an ordinary scenario
(`--set` could write the same) and runs on any executor:

| transformation | scenario keys |
|---|---|
| spot_drought | `pool.spot.outages` += {start, duration} |
| dedicated_outage | `pool.dedicated.outages` += {start, duration} |
| mass_eviction | `pool.spot.mass_evictions` += {at, fraction} |
| burst | `workload.*.rate_factors` += {start, duration, factor} |
| slow_provisioning | `pool.provisioning_delay.{dedicated,spot}` scaled, `boot_billed_s` × factor |
| sample_loss | `pool.autoscale.sample_loss_fraction` |
| eviction_rate | `pool.spot.eviction_rate_per_hour` |
| arrival_rate | `workload.*.rate_factors` += {0, horizon, factor} |
| set | any dotted key |
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from batchsim.scenario import Scenario, ScenarioError, set_key
from batchsim.stress_spec import StressSpec

__all__ = ["apply", "busiest_hour_s", "describe"]


def busiest_hour_s(scenario: Scenario, seed: int | None = None) -> float:
    """Start of the whole hour (from the simulation start) with the most work arriving.

    "Work" is the zero-wait demand of the known workload (nodes busy if every task started at
    its submission, `clairvoyant.demand_nodes`), averaged over each hour; the scenario's own seed
    unless given, so that every formula and seed is stressed at the same moment.
    """
    from batchsim.measure.clairvoyant import demand_nodes

    demand = demand_nodes(scenario, scenario.seed if seed is None else seed, step_s=60.0)
    hours = max(1, math.ceil(scenario.duration / 3600))
    means = [
        float(demand[h * 60 : (h + 1) * 60].mean()) if len(demand[h * 60 : (h + 1) * 60]) else 0.0 for h in range(hours)
    ]
    return 3600.0 * max(range(hours), key=lambda h: (means[h], -h))


def _scaled(dist: dict[str, Any], factor: float) -> dict[str, Any]:
    keys = {"constant": ("value",), "exponential": ("mean",), "uniform": ("low", "high"), "lognormal": ("median",)}
    return {k: (v * factor if k in keys[dist["dist"]] else v) for k, v in dist.items()}


def apply(scenario: Scenario, stress: StressSpec) -> tuple[Scenario, dict[str, Any]]:
    """The stressed scenario and the parameters each transformation used (times in seconds)."""
    data = scenario.model_dump(mode="json")
    data.pop("stresses", None)
    busiest: float | None = None

    def start(value: float | str, offset_s: float = 0.0) -> float:
        nonlocal busiest
        if value != "busiest":
            return float(value)
        if busiest is None:
            busiest = busiest_hour_s(scenario)
        return busiest + offset_s

    pool = data.setdefault("pool", {})
    parameters: dict[str, Any] = {}
    t: Any
    for name, t in stress.transformations():
        if name == "spot_drought":
            window = {"start": start(t.start), "duration": t.duration}
            pool.setdefault("spot", {}).setdefault("outages", []).append(window)
            parameters[name] = {"start_s": window["start"], "duration_s": t.duration}
        elif name == "dedicated_outage":
            window = {"start": start(t.start), "duration": t.duration}
            pool.setdefault("dedicated", {}).setdefault("outages", []).append(window)
            parameters[name] = {"start_s": window["start"], "duration_s": t.duration}
        elif name == "mass_eviction":
            event = {"at": start(t.at, 1800.0), "fraction": t.fraction}
            pool.setdefault("spot", {}).setdefault("mass_evictions", []).append(event)
            parameters[name] = {"at_s": event["at"], "fraction": t.fraction}
        elif name in ("burst", "arrival_rate"):
            if name == "burst":
                window = {"start": start(t.start), "duration": t.duration, "factor": t.factor}
            else:
                window = {"start": 0.0, "duration": scenario.duration, "factor": t.factor}
            for entry in data.get("workload", []):
                entry.setdefault("rate_factors", []).append(dict(window))
            parameters[name] = {"start_s": window["start"], "duration_s": window["duration"], "factor": t.factor}
        elif name == "slow_provisioning":
            delay = pool.setdefault("provisioning_delay", {})
            defaults = scenario.pool.provisioning_delay.model_dump(mode="json")
            for kind in ("dedicated", "spot"):
                delay[kind] = _scaled(delay.get(kind, defaults[kind]), t.factor)
            delay["boot_billed_s"] = float(delay.get("boot_billed_s", defaults["boot_billed_s"])) * t.factor
            parameters[name] = {"factor": t.factor}
        elif name == "sample_loss":
            if pool.get("autoscale") is not None:
                pool["autoscale"]["sample_loss_fraction"] = t.fraction
                parameters[name] = {"fraction": t.fraction}
            else:
                parameters[name] = {"fraction": t.fraction, "note": "no autoscale: nothing reads the samples"}
        elif name == "eviction_rate":
            rate = (
                t.rate_per_hour if t.rate_per_hour is not None else scenario.pool.spot.eviction_rate_per_hour * t.factor
            )
            pool.setdefault("spot", {})["eviction_rate_per_hour"] = rate
            parameters[name] = {"rate_per_hour": rate}
    for key, value in stress.set.items():
        set_key(data, key, value, f"stress '{stress.name}': key")
    if stress.set:
        parameters["set"] = dict(stress.set)
    if busiest is not None:
        parameters["busiest_hour_s"] = busiest
    try:
        stressed = Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        raise ScenarioError(f"stress '{stress.name}': key '{key}': {error['msg']}") from None
    stressed.base_dir = scenario.base_dir
    return stressed, parameters


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g}h"


def describe(parameters: dict[str, Any]) -> str:
    """One short line for a text table: `no Spot from 13h for 2h`."""
    parts = []
    for name, p in parameters.items():
        if name == "spot_drought":
            parts.append(f"no Spot from {_hours(p['start_s'])} for {_hours(p['duration_s'])}")
        elif name == "dedicated_outage":
            parts.append(f"no dedicated from {_hours(p['start_s'])} for {_hours(p['duration_s'])}")
        elif name == "mass_eviction":
            parts.append(f"{p['fraction']:.0%} of Spot evicted at {_hours(p['at_s'])}")
        elif name == "burst":
            parts.append(f"arrivals ×{p['factor']:g} from {_hours(p['start_s'])} for {_hours(p['duration_s'])}")
        elif name == "arrival_rate":
            parts.append(f"arrivals ×{p['factor']:g}")
        elif name == "slow_provisioning":
            parts.append(f"provisioning ×{p['factor']:g}")
        elif name == "sample_loss":
            parts.append(f"{p['fraction']:.0%} of samples missing")
        elif name == "eviction_rate":
            parts.append(f"eviction {p['rate_per_hour']:g}/h")
        elif name == "set":
            shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in list(p.items())[:3])
            parts.append(shown + (f" and {len(p) - 3} more keys" if len(p) > 3 else ""))
    return "; ".join(parts) or "as the scenario says"
