"""Estimators with 95 % intervals for calibrate (each named and justified in docs/history.md).

- Arrival rates: Poisson counts over an exposure, exact (Garwood) interval.
- Spot evictions: the exact transition law of the preempted-node count between samples (M/M/∞).
- Probabilities (task attempt failure): the binomial proportion with the Wilson score interval,
  which keeps its coverage near 95 % for small counts and proportions near 0, where the Wald
  interval does not.
- Log-normal durations: maximum likelihood; without censoring the closed form with the exact t
  interval for the log-median and the chi-square interval for sigma; with right-censored values
  (tasks still running) the numerical MLE with Wald intervals from the observed information.
- Provisioning delays: a resize that adds n nodes completes when the slowest is ready, so its
  duration is the maximum of n draws; the likelihood of each resize is that of the maximum
  (`F^n`, per kind), right-censored when the resize stopped before completing.

scipy does the optimisation and the distributions; what is written here is only the likelihoods,
which no library provides for maxima of mixed-kind node draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "MIN_COMPLETED_RESIZES",
    "SIGMA_BOUNDS",
    "Estimate",
    "LogNormalFit",
    "MaxFit",
    "binomial",
    "conditional_mean_above",
    "eviction_rate",
    "fit_lognormal",
    "fit_max_lognormal",
    "poisson_rate",
    "wald_se",
]

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """One estimate in the fixed `calibration:` shape: value, 95 % interval, sample size, where from."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int
    source: str

    def as_dict(self) -> dict[str, float | int | str | None]:
        def clean(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), 6)

        return {
            "estimate": clean(self.estimate),
            "low": clean(self.low),
            "high": clean(self.high),
            "n": int(self.n),
            "source": self.source,
        }


def poisson_rate(count: int, exposure: float, source: str, *, scale: float = 1.0) -> Estimate:
    """`count` events over `exposure` (e.g. hours): rate with the exact Garwood interval.

    scale: multiplies estimate and bounds (a detection correction, see `eviction_rate`).
    """
    if exposure <= 0:
        return Estimate(None, None, None, count, source)
    low = float(stats.chi2.ppf(0.025, 2 * count)) / 2 if count > 0 else 0.0
    high = float(stats.chi2.ppf(0.975, 2 * count + 2)) / 2
    scale = float(scale)
    return Estimate(scale * count / exposure, scale * low / exposure, scale * high / exposure, count, source)


def eviction_rate(
    preempted: np.ndarray, running: np.ndarray, step_h: np.ndarray, source: str
) -> tuple[Estimate, float]:
    """Eviction rate per running Spot node-hour from the preempted-node count sampled at intervals.

    The count is an immigration–death process: running nodes are evicted at rate λ each, preempted
    ones leave that state (restored or removed) at rate ν each. Over an interval of length Δ with x
    running nodes, the count after is Binomial(p, e^(−νΔ)) survivors plus Poisson(λxΔ·(1−e^(−νΔ))/(νΔ))
    new evictions still preempted: the exact transition law (M/M/∞). Its likelihood over every
    interval counts the evictions a restore in the same minute masks, and those restored before
    any sample saw them, which the count's increases alone miss. Returns λ (Wald interval on
    log λ, n the increases seen) and ν per hour.
    """
    p0 = np.asarray(preempted[:-1]).round().astype(int)
    p1 = np.asarray(preempted[1:]).round().astype(int)
    exposure = np.asarray(running[:-1], dtype=float) * step_h
    increases = int(np.maximum(p1 - p0, 0).sum())
    total = float(exposure.sum())
    if total <= 0:
        return Estimate(None, None, None, 0, source), 0.0
    if increases == 0:
        return poisson_rate(0, total, source), 0.0
    survivors = np.arange(0, int(max(p0.max(), 0)) + 1)[None, :]

    def nll(theta: np.ndarray) -> float:
        lam, nu = math.exp(theta[0]), math.exp(theta[1])
        stay = np.exp(-nu * step_h)
        arrivals = lam * exposure * np.where(nu * step_h > 1e-9, (1 - stay) / (nu * step_h), 1.0)
        log_survive = stats.binom.logpmf(survivors, p0[:, None], stay[:, None])
        log_new = stats.poisson.logpmf(p1[:, None] - survivors, np.maximum(arrivals, 1e-300)[:, None])
        value = special.logsumexp(log_survive + log_new, axis=1).sum()
        return -float(value) if np.isfinite(value) else 1e300

    preempted_h = float((p0 * step_h).sum())
    start = np.array([math.log(increases / total), math.log(max(increases / max(preempted_h, 1e-6), 1e-3))])
    fit = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    se = wald_se(nll, fit.x)
    log_lam = float(fit.x[0])
    estimate = Estimate(
        math.exp(log_lam), math.exp(log_lam - Z95 * se[0]), math.exp(log_lam + Z95 * se[0]), increases, source
    )
    return estimate, math.exp(float(fit.x[1]))


