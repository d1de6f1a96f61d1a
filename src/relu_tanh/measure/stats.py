"""Spread over seeds when some runs are censored: medians that count a run that never got there
as +inf, a distribution-free interval for a median, and paired ratios with censoring bounds.

Why medians and order statistics: with five seeds a bootstrap of the mean undercovers and
cannot take an infinite value at all, while the interval between order statistics has an exact
coverage whatever the distribution (Conover 1999, Practical Nonparametric Statistics, section
3.2) and stays valid when a censored value is known only to lie above (or below) a bound.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats


def check_no_nan(values: list[float], what: str) -> np.ndarray:
    """`values` as an array; NaN is refused (a run that never got there is +inf, not NaN)."""
    a = np.asarray(values, dtype=float)
    if np.isnan(a).any():
        raise ValueError(f"{what} contains NaN; record a censored run as inf, not NaN: {values}")
    return a


def censored_median(values: list[float]) -> float:
    """Median with censored runs as +inf: finite only if more than half of the values are
    finite (for an even count, the upper middle one too)."""
    a = check_no_nan(values, "censored_median's input")
    if not a.size:
        raise ValueError("censored_median needs at least one value")
    return float(np.median(a))


def order_statistic_rank(n: int, level: float) -> tuple[int, float]:
    """The largest k such that [X_(k), X_(n+1-k)] covers the median with probability >= level,
    and that exact coverage 1 - 2 P(Binomial(n, 1/2) <= k - 1); (0, nan) when even k = 1 is
    too short (n too small for `level`)."""
    k = 0
    while k + 1 <= (n + 1) // 2 and 2 * stats.binom.cdf(k, n, 0.5) <= 1 - level:
        k += 1
    coverage = 1 - 2 * stats.binom.cdf(k - 1, n, 0.5) if k else math.nan
    return k, float(coverage)


def median_interval(lows: list[float], highs: list[float], level: float = 0.9
                    ) -> tuple[float, float, float]:
    """Distribution-free interval for the median of n values, each known to lie in
    [lows[i], highs[i]] (equal where it was observed; an infinite end where it was censored).

    Returns (low, high, coverage): the k-th smallest low and the k-th largest high, with k from
    `order_statistic_rank`. Using the lower bounds for the low end and the upper bounds for the
    high end keeps the coverage at least `coverage`. (nan, nan, nan) when n is too small."""
    lo, hi = check_no_nan(lows, "lows"), check_no_nan(highs, "highs")
    if lo.shape != hi.shape or (lo > hi).any():
        raise ValueError(f"need lows <= highs, pairwise: {lows}, {highs}")
    k, coverage = order_statistic_rank(lo.size, level)
    if not k:
        return math.nan, math.nan, math.nan
    return float(np.sort(lo)[k - 1]), float(np.sort(hi)[::-1][k - 1]), coverage


def paired_log_ratio_bounds(slow: list[float], fast: list[float], cap: float
                            ) -> tuple[list[float], list[float]]:
    """Per pair, bounds on log(slow / fast), where inf means "not reached within `cap`".

    Observed pairs give their log-ratio twice; if only `fast` reached, the ratio is above
    cap / fast; if only `slow` reached, below slow / cap; if neither did, it is unbounded."""
    s, f = check_no_nan(slow, "slow"), check_no_nan(fast, "fast")
    if s.shape != f.shape or (s <= 0).any() or (f <= 0).any():
        raise ValueError(f"need as many positive times in each arm, got {slow}, {fast}")
    lows, highs = [], []
    for a, b in zip(s, f):
        reached_slow, reached_fast = math.isfinite(a), math.isfinite(b)
        if reached_slow and reached_fast:
            lows.append(math.log(a / b))
            highs.append(math.log(a / b))
        else:
            lows.append(math.log(cap / b) if reached_fast else -math.inf)
            highs.append(math.log(a / cap) if reached_slow else math.inf)
    return lows, highs


def paired_ratio(slow: list[float], fast: list[float], cap: float, level: float = 0.9
                 ) -> dict[str, float]:
    """The median over pairs of slow/fast, with censoring: bounds on the median itself
    (`median_low` = `median_high` when nothing censored moves it) and a distribution-free
    interval (`low`, `high`, exact `coverage`), all as ratios (0 and inf for unbounded ends)."""
    lows, highs = paired_log_ratio_bounds(slow, fast, cap)
    lo, hi, coverage = median_interval(lows, highs, level)
    return {"median_low": math.exp(np.median(lows)), "median_high": math.exp(np.median(highs)),
            "low": math.exp(lo), "high": math.exp(hi), "coverage": coverage,
            "pairs": len(lows), "both_censored": sum(math.isinf(a) and math.isinf(b)
                                                     for a, b in zip(slow, fast))}


def wilson(successes: int, n: int, level: float = 0.9) -> tuple[float, float]:
    """Wilson's score interval for a success probability from `successes` of `n` runs (good
    coverage at small n and at 0 or n successes, where the Wald interval collapses)."""
    if not 0 <= successes <= n or n < 1:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    z2 = _z(level) ** 2
    p = successes / n
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = math.sqrt(z2 * (p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, float(centre - half))  # exact ends, not 1 - 1e-16
    return low, 1.0 if successes == n else min(1.0, float(centre + half))


def newcombe(k1: int, n1: int, k2: int, n2: int, level: float = 0.9) -> tuple[float, float, float]:
    """The difference of two independent success rates, k1/n1 - k2/n2, with Newcombe's hybrid
    score interval (1998, method 10), built from the two Wilson intervals: (diff, low, high)."""
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1, level), wilson(k2, n2, level)
    d = p1 - p2
    return d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


@lru_cache(maxsize=None)
def _z(level: float) -> float:
    return float(stats.norm.ppf((1 + level) / 2))


@lru_cache(maxsize=1 << 16)  # power calculations call it for every pair of counts
def non_inferiority(k1: int, n1: int, k2: int, n2: int, margin: float, level: float = 0.9) -> str:
    """Whether arm 1's success rate is at most `margin` below arm 2's: "holds" when the whole
    Newcombe interval of the difference lies above -margin, "does not hold" when it lies below,
    "inconclusive" when it straddles -margin. An arm that never succeeded is never found
    non-inferior to one that did, whatever the margin."""
    _, low, high = newcombe(k1, n1, k2, n2, level)
    if high < -margin:
        return "does not hold"
    if low > -margin and not (k1 == 0 < k2):
        return "holds"
    return "inconclusive"


def decision_chances(p1: float, p2: float, n: int, margin: float, level: float = 0.9
                     ) -> dict[str, float]:
    """A power calculation for `non_inferiority` with `n` runs per arm: the probability of each
    outcome when the arms' true success rates are `p1` and `p2` (exact, over both binomials)."""
    pmf1, pmf2 = stats.binom.pmf(range(n + 1), n, p1), stats.binom.pmf(range(n + 1), n, p2)
    out = {"holds": 0.0, "does not hold": 0.0, "inconclusive": 0.0}
    for k1 in range(n + 1):
        for k2 in range(n + 1):
            out[non_inferiority(k1, n, k2, n, margin, level)] += float(pmf1[k1] * pmf2[k2])
    return out
