"""What `batchsim plan` writes: plan.json, scenario.yaml, pool.json, report.md and trials.csv.

pool.json is the body of a Batch REST pool-add request (`POST /pools`) for a NEW pool (a pool's VM
size cannot change): id, vmSize, taskSlotsPerNode, taskSchedulingPolicy.nodeFillType, autoscale
with the planned formula, and what the scenario knows of the image: the OS chooses a Batch
marketplace image and its node agent (`--image`, `--node-agent-sku` change them) and the workload's
container images become the pool's containerConfiguration. It is written only when the plan is an
improvement; `batchsim pool create` sends it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from batchsim import jsonio
from batchsim.measure.runs import resolve, with_formula
from batchsim.measure.stats import paired_difference
from batchsim.plan.search import Planned, PlanResult
from batchsim.units import format_duration

__all__ = ["DEFAULT_IMAGES", "document", "idle_slot_share", "pool_body", "render_report", "write_outputs"]

# Batch marketplace images with their node agent (learn.microsoft.com/azure/batch/batch-linux-nodes,
# `az batch pool supported-images list`): what a pool of the scenario's OS is created with unless told.
DEFAULT_IMAGES: dict[str, tuple[dict[str, str], str]] = {
    "linux": (
        {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
        "batch.node.ubuntu 24.04",
    ),
    "windows": (
        {
            "publisher": "microsoftwindowsserver",
            "offer": "windowsserver",
            "sku": "2022-datacenter",
            "version": "latest",
        },
        "batch.node.windows amd64",
    ),
}


def idle_slot_share(planned: Planned) -> float:
    """Of the slot-seconds the ready nodes offered on the fresh seeds, the share no task used."""
    busy = offered = 0.0
    slots = planned.scenario.pool.task_slots_per_node
    for result in planned.candidate.baseline.results:
        if result is None:
            continue
        tasks = result.tasks
        done = tasks[tasks["state"] == "completed"]
        busy += float((done["duration_s"] * done["required_slots"]).sum())
        nodes = result.nodes
        # Ready nodes, and nodes leaving the pool while their tasks finish (taskcompletion).
        ready = nodes[nodes["state"].isin(["idle", "running", "leavingpool"])]
        offered += float((ready["end_s"] - ready["start_s"]).sum()) * slots
    return 1.0 - busy / offered if offered else math.nan


def _metrics(planned: Planned) -> dict[str, Any]:
    c = planned.candidate
    met, met_ci = c.baseline.stat("deadline_met_fraction")
    return {
        "cost_usd": c.cost_usd,
        "cost_usd_ci": c.cost_ci_usd,
        "wait_s_p95": c.p95_wait_s,
        "wait_s_p95_ci": c.p95_ci_s,
        "deadline_met_fraction": met,
        "deadline_met_fraction_ci": met_ci,
        "cost_per_task_usd": c.baseline.mean("cost_per_completed_task_usd"),
        "idle_slot_share": idle_slot_share(planned),
        "nodes_mean": _nodes_mean(planned),
    }


def _nodes_mean(planned: Planned) -> float:
    hours = planned.scenario.duration / 3600
    c = planned.candidate
    return (c.baseline.mean("node_hours_dedicated") + c.baseline.mean("node_hours_spot")) / hours


def _shape(planned: Planned) -> dict[str, Any]:
    pool = planned.scenario.pool
    return {
        "vm_size": pool.vm_size,
        "task_slots_per_node": pool.task_slots_per_node,
        "node_fill_type": pool.node_fill_type,
        "template": planned.candidate.template or None,
        "params": planned.candidate.params,
        "formula": planned.candidate.formula,
        **_metrics(planned),
    }


def document(result: PlanResult, files: dict[str, str] | None = None) -> dict[str, Any]:
    """plan.json: the winner's shape and formula with intervals, the own pool's (`baseline`), the verdict."""
    empty = dict.fromkeys(("vm_size", "task_slots_per_node", "node_fill_type", "template", "params", "formula"))
    head = _shape(result.best) if result.best is not None else empty
    quota = {s.family: s.quota_cores for s in result.sizes}
    return {
        **head,
        "baseline": _shape(result.own),
        "own_shape": _own_shape(result),
        "improvement": result.improvement,
        "verdict": result.verdict,
        "quota": quota,
        "per_size": {name: (_shape(p) if p is not None else None) for name, p in result.per_size.items()},
        "sizes": [
            {
                "vm_size": s.vm_size,
                "family": s.family,
                "vcpus": s.vcpus,
                "memory_gib": s.memory_gib,
                "speed": s.speed,
                "duration_factor": s.duration_factor,
                "slots_max": s.slots_max,
                "slots_bound_by": s.slots_bound_by,
                "slot_choices": list(s.slot_choices),
                "max_dedicated_nodes": s.max_dedicated_nodes,
                "max_spot_nodes": s.max_spot_nodes,
            }
            for s in result.sizes
        ],
        "excluded": [{"vm_size": e.vm_size, "reason": e.reason} for e in result.excluded],
        "objective": result.objective.kind.value,
        "search_seeds": result.search_seeds,
        "fresh_seeds": result.fresh_seeds,
        "search_runs": result.search_runs,
        "trials": len(result.trials),
        "families": result.families,
        "notes": result.notes,
        "files": files or {},
    }


def _own_shape(result: PlanResult) -> dict[str, Any] | None:
    """The best formula on the scenario's own pool shape, and the winner's paired difference against it."""
    if result.own_shape is None:
        return None
    found = _shape(result.own_shape)
    if result.best is not None:
        found["winner_cost_diff_usd"], found["winner_cost_diff_usd_ci"] = paired_difference(
            result.best.candidate.per_seed_cost(), result.own_shape.candidate.per_seed_cost()
        )
    return found


def pool_body(
    planned: Planned,
    pool_id: str,
    image: dict[str, str] | None = None,
    node_agent_sku: str | None = None,
) -> dict[str, Any]:
    """The REST pool-add body for the planned pool."""
    pool = planned.scenario.pool
    default_image, default_agent = DEFAULT_IMAGES[pool.os]
    autoscale = pool.autoscale
    interval_s = autoscale.interval if autoscale is not None else 900.0
    body: dict[str, Any] = {
        "id": pool_id,
        "vmSize": pool.vm_size,
        "virtualMachineConfiguration": {
            "imageReference": image or default_image,
            "nodeAgentSKUId": node_agent_sku or default_agent,
        },
        "taskSlotsPerNode": pool.task_slots_per_node,
        "taskSchedulingPolicy": {"nodeFillType": pool.node_fill_type},
        "enableAutoScale": True,
        "autoScaleFormula": planned.candidate.formula,
        "autoScaleEvaluationInterval": _iso_duration(interval_s),
    }
    if pool.inter_node_communication:  # multi-instance tasks run only on such a pool; set at creation only
        body["enableInterNodeCommunication"] = True
    images = sorted({str(image) for e in planned.scenario.workload if (image := getattr(e, "container_image", None))})
    if images:
        body["virtualMachineConfiguration"]["containerConfiguration"] = {
            "type": "dockerCompatible",
            "containerImageNames": images,
        }
    return body


def _iso_duration(seconds: float) -> str:
    """ISO 8601 as the service writes intervals (PT15M, PT1H30M)."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")


