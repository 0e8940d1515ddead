"""Design-based recording-rate estimates from an audited probability sample.

The recording rate is a ratio of totals over the population of records,
``p = sum(recorded) / sum(should_record)``, estimated by the combined stratified ratio
estimator ``p^ = Y^ / X^`` with ``Y^ = sum_h N_h ybar_h`` and ``X^ = sum_h N_h xbar_h``.
Its variance is the usual linearisation (Cochran 1977, 6.11):

    V(p^) = 1/X^^2 * sum_h N_h^2 (1 - n_h/N_h) s_eh^2 / n_h,   e_i = y_i - p^ x_i

and the interval is ``p^ +- t_{df} * sqrt(V)`` with ``df = n - H``, clipped to [0, 1]. A
simple random sample is the one-stratum case. The unrecorded crimes in a year, as
inspections compute them from recorded crime ``R``, are ``U = R (1 - p) / p``; U falls as
p rises, so its interval is U at the interval's ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class RatioEstimate:
    """One domain's recording rate with its interval and the totals behind it."""

    domain: str
    rate: float | None
    se: float | None
    low: float | None
    high: float | None
    confidence: float
    df: int
    records: int  # audited records
    crimes: int  # audited crimes that should have been recorded, in the domain
    recorded: int  # of which recorded
    total_should_record: float  # X^: estimated population total
    total_unrecorded: float  # X^ - Y^
    total_unrecorded_se: float
    notes: list[str] = field(default_factory=list)

    @property
    def half_width(self) -> float | None:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    def to_json_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["half_width"] = self.half_width
        return out


def _t_quantile(confidence: float, df: int) -> float:
    from scipy.stats import norm, t

    q = 0.5 + confidence / 2
    return float(t.ppf(q, df)) if df > 0 else float(norm.ppf(q))


