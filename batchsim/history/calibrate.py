"""`batchsim calibrate`: a scenario fitted to a history directory, every estimate with n and a 95 % interval.

What comes from where (the estimators are in `estimators.py`, their reasons in docs/history.md):

- pool size, slots, fill type, resize timeout, formula, interval: pool.json, copied;
- initial nodes: node_counts.csv at the window's start;
- provisioning delays (dedicated, Spot): resizes.csv, the slowest-of-n likelihood;
- Spot eviction rate and restore wait: node_counts.csv (preempted counts once a minute);
- start task duration: nodes.csv (start task start and end);
- task failure probability: tasks.csv (retries and exit codes, per attempt);
- workload: tasks.csv, replayed (`trace`) or as hourly arrival rates and log-normal durations per
  job group (`fitted`).

Anything the history cannot support keeps its default and is named in `calibration:` with n 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from batchsim.history.arrivals import (
    BATCH_SHARE,
    chance_share,
    collections,
    rate_clock,
    rates_vary,
    scheduler_latency,
    shared_share,
    widened,
)
from batchsim.history.directory import History, iso
from batchsim.history.estimators import (
    MIN_COMPLETED_RESIZES,
    Estimate,
    LogNormalFit,
    MaxFit,
    binomial,
    conditional_mean_above,
    eviction_rate,
    fit_lognormal,
    fit_max_lognormal,
    poisson_rate,
)
from batchsim.units import iso_8601_duration_s

__all__ = ["Calibration", "calibrate", "job_group", "service_duration_s"]

WorkloadKind = Literal["trace", "fitted"]

_GROUP_SUFFIX = re.compile(r"([-_.:]?\d+)+$")
_MAX_GROUPS = 12
_MIN_SHARE_SPREAD = 0.1  # spread of the dedicated share of added nodes below which kinds are pooled
# A week of logs runs from its first record to its last, so it can end a little short of 7 × 24 h:
# within 1 % of a week (1.7 h) the window still counts as a week. The day it lacks is short of
# exposure, which `_exposure_h` counts, so its factor is not biased.
WEEK_S = 7 * 86400.0
WEEK_TOLERANCE_S = 0.01 * WEEK_S


def service_duration_s(text: Any) -> float | None:
    """Seconds in the service's ISO 8601 duration (`PT15M`, `PT05M00S`, `P1DT2H`), None when absent."""
    if text is None or text == "":
        return None
    return iso_8601_duration_s(str(text))


def job_group(job_id: str) -> str:
    """A job's group: its ID less a trailing run number or date (`render-2026-03-02-17` → `render`)."""
    group = _GROUP_SUFFIX.sub("", str(job_id)).rstrip("-_.:")
    return group or str(job_id)


@dataclass
class Calibration:
    """A calibrated scenario document, its estimates, the trace it replays, and what was not estimated."""

    document: dict[str, Any]
    estimates: dict[str, Estimate] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)  # key → why it kept its default
    trace: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def block(self) -> dict[str, dict[str, Any]]:
        """The `calibration:` mapping: estimates, then the keys kept at their defaults (n 0)."""
        out = {key: estimate.as_dict() for key, estimate in self.estimates.items()}
        for key, why in self.defaults.items():
            out.setdefault(key, {"estimate": None, "low": None, "high": None, "n": 0, "source": f"default: {why}"})
        return out


# --- pool ------------------------------------------------------------------------------------------


def _vm_size(raw: str) -> str:
    from batchsim.batch_text import canonical_vm_size
    from batchsim.cost.catalog import catalog_rows

    return canonical_vm_size(raw or "Standard_D2s_v3", [str(row["vm_size"]) for row in catalog_rows()])


def _region(pool: dict[str, Any]) -> str | None:
    from batchsim.batch_text import region_of

    location = pool.get("location")
    return str(location).lower() if location else region_of(pool.get("url"))


