"""Whether the search's winner is an improvement on the fresh seeds, and one line saying so."""

from __future__ import annotations

import math

from batchsim.measure.stats import paired_difference
from batchsim.optimize.candidates import Candidate
from batchsim.optimize.objective import Objective

__all__ = ["verdict"]


def verdict(
    best: Candidate | None,
    own: Candidate | None,
    own_name: str,
    objective: Objective,
    multi: bool,
    front: list[Candidate],
) -> tuple[bool | None, str]:
    """Whether the winner is an improvement on the fresh seeds, and one line saying why.

    An improvement meets the target there and is cheaper than the scenario's formula (the paired
    interval excludes no difference), or meets a target that formula misses. A winner that misses
    the target is one only when the scenario's formula misses it too, by no less, and the line says so.
    """
    if multi:
        return None, f"{len(front)} points of the cost / p95-wait front, measured on fresh seeds."
    if best is None:
        return False, "No candidate met the target within the budget: raise --budget or relax the target."
    ours = best.score(objective)
    if own is None:
        if not ours.feasible:
            return False, (
                f"No improvement found: the best candidate misses the target on the fresh seeds (worst violation "
                f"{ours.violation:+.0%}); best.formula is not written."
            )
        return True, "The scenario has no formula of its own to compare with; the winner meets the target."
    against = f"the {own_name}"
    diff, half = paired_difference(best.per_seed_cost(), own.per_seed_cost())
    theirs = own.score(objective)
    pct = diff / own.cost_usd if own.cost_usd else math.nan
    interval_text = f"paired difference {diff:+.2f} ± {half:.2f} USD"
    cheaper = diff < 0 and not diff + half >= 0  # the interval excludes no difference (NaN: one seed)
    if not ours.feasible:
        if theirs.feasible:
            return False, (
                f"No improvement found: the best candidate misses the target on the fresh seeds (worst violation "
                f"{ours.violation:+.0%}) while {against} meets it; best.formula is not written."
            )
        if cheaper and ours.violation <= theirs.violation:
            return True, (
                f"Improvement, but neither meets the target on the fresh seeds: {-pct:.1%} cheaper than {against} "
                f"({interval_text}); worst violation {ours.violation:+.0%} against {theirs.violation:+.0%}."
            )
        return False, (
            f"No improvement found: neither the best candidate (worst violation {ours.violation:+.0%}) nor "
            f"{against} ({theirs.violation:+.0%}) meets the target on the fresh seeds, and the candidate is not "
            f"both cheaper ({interval_text}) and nearer to it; best.formula is not written."
        )
    if cheaper:
        return True, f"Improvement: {-pct:.1%} cheaper than {against} on the fresh seeds ({interval_text})."
    if not theirs.feasible:
        return True, f"The {own_name} misses the target on the fresh seeds; the winner meets it at {pct:+.1%} cost."
    if diff < 0:
        return False, (
            f"No improvement found: the best candidate is {-pct:.1%} cheaper than {against} on the fresh "
            f"seeds, within the noise ({interval_text}); best.formula is not written."
        )
    return False, (
        f"No improvement found: the best candidate costs {pct:+.1%} against {against} on the fresh "
        f"seeds ({interval_text}); best.formula is not written."
    )