def stratified_ratio(
    y: np.ndarray,
    x: np.ndarray,
    strata: Sequence[str] | np.ndarray,
    stratum_sizes: Mapping[str, int],
    *,
    confidence: float = 0.95,
    domain: str = "overall",
    method: str = "wilson",
) -> RatioEstimate:
    """The combined stratified ratio estimate of sum(y)/sum(x) and its linearised interval.

    ``y``, ``x``: per audited record (recorded, should have been recorded); ``strata``: the
    stratum of each audited record; ``stratum_sizes``: N_h for every stratum of the frame
    (strata without audited records contribute nothing and are named in ``notes``).
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    strata = np.asarray(strata, dtype=object).astype(str)
    notes: list[str] = []
    names, codes = np.unique(strata, return_inverse=True)
    n_h = np.bincount(codes, minlength=len(names)).astype(float)
    big_n = np.array([float(stratum_sizes[str(s)]) for s in names])
    if np.any(n_h > big_n):
        raise ValueError("a stratum has more audited records than its population size N_h")
    missing = sorted(set(map(str, stratum_sizes)) - set(map(str, names)))
    if missing:
        notes.append(f"{len(missing)} strata have no audited record: {', '.join(missing[:5])}")
    ybar = np.bincount(codes, weights=y, minlength=len(names)) / n_h
    xbar = np.bincount(codes, weights=x, minlength=len(names)) / n_h
    total_y, total_x = float(big_n @ ybar), float(big_n @ xbar)
    crimes, recorded = int(round(x.sum())), int(round(y.sum()))
    df = int(len(y) - len(names))

    def stratum_var(values: np.ndarray) -> np.ndarray:
        mean = np.bincount(codes, weights=values, minlength=len(names)) / n_h
        ss = np.bincount(codes, weights=(values - mean[codes]) ** 2, minlength=len(names))
        with np.errstate(invalid="ignore", divide="ignore"):
            s2 = np.where(n_h > 1, ss / (n_h - 1), np.nan)
        lonely = (n_h == 1) & (big_n > 1)
        if lonely.any():
            # One audited record: no within-stratum variance; borrow the pooled one.
            pooled = np.nansum(np.where(n_h > 1, ss, 0.0)) / max(np.sum(np.where(n_h > 1, n_h - 1, 0)), 1)
            s2 = np.where(lonely, pooled, s2)
        s2 = np.where(big_n == n_h, 0.0, s2)  # census strata add no variance
        return np.nan_to_num(s2)

    unrec = x - y
    var_unrec = float(np.sum(big_n**2 * (1 - n_h / big_n) * stratum_var(unrec) / n_h))
    if ((n_h == 1) & (big_n > 1)).any():
        notes.append("strata with one audited record use the pooled within-stratum variance")
    if total_x <= 0:
        notes.append("no crime that should have been recorded in the audited records of this domain")
        return RatioEstimate(
            domain,
            None,
            None,
            None,
            None,
            confidence,
            df,
            len(y),
            crimes,
            recorded,
            total_x,
            total_x - total_y,
            float(np.sqrt(var_unrec)),
            notes,
        )
    rate = total_y / total_x
    residual = y - rate * x
    variance = float(np.sum(big_n**2 * (1 - n_h / big_n) * stratum_var(residual) / n_h)) / total_x**2
    se = float(np.sqrt(variance))
    census = bool(np.all(n_h == big_n))
    if se == 0 and not census:
        notes.append(
            "no variation in the sampled strata: the interval uses the crimes audited as its "
            "sample size (a conservative fallback)"
        )
    low, high = _interval(rate, se, _t_quantile(confidence, df), crimes, method, census=census)
    return RatioEstimate(
        domain,
        rate,
        se,
        low,
        high,
        confidence,
        df,
        len(y),
        crimes,
        recorded,
        total_x,
        total_x - total_y,
        float(np.sqrt(var_unrec)),
        notes,
    )


def _interval(
    rate: float, se: float, z: float, crimes: int, method: str, *, census: bool
) -> tuple[float, float]:
    """Wald (rate +- z se) or Wilson with the design's effective sample size.

    Wilson: n_eff = p(1-p)/V (Korn & Graubard 1998), the score interval at n_eff; better
    behaved than Wald for small domains and rates near 0 or 1. With no sampling variance
    (a census) both give the rate itself. When the sampled strata show no variation (SE 0, or
    a rate of 0 or 1) the variance estimate is degenerate, so n_eff = the crimes audited.
    """
    if method not in ("wald", "wilson"):
        raise ValueError(f"unknown interval method {method!r}; use wald or wilson")
    if census:
        return rate, rate
    n_eff = rate * (1 - rate) / se**2 if se > 0 and 0 < rate < 1 else float(max(crimes, 1))
    if method == "wald":
        se = se if se > 0 else float(np.sqrt(rate * (1 - rate) / n_eff))
        return max(0.0, rate - z * se), min(1.0, rate + z * se)
    denom = 1 + z**2 / n_eff
    centre = (rate + z**2 / (2 * n_eff)) / denom
    half = z / denom * np.sqrt(rate * (1 - rate) / n_eff + z**2 / (4 * n_eff**2))
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


@dataclass
class UnrecordedPerYear:
    """U = R (1 - p) / p: crimes a year not recorded, from a year's recorded crime R."""

    recorded_crimes_12m: int
    estimate: float
    low: float
    high: float

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)


def unrecorded_per_year(recorded_crimes_12m: int, rate: RatioEstimate) -> UnrecordedPerYear | None:
    """U with its interval, or None when the rate has no estimate or is 0."""
    if rate.rate is None or rate.low is None or rate.high is None or rate.rate <= 0:
        return None
    r = float(recorded_crimes_12m)

    def u(p: float) -> float:
        return r * (1 - p) / p if p > 0 else float("inf")

    return UnrecordedPerYear(recorded_crimes_12m, u(rate.rate), u(rate.high), u(rate.low))