def _pool_section(history: History, cal: Calibration) -> dict[str, Any]:
    pool = history.pool
    agent = str((pool.get("virtualMachineConfiguration") or {}).get("nodeAgentSKUId") or "").lower()
    region = _region(pool)
    if region is None:
        region = "eastus"
        cal.notes.append(
            "pool.region: the history does not say the pool's region (no location, no URL); eastus assumed"
        )
    section: dict[str, Any] = {
        "vm_size": _vm_size(str(pool.get("vmSize") or "")),
        "region": region,
        "os": "windows" if agent.startswith("batch.node.windows") else "linux",
        "task_slots_per_node": int(pool.get("taskSlotsPerNode") or 1),
        "node_fill_type": str((pool.get("taskSchedulingPolicy") or {}).get("nodeFillType") or "spread").lower(),
    }
    if section["node_fill_type"] not in ("spread", "pack"):
        section["node_fill_type"] = "spread"
    timeout = service_duration_s(pool.get("resizeTimeout"))
    if timeout is not None and timeout >= 300:
        section["resize_timeout"] = timeout
    dedicated, spot = _initial_nodes(history, cal)
    section["initial_dedicated"], section["initial_spot"] = dedicated, spot
    formula = pool.get("autoScaleFormula")
    if pool.get("enableAutoScale") and formula:
        interval = service_duration_s(pool.get("autoScaleEvaluationInterval")) or 900.0
        section["autoscale"] = {"formula": str(formula), "interval": min(max(interval, 300.0), 168 * 3600.0)}
    elif pool.get("enableAutoScale"):
        cal.notes.append("pool.autoscale: autoscale is on but pool.json has no autoScaleFormula; sizes held fixed")
    return section


def _initial_nodes(history: History, cal: Calibration) -> tuple[int, int]:
    pool = history.pool
    fixed = not pool.get("enableAutoScale")
    targets = (pool.get("targetDedicatedNodes"), pool.get("targetLowPriorityNodes"))
    if fixed and any(t is not None for t in targets):
        # A fixed pool's sizes are its targets: the service restores a preempted Spot node to the
        # target, so a count of running nodes (one preempted at the start) would shrink it for ever.
        dedicated, spot = (int(t or 0) for t in targets)
        counts = history.node_counts
        if counts is not None and len(counts):
            at = counts[counts["time"] <= history.window_start]
            row = (at if len(at) else counts).sort_values("time").iloc[-1 if len(at) else 0]
            seen = (round(float(row["dedicated"])), round(float(row["spot"])))
            if seen != (dedicated, spot):
                cal.notes.append(
                    f"pool.initial_*: a fixed pool; its targets {dedicated} dedicated, {spot} Spot (pool.json) are "
                    f"kept, though node_counts.csv has {seen[0]} and {seen[1]} at the window's start"
                )
        return dedicated, spot
    counts = history.node_counts
    if counts is not None and len(counts):
        at = counts[counts["time"] <= history.window_start]
        row = (at if len(at) else counts).sort_values("time").iloc[-1 if len(at) else 0]
        running_spot = float(row["spot"]) - float(np.nan_to_num(float(row.get("preempted", 0))))
        return round(float(row["dedicated"])), max(round(running_spot), 0)
    if not fixed:
        cal.notes.append("pool.initial_*: no node_counts.csv, so the pool starts empty and its formula sizes it")
    return 0, 0


def _prices(section: dict[str, Any], cal: Calibration) -> dict[str, Any] | None:
    from batchsim.cost.catalog import CatalogError, find

    try:
        find(section["vm_size"], section["region"], section["os"])
    except CatalogError as exc:
        cal.notes.append(f"prices: {exc.message}; the scenario gets the default prices 0.096 / 0.0192 USD per hour")
        cal.defaults["prices.dedicated_per_hour"] = "not in the shipped catalog"
        return {"dedicated_per_hour": 0.096, "spot_per_hour": 0.0192, "source": "batchsim default (not in catalog)"}
    return None


# --- nodes -------------------------------------------------------------------------------------------