def binomial(successes: int, trials: int, source: str) -> Estimate:
    """A proportion with the Wilson score interval."""
    if trials <= 0:
        return Estimate(None, None, None, 0, source)
    p = successes / trials
    z2 = Z95**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), trials, source)


@dataclass(frozen=True)
class LogNormalFit:
    """A log-normal fit: log-median `mu`, shape `sigma`, and 95 % intervals for median and sigma."""

    mu: float
    sigma: float
    median_low: float
    median_high: float
    sigma_low: float
    sigma_high: float
    n: int
    censored: int

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    def estimates(self, source: str) -> tuple[Estimate, Estimate]:
        """(median, sigma) as `Estimate`s."""
        return (
            Estimate(self.median, self.median_low, self.median_high, self.n, source),
            Estimate(self.sigma, self.sigma_low, self.sigma_high, self.n, source),
        )


_FLOOR_S = 1e-3  # a zero duration (start and end in the same millisecond) is taken as 1 ms


def fit_lognormal(values: np.ndarray, censored_at: np.ndarray | None = None) -> LogNormalFit | None:
    """MLE of a log-normal from exact `values` and values known only to exceed `censored_at`.

    None with fewer than two exact values (nothing to estimate a spread from).
    """
    x = np.log(np.maximum(np.asarray(values, dtype=float), _FLOOR_S))
    c = np.log(np.maximum(np.asarray(censored_at if censored_at is not None else [], dtype=float), _FLOOR_S))
    n = len(x)
    if n < 2:
        return None
    if len(c) == 0 or not np.isfinite(c).any():
        mu = float(x.mean())
        s = float(x.std(ddof=1))
        if s <= 0:
            return LogNormalFit(mu, 0.0, math.exp(mu), math.exp(mu), 0.0, 0.0, n, 0)
        t = float(stats.t.ppf(0.975, n - 1))
        half = t * s / math.sqrt(n)
        sigma_low = s * math.sqrt((n - 1) / stats.chi2.ppf(0.975, n - 1))
        sigma_high = s * math.sqrt((n - 1) / stats.chi2.ppf(0.025, n - 1))
        sigma_mle = float(x.std(ddof=0))
        return LogNormalFit(mu, sigma_mle, math.exp(mu - half), math.exp(mu + half), sigma_low, sigma_high, n, 0)

    # The exact values enter through their count, sum and sum of squares (sufficient statistics),
    # so a million tasks cost no more per step than the few censored ones.
    n_exact, sum_x, sum_x2 = len(x), float(x.sum()), float((x * x).sum())
    log_sqrt_2pi = 0.5 * math.log(2 * math.pi)

    def nll(theta: np.ndarray) -> float:
        mu, log_s = theta
        s = math.exp(log_s)
        squares = sum_x2 - 2 * mu * sum_x + n_exact * mu * mu
        exact = -n_exact * (log_s + log_sqrt_2pi) - squares / (2 * s * s)
        above = stats.norm.logsf(c, mu, s).sum()
        return -float(exact + above)

    start = np.array([x.mean(), math.log(max(x.std(), 1e-3))])
    fit = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
    mu, log_s = (float(v) for v in fit.x)
    se = wald_se(nll, fit.x)
    return LogNormalFit(
        mu,
        math.exp(log_s),
        math.exp(mu - Z95 * se[0]),
        math.exp(mu + Z95 * se[0]),
        math.exp(log_s - Z95 * se[1]),
        math.exp(log_s + Z95 * se[1]),
        n + len(c),
        len(c),
    )


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of `f` at `x`."""
    k = len(x)
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.eye(k)[i] * step
            ej = np.eye(k)[j] * step
            value = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * step * step)
            h[i, j] = h[j, i] = value
    return h


def wald_se(nll: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    """Standard errors from the inverse observed information; inf where it is singular."""
    info = _hessian(nll, np.asarray(theta, dtype=float))
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full(len(theta), math.inf)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), math.inf)


# Per kind; below it a delay's spread is not estimable. With n exact durations the 95 % interval
# of a log-normal's sigma is s·sqrt((n−1)/χ²): at n = 10 it spans a factor 2.65 (0.69 s .. 1.83 s),
# at n = 5 a factor 4.8 and at n = 3 a factor 12, so below 10 the spread would be a guess
# (docs/history.md; sqrt(χ²(0.975, n−1) / χ²(0.025, n−1)) is the factor).
MIN_COMPLETED_RESIZES = 10
# The box the delay parameters are searched in. sigma below 0.02 (delays alike to 2 %) or above 4
# (a p95 more than 700 times the median) is no provisioning delay seen in Azure: a fit that ends
# on an edge of the box says the resizes cannot pin that kind's delay down, and is refused.
SIGMA_BOUNDS = (0.02, 4.0)


@dataclass(frozen=True)
class MaxFit:
    """Per-kind delays from resize durations: a fit per kind, or None and the reason in `refused`."""

    fits: list[LogNormalFit | None]
    used: int
    refused: dict[int, str]


def fit_max_lognormal(durations_s: np.ndarray, added: np.ndarray, completed: np.ndarray) -> MaxFit:
    """Per-kind log-normal delays from resize durations, each the slowest of the nodes it added.

    durations_s: one per resize; added: (resizes, kinds) nodes each resize added per kind;
    completed: False where the resize stopped first (its maximum exceeds the duration).

    The density of a maximum over several kinds is a sum over kinds (F_max × Σ n_k f_k / F_k), so,
    as for a mixture of normals, the likelihood is unbounded: one kind's sigma → 0 on one
    duration while the other kind explains the rest. The likelihood is bounded with the penalty
    of Chen, Tan & Zhang (2008, Statistica Sinica 18: "Inference for normal mixtures in mean and
    variance"), −a_n Σ_k (S/σ_k² + log σ_k²) with S the sample variance of the log durations and
    a_n = 1/√n, which is −∞ at σ → 0 and vanishes as n grows; and searched in `SIGMA_BOUNDS`.
    A kind whose fit still ends on a bound, or whose information is singular, is refused with
    the reason. None where fewer than `MIN_COMPLETED_RESIZES` completed resizes added that kind.
    """
    d = np.log(np.maximum(np.asarray(durations_s, dtype=float), _FLOOR_S))
    added = np.asarray(added, dtype=float)
    completed = np.asarray(completed, dtype=bool)
    kinds = added.shape[1]
    used = [k for k in range(kinds) if (added[completed, k] > 0).sum() >= MIN_COMPLETED_RESIZES]
    unused = [k for k in range(kinds) if k not in used]
    # A resize that also added nodes of a kind not fitted says nothing certain: its slowest node
    # may have been of that kind.
    keep = (added[:, used].sum(axis=1) > 0) & (added[:, unused].sum(axis=1) == 0)
    d, added, completed = d[keep], added[keep][:, used], completed[keep]
    fits: list[LogNormalFit | None] = [None] * kinds
    if len(used) == 0 or completed.sum() < 2 * len(used):
        return MaxFit(fits, 0, {})
    spread = max(float(np.var(d[completed])), SIGMA_BOUNDS[0] ** 2)
    weight = 1 / math.sqrt(len(d))

    def nll(theta: np.ndarray) -> float:
        log_cdf = np.zeros(len(d))
        hazard_sum = np.zeros(len(d))
        penalty = 0.0
        for i in range(len(used)):
            mu, log_s = theta[2 * i], theta[2 * i + 1]
            s = math.exp(log_s)
            z = (d - mu) / s
            lc = special.log_ndtr(z)
            log_cdf += added[:, i] * lc
            # density of the maximum = F_max × Σ n_k f_k / F_k, on the log scale of d
            hazard_sum += added[:, i] * np.exp(stats.norm.logpdf(z) - log_s - lc)
            penalty += weight * (spread / (s * s) + 2 * log_s)
        with np.errstate(divide="ignore"):
            exact = log_cdf[completed] + np.log(hazard_sum[completed])
            above = np.log(-np.expm1(log_cdf[~completed]))
        total = exact.sum() + above.sum() - penalty
        return -float(total) if np.isfinite(total) else 1e300

    start = []
    bounds = []
    log_sigma = (math.log(SIGMA_BOUNDS[0]), math.log(SIGMA_BOUNDS[1]))
    # A node's median delay lies below the longest resize (every node of it was ready by then).
    mu_bounds = (float(d.min()) - 3 * SIGMA_BOUNDS[1], float(d.max()))
    single = completed & (added.sum(axis=1) == added.max(axis=1))
    for i in range(len(used)):
        rows = single & (added[:, i] > 0)
        sample = d[rows] if rows.any() else d[completed]
        start += [float(np.median(sample)) - 0.3, math.log(min(max(float(np.std(sample)), 0.2), 3.0))]
        bounds += [mu_bounds, log_sigma]
    fit = optimize.minimize(
        nll,
        np.clip(np.array(start), [b[0] for b in bounds], [b[1] for b in bounds]),
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 20000},
    )
    se = wald_se(nll, fit.x)
    refused: dict[int, str] = {}
    for i, k in enumerate(used):
        mu, log_s = float(fit.x[2 * i]), float(fit.x[2 * i + 1])
        at_edge = [
            name
            for name, value, (low, high) in (("sigma", log_s, log_sigma), ("median", mu, mu_bounds))
            if min(value - low, high - value) < 1e-3
        ]
        if at_edge or not np.isfinite(se[2 * i : 2 * i + 2]).all():
            why = f"{' and '.join(at_edge)} at the edge of the plausible range" if at_edge else "singular information"
            refused[k] = (
                f"the resizes do not determine this kind's delay ({why}: sigma {math.exp(log_s):.3g}, "
                f"median {math.exp(mu):.4g} s)"
            )
            continue
        fits[k] = LogNormalFit(
            mu,
            math.exp(log_s),
            math.exp(mu - Z95 * se[2 * i]),
            math.exp(mu + Z95 * se[2 * i]),
            math.exp(log_s - Z95 * se[2 * i + 1]),
            math.exp(log_s + Z95 * se[2 * i + 1]),
            int((added[:, i] > 0).sum()),
            int(((added[:, i] > 0) & ~completed).sum()),
        )
    return MaxFit(fits, len(d), refused)


def conditional_mean_above(mu: float, sigma: float, lower_s: np.ndarray) -> np.ndarray:
    """E[X | X > c] for a log-normal X, for each c in `lower_s` (the mean where c <= 0)."""
    c = np.asarray(lower_s, dtype=float)
    if sigma <= 0:
        floor: np.ndarray = np.maximum(c, math.exp(mu))
        return floor
    log_c = np.log(np.maximum(c, 1e-12))
    numerator = special.log_ndtr((mu + sigma**2 - log_c) / sigma)
    denominator = special.log_ndtr((mu - log_c) / sigma)
    mean = np.exp(mu + sigma**2 / 2 + numerator - denominator)
    result: np.ndarray = np.where(c <= 0, math.exp(mu + sigma**2 / 2), np.maximum(mean, c))
    return result