def _planned_yaml(planned: Planned) -> str:
    scenario = resolve(with_formula(planned.scenario, planned.candidate.formula))
    data = scenario.model_dump(mode="json")
    header = f"# batchsim plan: {scenario.name}; run it with `batchsim simulate scenario.yaml`.\n"
    return header + str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def write_outputs(
    result: PlanResult,
    out: Path,
    *,
    pool_id: str,
    image: dict[str, str] | None = None,
    node_agent_sku: str | None = None,
) -> dict[str, str]:
    """Write the plan's files into `out`; the names written, by kind."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"plan": "plan.json", "report": "report.md", "trials": "trials.csv"}
    result.trials.to_csv(out / "trials.csv", index=False)
    if result.best is not None:
        (out / "scenario.yaml").write_text(_planned_yaml(result.best), encoding="utf-8")
        files["scenario"] = "scenario.yaml"
        if result.improvement:
            body = pool_body(result.best, pool_id, image, node_agent_sku)
            (out / "pool.json").write_text(jsonio.dumps(body) + "\n", encoding="utf-8")
            files["pool"] = "pool.json"
    (out / "report.md").write_text(render_report(result), encoding="utf-8")
    (out / "plan.json").write_text(jsonio.dumps(document(result, files)) + "\n", encoding="utf-8")
    return files


def _fmt(value: float, ci: float, spec: str) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:{spec}}" if math.isnan(ci) else f"{value:{spec}} ± {ci:{spec.replace('+', '')}}"


def render_report(result: PlanResult) -> str:
    """report.md (also the terminal's text): each size's best side by side, the verdict and why."""
    lines = ["# Pool plan", "", result.verdict, ""]
    lines.append(f"Objective: {result.objective.describe(result.own.candidate.members)}")
    lines.append(
        f"Search: {len(result.trials)} trials on seeds {result.search_seeds[0]}..{result.search_seeds[-1]} "
        f"({result.search_runs} runs); the table: fresh seeds {result.fresh_seeds[0]}..{result.fresh_seeds[-1]}, "
        "95 % intervals."
    )
    lines += [
        "",
        "| pool | slots | fill | formula | cost (USD) | p95 wait (s) | deadlines met | nodes (mean) "
        "| cost per task (USD) | idle slots |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows: list[tuple[str, Planned]] = [("own pool: " + result.own.scenario.pool.vm_size, result.own)]
    if result.own_shape is not None:
        rows.append(("best formula on the own shape", result.own_shape))
    rows += [
        (name + ((" (winner)" if result.improvement else " (search's best)") if p is result.best else ""), p)
        for name, p in result.per_size.items()
        if p is not None
    ]
    for name, planned in rows:
        m = _metrics(planned)
        pool = planned.scenario.pool
        lines.append(
            f"| {name} | {pool.task_slots_per_node} | {pool.node_fill_type} | {planned.candidate.template or 'own'} "
            f"| {_fmt(m['cost_usd'], m['cost_usd_ci'], '.2f')} | {_fmt(m['wait_s_p95'], m['wait_s_p95_ci'], '.0f')} "
            f"| {_fmt(m['deadline_met_fraction'], m['deadline_met_fraction_ci'], '.3f')} | {m['nodes_mean']:.1f} "
            f"| {m['cost_per_task_usd']:.5f} | {m['idle_slot_share']:.0%} |"
        )
    for name in [n for n, p in result.per_size.items() if p is None]:
        lines.append(f"| {name} | – | – | no trial met the target | | | | | | |")
    if result.best is not None:
        heading = "Why the winner wins" if result.improvement else "The search's best, which is not an improvement"
        lines += ["", f"## {heading}", "", _why(result)]
    if result.excluded:
        lines += ["", "## Sizes left out", ""]
        lines += [f"- {e.vm_size}: {e.reason}" for e in result.excluded]
    lines += ["", "## Sizes", ""]
    for s in result.sizes:
        quota = (
            "no quota" if s.quota_cores is None else f"{s.quota_cores} dedicated cores ({s.max_dedicated_nodes} nodes)"
        )
        speed = "same per-core speed as the scenario's size" if s.speed is None else f"speed {s.speed:g} ACU per vCPU"
        lines.append(
            f"- {s.vm_size} ({s.family}, {s.vcpus} vCPUs, {s.memory_gib:g} GiB): {speed}, task durations × "
            f"{s.duration_factor:.3f}; at most {s.slots_max} slots per node ({s.slots_bound_by}); tried "
            f"{', '.join(map(str, s.slot_choices))}; {quota}."
        )
    for note in result.notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _why(result: PlanResult) -> str:
    assert result.best is not None
    ours, theirs = _metrics(result.best), _metrics(result.own)
    pool, own_pool = result.best.scenario.pool, result.own.scenario.pool
    sizes = {s.vm_size: s for s in result.sizes}
    size = sizes[pool.vm_size]
    parts = [
        f"{pool.vm_size} with {pool.task_slots_per_node} slots per node ({pool.node_fill_type}; what a task needs "
        f"allows {size.slots_max}, bounded by {size.slots_bound_by}) pays {ours['cost_per_task_usd']:.5f} USD per "
        f"completed task against {theirs['cost_per_task_usd']:.5f} on the scenario's own pool ({own_pool.vm_size}, "
        f"{own_pool.task_slots_per_node} per node), with {ours['idle_slot_share']:.0%} of its ready "
        f"slot-time idle against {theirs['idle_slot_share']:.0%}."
    ]
    if pool.vm_size in sizes and own_pool.vm_size in sizes:
        mine, own = sizes[pool.vm_size], sizes[own_pool.vm_size]
        per_slot = mine.prices.dedicated_per_hour / pool.task_slots_per_node
        own_per_slot = own.prices.dedicated_per_hour / own_pool.task_slots_per_node
        parts.append(
            f"A dedicated slot-hour costs {per_slot:.4f} USD there against {own_per_slot:.4f}, and a task runs "
            f"× {mine.duration_factor:.3f} as long."
        )
    own_shape = _own_shape(result)
    if own_shape is not None and "winner_cost_diff_usd" in own_shape:
        parts.append(
            "Against the best formula the search found on the scenario's own pool shape (what `optimize` can reach): "
            f"{_fmt(own_shape['winner_cost_diff_usd'], own_shape['winner_cost_diff_usd_ci'], '+.2f')} USD "
            "(paired, fresh seeds)."
        )
    interval = result.best.scenario.pool.autoscale
    if interval is not None:
        parts.append(
            f"Its formula ({result.best.candidate.template}) is evaluated every {format_duration(interval.interval)}."
        )
    return " ".join(parts)