def _lognormal_block(prefix: str, fit: LogNormalFit, source: str, cal: Calibration) -> dict[str, Any]:
    median, sigma = fit.estimates(source)
    cal.estimates[f"{prefix}.median"] = median
    cal.estimates[f"{prefix}.sigma"] = sigma
    return {"dist": "lognormal", "median": round(fit.median, 3), "sigma": round(fit.sigma, 4)}


def _default_lognormal(cal: Calibration, key: str, why: str) -> None:
    cal.defaults[f"{key}.median"] = why
    cal.defaults[f"{key}.sigma"] = why


def _provisioning(history: History, section: dict[str, Any], cal: Calibration) -> None:
    keys = ("pool.provisioning_delay.dedicated", "pool.provisioning_delay.spot")
    resizes = history.resizes
    if resizes is None or not len(resizes):
        for key in keys:
            _default_lognormal(cal, key, "no resizes.csv (import the pool's resize events)")
        return
    frame = resizes.dropna(subset=["start", "end"])
    completed = frame["result_code"].astype("string").fillna("").str.lower().eq("success").to_numpy()
    added = np.zeros((len(frame), 2))
    for i, kind in enumerate(("dedicated", "spot")):
        previous = f"from_{kind}"
        before = frame[previous] if previous in frame else pd.Series(np.nan, index=frame.index)
        before = before.fillna(_count_before(history, frame["start"], kind)).to_numpy(float)
        # A completed resize added the nodes it ended with (current − from: a resize can complete
        # short of its target); one that stopped is censored on the nodes it asked for.
        target = frame[f"target_{kind}"].to_numpy(float)
        current = (
            frame[f"current_{kind}"].to_numpy(float) if f"current_{kind}" in frame else np.full(len(frame), np.nan)
        )
        reached = np.where(completed & ~np.isnan(current), current, target)
        added[:, i] = np.maximum(reached - before, 0)
    added = np.nan_to_num(added)
    durations = (frame["end"] - frame["start"]).dt.total_seconds().to_numpy(float)
    mixed = (added > 0).all(axis=1)
    share = added[:, 0] / np.maximum(added.sum(axis=1), 1)
    pooled_kinds = bool(mixed.sum() >= 3 and (share[added.sum(axis=1) > 0].std() < _MIN_SHARE_SPREAD))
    if pooled_kinds:
        # Every resize adds both kinds in about the same proportion: the slowest node of a resize
        # could be of either kind, so the two delays cannot be told apart. One delay for both.
        pooled = fit_max_lognormal(durations, added.sum(axis=1, keepdims=True), completed)
        result = MaxFit(
            [pooled.fits[0], pooled.fits[0]], pooled.used, {k: pooled.refused[0] for k in (0, 1) if 0 in pooled.refused}
        )
        cal.notes.append(
            "provisioning delays: every resize added dedicated and Spot nodes in about the same proportion, "
            "so one delay distribution was fitted for both kinds"
        )
    else:
        result = fit_max_lognormal(durations, added, completed)
    delays: dict[str, Any] = {}
    for index, (key, kind, fit) in enumerate(zip(keys, ("dedicated", "spot"), result.fits, strict=True)):
        if index in result.refused:
            _default_lognormal(cal, key, result.refused[index])
            cal.notes.append(f"{key}: {result.refused[index]}; the default delay is kept")
            continue
        if fit is None:
            _default_lognormal(cal, key, f"fewer than {MIN_COMPLETED_RESIZES} completed resizes added {kind} nodes")
            continue
        delays[kind] = _lognormal_block(key, fit, "resizes.csv", cal)
    if delays:
        section["provisioning_delay"] = delays
        cal.notes.append(
            f"provisioning delays from {result.used} resizes (slowest-of-n likelihood; stopped ones censored)"
        )
        if not pooled_kinds:
            _shared_wait(durations, added, completed, result.fits, section, cal)


