"""What `optimize` writes: report.md (the objective in words, the winner against the baselines on
fresh seeds, per ensemble member for robust searches), trials.csv, pareto.csv, best.formula (only
for a real improvement), front/*.formula (Pareto), and the same facts as one JSON document."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from batchsim import jsonio
from batchsim.files import write_atomically
from batchsim.measure.text import plus_minus
from batchsim.optimize.ensemble import Member
from batchsim.optimize.families import FAMILY
from batchsim.optimize.search import Candidate, OptimizeResult

__all__ = ["OutputError", "document", "render_report", "write_outputs"]


class OutputError(OSError):
    """The results could not be written; `kept` names the temporary file holding the trials."""

    def __init__(self, message: str, kept: Path | None) -> None:
        super().__init__(message)
        self.kept = kept


def _candidate(c: Candidate) -> dict[str, Any]:
    cost, cost_ci = c.cost_usd, c.cost_ci_usd
    p95, p95_ci = c.baseline.stat("wait_s_p95")
    met, met_ci = c.baseline.stat("deadline_met_fraction")
    members = {}
    for m in c.members:
        found = c.measured[m.name]
        members[m.name] = {
            "role": m.role,
            "weight": m.weight,
            "parameters": m.parameters,
            **{f"{k}": found.stat(k)[0] for k in ("cost_usd", "wait_s_p95", "deadline_met_fraction")},
            **{f"{k}_ci": found.stat(k)[1] for k in ("cost_usd", "wait_s_p95", "deadline_met_fraction")},
            "tasks_never_started": found.mean("tasks_never_started"),
        }
    return {
        "name": c.name,
        "template": c.template or None,
        "params": c.params,
        "formula": c.formula,
        "cost_usd": cost,
        "cost_usd_ci": cost_ci,
        "wait_s_p95": p95,
        "wait_s_p95_ci": p95_ci,
        "deadline_met_fraction": met,
        "deadline_met_fraction_ci": met_ci,
        "tasks_never_started": c.baseline.mean("tasks_never_started"),
        "members": members,
    }


def document(result: OptimizeResult, files: dict[str, str]) -> dict[str, Any]:
    """The JSON document of `optimize --format json` (also result.json)."""
    trials = result.trials
    return {
        "objective": result.objective.kind.value,
        "objective_text": result.objective.describe(result.members),
        "p95_wait_target_s": result.objective.p95_wait_target_s,
        "deadline_miss_target": result.objective.deadline_miss_target,
        "tail_k": result.objective.tail_k if any(m.tail for m in result.members) else None,
        "verdict": result.verdict,
        "improvement": result.improvement,
        "template": result.best.template if result.best is not None else None,
        "templates": result.families,
        "best": _candidate(result.best) if result.best is not None else None,
        "families": {
            name: {
                "trials": int((trials[FAMILY] == name).sum()) if FAMILY in trials else 0,
                "feasible": int((trials["feasible"] & (trials[FAMILY] == name)).sum()) if FAMILY in trials else 0,
                "best": _candidate(c) if c is not None else None,
            }
            for name, c in result.family_best.items()
        },
        "final": [_candidate(c) for c in result.final],
        "front": [_candidate(c) for c in result.front],
        "members": [
            {
                "name": m.name,
                "role": m.role,
                "weight": m.weight,
                "parameters": m.parameters,
                "sigma": m.sigma,
                "sigma_of": m.sigma_of or None,
            }
            for m in result.members
        ],
        "search": {
            "trials": len(trials),
            "complete": int((trials["state"] == "complete").sum()),
            "pruned": int((trials["state"] == "pruned").sum()),
            "feasible": int(trials["feasible"].sum()),
            "runs": result.search_runs,
            "seeds": result.search_seeds,
            "sampler": result.sampler,
            "sampler_seed": result.sampler_seed,
        },
        "fresh_seeds": result.fresh_seeds,
        "clairvoyant_lower_bound_usd": result.lower_bound_usd,
        "notes": result.notes,
        "files": files,
    }


def _label(c: Candidate, families: bool) -> str:
    """`optimized (spot-share: dedicatedFloor=2, ...)`: the family named when several were searched."""
    params = ", ".join(f"{k}={v:g}" for k, v in c.params.items())
    family = f"{c.template}: " if families and c.template and not c.name.endswith(c.template) else ""
    return f"{c.name} ({family}{params})" if params or family else c.name


def _families(result: OptimizeResult) -> list[str]:
    """The best of each family, on the fresh seeds (the winner is chosen on the search's seeds)."""
    trials = result.trials
    lines = [
        "",
        "Best of each family (its cheapest trial meeting the target on the search's seeds, measured on the fresh "
        "seeds):",
        "",
        "| template | trials | feasible | cost (USD) | p95 wait (s) | deadlines met |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in result.family_best.items():
        mine = trials[FAMILY] == name
        counts = f"| {name}{' (winner)' if c is not None and c is result.best else ''} | {int(mine.sum())} | "
        counts += f"{int((trials['feasible'] & mine).sum())} |"
        if c is None:
            lines.append(counts + " none met the target | | |")
            continue
        p95, p95_ci = c.baseline.stat("wait_s_p95")
        lines.append(
            f"{counts} {plus_minus(c.cost_usd, c.cost_ci_usd, '{:.2f}')} | {plus_minus(p95, p95_ci, '{:.0f}')} | "
            f"{_met(*c.baseline.stat('deadline_met_fraction'))} |"
        )
    return lines


def _met(value: float, half: float) -> str:
    return "" if not math.isfinite(value) else plus_minus(value, half, "{:.3f}")


def _sigma(m: Member) -> str:
    if m.role != "uncertainty":
        return ""
    if m.sigma is None:
        return "assumed"
    return f"{m.sigma:+.2f} σ of {m.sigma_of}"


def render_report(result: OptimizeResult) -> str:
    """report.md."""
    lower_bound_usd = result.lower_bound_usd
    objective = result.objective
    trials = result.trials
    pruned = int((trials["state"] == "pruned").sum())
    lines = [
        "# batchsim optimize",
        "",
        f"Objective: {objective.describe(result.members)}",
        "",
        f"Search: {len(trials)} trials{f' ({pruned} stopped early by successive halving)' if pruned else ''} on seeds "
        f"{result.search_seeds[0]}–{result.search_seeds[-1]}, {result.search_runs} simulated runs "
        f"({result.sampler or 'optuna'}, seed {result.sampler_seed}). "
        f"Final check on fresh seeds {result.fresh_seeds[0]}–{result.fresh_seeds[-1]}; ± is the 95 % t-interval.",
        "",
        f"**{result.verdict}**",
        "",
    ]
    shown = result.front if result.front else result.final
    if shown:
        cost_label = "expected cost (USD)" if len(result.members) > 1 else "cost (USD)"
        lines += [f"| formula | {cost_label} | p95 wait (s) | deadlines met | never started |", "|---|---|---|---|---|"]
        for c in shown:
            name = _label(c, len(result.families) > 1)
            p95, p95_ci = c.baseline.stat("wait_s_p95")
            lines.append(
                f"| {name} | {plus_minus(c.cost_usd, c.cost_ci_usd, '{:.2f}')} | {plus_minus(p95, p95_ci, '{:.0f}')} | "
                f"{_met(*c.baseline.stat('deadline_met_fraction'))} | {c.baseline.mean('tasks_never_started'):.1f} |"
            )
        if lower_bound_usd is not None:
            lines.append(f"| clairvoyant lower bound | {lower_bound_usd:.2f} | 0 | 1.000 | 0 |")
    if len(result.members) > 1 and shown:
        lines += [
            "",
            "Per ensemble member (fresh seeds): cost (USD) / p95 wait (s). σ: how far an uncertainty member is "
            "from the estimate, in standard deviations of what its group determines.",
            "",
        ]
        lines.append("| member | weight | σ | what | " + " | ".join(c.name for c in shown) + " |")
        lines.append("|---|---|---|---|" + "---|" * len(shown))
        for m in result.members:
            cells = []
            for c in shown:
                found = c.measured[m.name]
                cells.append(f"{found.mean('cost_usd'):.2f} / {found.mean('wait_s_p95'):.0f}")
            flag = " (tail)" if m.tail else ""
            lines.append(
                f"| {m.name}{flag} | {m.weight:.3g} | {_sigma(m)} | {m.describe()} | " + " | ".join(cells) + " |"
            )
    if len(result.families) > 1 and result.family_best:  # a Pareto front shows its families in its rows
        lines += _families(result)
    lines += [""] + [f"- {note}" for note in result.notes]
    return "\n".join(lines).rstrip() + "\n"


def _header(c: Candidate) -> str:
    return f"// Found by `batchsim optimize` (template {c.template}): " + jsonio.dumps(
        {k: round(v, 6) for k, v in c.params.items()}, indent=None
    )


def write_outputs(result: OptimizeResult, out: Path) -> dict[str, str]:
    """Write every file into `out`; on failure keep the trials in a temporary file (`OutputError.kept`)."""
    files: dict[str, str] = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(out / "trials.csv", result.trials.to_csv(index=False))
        write_atomically(out / "pareto.csv", result.pareto.to_csv(index=False))
        files.update({"trials": str(out / "trials.csv"), "pareto": str(out / "pareto.csv")})
        stale = out / "best.formula"
        if result.best is not None and result.improvement:
            write_atomically(stale, _header(result.best) + "\n" + result.best.formula)
            files["best_formula"] = str(stale)
        elif stale.exists():
            stale.unlink()  # a best.formula from an earlier search would read as this one's winner
        for k, c in enumerate(result.front, start=1):
            write_atomically(out / "front" / f"{k:02d}.formula", _header(c) + "\n" + c.formula)
            files[f"front_{k}"] = str(out / "front" / f"{k:02d}.formula")
        files["report"] = str(out / "report.md")
        files["result"] = str(out / "result.json")
        write_atomically(out / "report.md", render_report(result))
        write_atomically(out / "result.json", jsonio.dumps(document(result, files)) + "\n")
    except OSError as exc:
        kept = None
        try:
            handle, name = tempfile.mkstemp(prefix="batchsim-trials-", suffix=".csv")
            with open(handle, "w", encoding="utf-8") as stream:
                stream.write(result.trials.to_csv(index=False))
            kept = Path(name)
        except OSError:
            pass
        where = f"; the trials are kept in {kept}" if kept else ""
        raise OutputError(f"{out}: cannot write the results ({exc.strerror or exc}){where}", kept) from None
    return files