def _shared_wait(
    durations: np.ndarray,
    added: np.ndarray,
    completed: np.ndarray,
    fits: list[LogNormalFit | None],
    section: dict[str, Any],
    cal: Calibration,
) -> None:
    """The engine's default model (one wait per resize, then each node's delay) in place of
    independent delays, when it fits the resizes better by AIC (batchsim.history.provisioning)."""
    from batchsim.history.provisioning import fit_shared_wait, independent_loglik

    kinds = [k for k, fit in enumerate(fits) if fit is not None]
    others = [k for k in range(len(fits)) if k not in kinds]
    rows = (added[:, kinds].sum(axis=1) > 0) & (added[:, others].sum(axis=1) == 0)
    start = [fit for fit in fits if fit is not None]
    if rows.sum() < 2 * MIN_COMPLETED_RESIZES or not start:
        return
    d, n, done = durations[rows], added[rows][:, kinds], completed[rows]
    shared = fit_shared_wait(d, n, done, start)
    if shared is None:
        cal.notes.append(
            "provisioning delays: one wait per resize then each node's delay (the engine's default model) "
            "did not fit within the plausible range; independent delays kept"
        )
        return
    aic_independent = 2 * (2 * len(kinds)) - 2 * independent_loglik(d, n, done, start)
    aic_shared = 2 * (4 * len(kinds)) - 2 * shared.loglik
    choice = "the shared wait" if aic_shared < aic_independent else "independent delays"
    cal.notes.append(
        f"provisioning delays: AIC {aic_shared:.1f} for one wait per resize then each node's delay (the engine's "
        f"default model), {aic_independent:.1f} for independent delays: {choice} kept"
    )
    if aic_shared >= aic_independent:
        return
    names = ("dedicated", "spot")
    split = "; ".join(
        f"{names[k]} wait {shared.wait[i].median:.0f} s [{shared.wait[i].median_low:.0f}, "
        f"{shared.wait[i].median_high:.0f}], node {shared.per_node[i].median:.0f} s "
        f"[{shared.per_node[i].median_low:.0f}, {shared.per_node[i].median_high:.0f}]"
        for i, k in enumerate(kinds)
    )
    cal.notes.append(
        "provisioning delays: durations tell a resize's whole time well but its split into the shared wait "
        "and a node's delay weakly, so the split is held by a prior from batch-behavior §2.4 (wait about "
        f"twice a node's median); read the two together, not each as a measurement: {split}"
    )
    delays: dict[str, Any] = {}
    waits: dict[str, Any] = {}
    for i, k in enumerate(kinds):
        delays[names[k]] = _lognormal_block(
            f"pool.provisioning_delay.{names[k]}", shared.per_node[i], "resizes.csv", cal
        )
        waits[names[k]] = _lognormal_block(
            f"pool.provisioning_delay.resize_wait.{names[k]}", shared.wait[i], "resizes.csv", cal
        )
    for k in others:  # a kind not fitted keeps the engine's default four-part model (batchsim.sim.config)
        delays[names[k]] = {"dist": "lognormal", "median": 119.0, "sigma": 0.4}
        waits[names[k]] = {"dist": "lognormal", "median": 240.0 if k == 0 else 288.0, "sigma": 0.4 if k == 0 else 0.5}
    section["provisioning_delay"] = {**delays, "resize_wait": waits}


def _count_before(history: History, times: pd.Series, kind: str) -> pd.Series:
    """Node counts just before each time, from node_counts.csv (NaN without it)."""
    counts = history.node_counts
    if counts is None or not len(counts):
        return pd.Series(np.nan, index=times.index)
    ordered = counts.sort_values("time")
    position = np.searchsorted(ordered["time"].to_numpy(), times.to_numpy(), side="left") - 1
    values = ordered[kind].to_numpy(float)
    return pd.Series(np.where(position >= 0, values[np.clip(position, 0, None)], np.nan), index=times.index)


def _spot(history: History, section: dict[str, Any], cal: Calibration) -> None:
    key = "pool.spot.eviction_rate_per_hour"
    counts = history.node_counts
    if counts is None or len(counts) < 2 or float(counts["spot"].max()) <= 0:
        cal.defaults[key] = "no Spot nodes in node_counts.csv" if counts is not None else "no node_counts.csv"
        return
    if counts["preempted"].isna().all():
        # Counts reconstructed from resize events: preemptions are unknown, not zero.
        cal.defaults[key] = "node_counts.csv has no preempted counts (pull --resource-id reads them)"
        return
    ordered = counts.sort_values("time")
    times = ordered["time"]
    step_h = np.diff(times.to_numpy()).astype("timedelta64[ms]").astype(float) / 3.6e6
    preempted = ordered["preempted"].fillna(0).to_numpy(float)
    running_spot = ordered["spot"].to_numpy(float) - preempted
    rate, _ = eviction_rate(preempted, running_spot, step_h, "node_counts.csv")
    cal.estimates[key] = rate
    spot: dict[str, Any] = {"eviction_rate_per_hour": round(rate.estimate or 0.0, 6)}
    section["spot"] = spot


def _start_task(history: History, section: dict[str, Any], cal: Calibration) -> None:
    key = "pool.start_task.duration"
    nodes = history.nodes
    if nodes is None or "start_task_ended" not in nodes:
        _default_lognormal(cal, key, "no nodes.csv with start task times")
        return
    durations = (nodes["start_task_ended"] - nodes["start_task_started"]).dt.total_seconds().dropna()
    fit = fit_lognormal(durations.to_numpy(float)) if len(durations) >= 2 else None
    if fit is None:
        _default_lognormal(cal, key, "fewer than two nodes report a start task")
        return
    section["start_task"] = {"duration": _lognormal_block(key, fit, "nodes.csv", cal)}


# --- tasks and workload --------------------------------------------------------------------------------------


def _failure(tasks: pd.DataFrame) -> tuple[int, int]:
    """(failed attempts, finished attempts): retries failed, and a completed task's last attempt failed
    when its exit code is not 0. A likelihood p^failures (1-p)^successes whatever the retry policy."""
    retries = tasks["retry_count"].fillna(0).to_numpy(float)
    completed = tasks["state"].fillna("").str.lower().eq("completed").to_numpy() & tasks["exit_code"].notna().to_numpy()
    final_failed = completed & (tasks["exit_code"].fillna(0).to_numpy(float) != 0)
    failures = int(retries.sum() + final_failed.sum())
    return failures, int(retries.sum() + completed.sum())


@dataclass
class _Tasks:
    """tasks.csv in seconds from the window's start, with each task's group."""

    frame: pd.DataFrame
    submit_s: np.ndarray
    duration_s: np.ndarray  # NaN unless finished
    elapsed_s: np.ndarray  # running tasks: how long they had run at the window's end, else NaN
    groups: pd.Series


def _task_times(history: History, cal: Calibration) -> _Tasks:
    tasks = history.tasks
    created = history.seconds(tasks["created"])
    started = history.seconds(tasks["started"])
    ended = history.seconds(tasks["ended"])
    missing = np.isnan(created)
    if missing.any():
        cal.notes.append(
            f"{int(missing.sum())} task(s) have no creation time (service logs do not record it): "
            "their first start stands in for their arrival, so their waits are unknown"
        )
        # The first attempt's start, not the last's (`started`): a retried task arrived before its first try.
        first = history.seconds(tasks["first_started"]) if "first_started" in tasks else np.full(len(tasks), np.nan)
        created = np.where(missing, np.where(np.isnan(first), started, first), created)
    keep = ~np.isnan(created)
    if not keep.all():
        cal.notes.append(f"{int((~keep).sum())} task(s) with neither creation nor start time skipped")
    submit = np.clip(created, 0.0, None)
    duration = ended - started
    running = np.isnan(ended) & ~np.isnan(started)
    elapsed = np.where(running, history.window_s - started, np.nan)
    job_ids = tasks["job_id"].astype(str)
    names = {job: job_group(job) for job in job_ids.unique()}
    groups = job_ids.map(names).astype(object)
    slots = tasks["required_slots"].fillna(1).astype(int).astype(str)
    if slots.nunique() > 1:
        groups = groups + np.where(slots == "1", "", "/" + slots + "-slot")
    top = groups.value_counts()
    if len(top) > _MAX_GROUPS:
        small = set(top.index[_MAX_GROUPS - 1 :])
        cal.notes.append(f"{len(small)} small job groups merged into 'other'")
        groups = groups.where(~groups.isin(small), "other")
    sel = np.flatnonzero(keep)
    return _Tasks(
        tasks.iloc[sel].reset_index(drop=True),
        submit[sel],
        duration[sel],
        elapsed[sel],
        groups.iloc[sel].reset_index(drop=True),
    )


def _duration_fit(t: _Tasks, mask: np.ndarray) -> LogNormalFit | None:
    exact = t.duration_s[mask]
    exact = exact[~np.isnan(exact)]
    censored = t.elapsed_s[mask]
    censored = censored[~np.isnan(censored) & (censored > 0)]
    return fit_lognormal(exact, censored)


def _trace(history: History, t: _Tasks, cal: Calibration, trace_path: str) -> dict[str, Any]:
    """One trace entry replaying every task; running tasks get the mean of their group's fit beyond
    what they had run, queued ones the group's mean (honest censoring, docs/history.md)."""
    duration = t.duration_s.copy()
    for group in t.groups.unique():
        mask = (t.groups == group).to_numpy()
        fit = _duration_fit(t, mask)
        unknown = mask & np.isnan(duration)
        if not unknown.any():
            continue
        if fit is None:
            known = t.duration_s[mask & ~np.isnan(t.duration_s)]
            fill = float(np.mean(known)) if len(known) else 60.0
            duration[unknown] = np.maximum(np.nan_to_num(t.elapsed_s[unknown]), fill)
        else:
            duration[unknown] = conditional_mean_above(fit.mu, fit.sigma, np.nan_to_num(t.elapsed_s[unknown]))
    frame = t.frame
    trace = pd.DataFrame(
        {
            "submit_s": np.round(t.submit_s, 3),
            "duration_s": np.round(np.maximum(duration, 0.0), 3),
            "slots": frame["required_slots"].fillna(1).astype(int).to_numpy(),
            "job": frame["job_id"].astype(str).to_numpy(),
            "priority": frame["job_priority"].fillna(0).astype(int).to_numpy(),
        }
    ).sort_values("submit_s", kind="stable")
    cal.trace = trace
    failures, attempts = _failure(frame)
    failure = binomial(failures, attempts, "tasks.csv")
    entry: dict[str, Any] = {
        "kind": "trace",
        "path": trace_path,
        "origin": "zero",
        "max_required_slots": int(trace["slots"].max()) if len(trace) else 1,
    }
    if failure.estimate:
        entry["failure_probability"] = round(failure.estimate, 6)
        retries = frame["retry_count"].fillna(0)
        entry["max_retry_count"] = int(retries.max()) if len(retries) else 0
    cal.estimates["workload.0.failure_probability"] = failure
    window_h = history.window_s / 3600
    cal.estimates["workload.0.rate_per_hour"] = poisson_rate(len(trace), window_h, "tasks.csv")
    if _collections(t.submit_s, window_h, "workload.0", cal) is not None:
        cal.notes.append("workload.0: the trace replays the collections as recorded")
    fit = _duration_fit(t, np.ones(len(t.submit_s), bool))
    if fit is not None:
        median, sigma = fit.estimates("tasks.csv")
        cal.estimates["workload.0.task_duration.median"] = median
        cal.estimates["workload.0.task_duration.sigma"] = sigma
    return entry


def _collections(
    submit_s: np.ndarray,
    window_h: float,
    prefix: str,
    cal: Calibration,
    clock: Callable[[np.ndarray], np.ndarray] | None = None,
    hourly: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any] | None:
    """Batch arrivals (tasks sharing creation instants), estimated and said (batchsim.history.arrivals):
    the entry's `collections:` block, or None when tasks come one at a time. Rate intervals of the
    group (tasks per hour, per hour of day) are widened for the counts' over-dispersion.

    clock, hourly: the fitted rates' clock and the hourly (counts, exposure hours) they came from.
    The intervals' dispersion is measured on that clock only when the counts reject a flat rate:
    on a flat one, 24 fitted rates from two days soak up the clumps and read CV² 4 as 3.3."""
    found = collections(submit_s, window_h)
    if found is not None and clock is not None and hourly is not None and rates_vary(*hourly, found.count_dispersion):
        found = collections(submit_s, window_h, clock)
    if found is None:
        chance = chance_share(submit_s, window_h)
        why = f"; one-at-a-time arrivals share {chance:.0%} at the times' resolution" if chance >= BATCH_SHARE else ""
        cal.notes.append(
            f"{prefix}: tasks arrive one at a time, not in collections ({shared_share(submit_s):.0%} share a"
            f" creation instant; collections need {BATCH_SHARE:.0%} and three instants{why})"
        )
        return None
    cal.estimates[f"{prefix}.collections.rate_per_hour"] = found.rate
    cal.estimates[f"{prefix}.collections.size"] = found.size
    cal.estimates[f"{prefix}.collections.interval_dispersion"] = found.dispersion
    if clock is not None:  # a fitted entry: the key the block sets, as the calibration block's keys are
        cal.estimates[f"{prefix}.collections.interval_cv2"] = found.dispersion
    rates = [key for key in cal.estimates if key == f"{prefix}.rate_per_hour" or key.startswith(f"{prefix}.hourly_")]
    for key in rates:
        cal.estimates[key] = widened(cal.estimates[key], found.count_dispersion)
    cal.notes.append(
        f"{prefix}: tasks arrive in collections (mean {found.size.estimate:.3g} tasks, "
        f"{found.rate.estimate:.4g} per hour, interval dispersion {found.dispersion.estimate:.3g}); "
        f"the task rate's intervals are widened {math.sqrt(max(found.count_dispersion, 1.0)):.3g}× for it"
    )
    cv2 = found.dispersion.estimate
    return {
        "sizes": found.sizes,
        "interval_cv2": round(cv2, 4) if cv2 is not None and math.isfinite(cv2) and cv2 > 0 else 1.0,
    }


def _exposure_h(window_s: float, block_s: float, cycle: int) -> np.ndarray:
    """Hours of the window in each position of a cycle of blocks (hour of day, day of week) from its start."""
    starts = np.arange(0.0, window_s, block_s)
    lengths = np.minimum(block_s, window_s - starts)
    exposure: np.ndarray = np.bincount((np.arange(len(starts)) % cycle), weights=lengths, minlength=cycle) / 3600
    return exposure


def _fitted(history: History, t: _Tasks, cal: Calibration) -> list[dict[str, Any]]:
    """A diurnal entry per job group: hourly rates (and weekday factors over a week), log-normal durations."""
    window_s = history.window_s
    exposure_h = _exposure_h(window_s, 3600.0, 24)
    week = window_s >= WEEK_S - WEEK_TOLERANCE_S
    entries: list[dict[str, Any]] = []
    frame = t.frame
    for index, group in enumerate(t.groups.value_counts().index):
        mask = (t.groups == group).to_numpy()
        submit = t.submit_s[mask]
        hour_index = ((submit // 3600) % 24).astype(int)
        counts = np.bincount(hour_index, minlength=24)
        prefix = f"workload.{index}"
        rates = []
        for h in range(24):
            estimate = poisson_rate(int(counts[h]), float(exposure_h[h]), "tasks.csv")
            cal.estimates[f"{prefix}.hourly_rates_per_hour.{h}"] = estimate
            rates.append(round(float(estimate.estimate or 0.0), 4))
        cal.estimates[f"{prefix}.rate_per_hour"] = poisson_rate(int(mask.sum()), window_s / 3600, "tasks.csv")
        entry: dict[str, Any] = {"kind": "diurnal", "job": str(group), "hourly_rates_per_hour": rates}
        if week:
            day_index = ((submit // 86400) % 7).astype(int)
            day_counts = np.bincount(day_index, minlength=7)
            day_exposure = _exposure_h(window_s, 86400.0, 7)
            overall = float(mask.sum()) / (window_s / 3600)
            factors = []
            for d in range(7):
                estimate = poisson_rate(int(day_counts[d]), float(day_exposure[d]), "tasks.csv", scale=1 / overall)
                cal.estimates[f"{prefix}.weekday_factors.{d}"] = estimate
                factors.append(round(float(estimate.estimate or 0.0), 4))
            entry["weekday_factors"] = factors
        clock = rate_clock(rates, entry.get("weekday_factors"))
        batch = _collections(submit, window_s / 3600, prefix, cal, clock, (counts, exposure_h))
        if batch is not None:
            entry["collections"] = batch
        fit = _duration_fit(t, mask)
        if fit is not None:
            entry["task_duration"] = _lognormal_block(f"{prefix}.task_duration", fit, "tasks.csv", cal)
        else:
            known = t.duration_s[mask & ~np.isnan(t.duration_s)]
            value = float(known[0]) if len(known) else 60.0
            entry["task_duration"] = {"dist": "constant", "value": round(value, 3)}
            _default_lognormal(cal, f"{prefix}.task_duration", f"fewer than two finished tasks in group '{group}'")
        slots = frame["required_slots"][mask].fillna(1).astype(int)
        entry["required_slots"] = int(slots.mode().iloc[0]) if len(slots) else 1
        priority = frame["job_priority"][mask].fillna(0)
        entry["priority"] = int(np.clip(priority.median() if len(priority) else 0, -1000, 1000))
        failures, attempts = _failure(frame[mask])
        failure = binomial(failures, attempts, "tasks.csv")
        cal.estimates[f"{prefix}.failure_probability"] = failure
        if failure.estimate:
            entry["failure_probability"] = round(failure.estimate, 6)
            entry["max_retry_count"] = int(frame["retry_count"][mask].fillna(0).max())
        entries.append(entry)
    return entries


def calibrate(history: History, *, workload: WorkloadKind = "trace", trace_path: str = "trace.csv") -> Calibration:
    """Fit a scenario to `history`. trace_path: the trace file's path as the scenario will name it."""
    cal = Calibration(document={})
    cal.notes.extend(history.warnings)
    section = _pool_section(history, cal)
    _provisioning(history, section, cal)
    _spot(history, section, cal)
    _start_task(history, section, cal)
    latency, why = scheduler_latency(history)
    if latency is not None and latency.estimate is not None:
        section["scheduler_latency"] = round(latency.estimate, 3)
        cal.estimates["pool.scheduler_latency"] = latency
    else:
        cal.defaults["pool.scheduler_latency"] = why
    document: dict[str, Any] = {
        "name": f"{history.pool_id}-calibrated",
        "description": (
            f"Calibrated by batchsim from the history of pool '{history.pool_id}' "
            f"({iso(history.window_start)} .. {iso(history.window_end)})"
        ),
        "duration": round(history.window_s, 3),
        "seed": 1,
        "start": iso(history.window_start),
        "pool": section,
    }
    prices = _prices(section, cal)
    if prices is not None:
        document["prices"] = prices
    t = _task_times(history, cal)
    if len(t.submit_s) == 0:
        cal.notes.append("tasks.csv records no task in the window: the workload is empty")
        document["workload"] = []
    elif workload == "trace":
        document["workload"] = [_trace(history, t, cal, trace_path)]
    else:
        document["workload"] = _fitted(history, t, cal)
    document["calibration"] = cal.block()
    cal.document = document
    return cal
