"""Censored medians, the order-statistic interval (coverage checked against its exact value on
distributions with a known median) and paired ratios with censoring bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from relu_tanh.measure import stats

INF = math.inf


@pytest.mark.parametrize("values, expected", [([1.0, 2.0, INF], 2.0), ([1.0, INF, INF], INF),
                                              ([1.0, 2.0, 3.0, INF], 2.5),
                                              ([1.0, 2.0, INF, INF], INF), ([INF], INF)])
def test_censored_median_counts_never_reached_as_infinitely_slow(values, expected):
    assert stats.censored_median(values) == expected


def test_nan_is_refused_not_silently_ranked():
    with pytest.raises(ValueError, match="NaN"):
        stats.censored_median([1.0, math.nan, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        stats.paired_ratio([1.0, math.nan], [1.0, 1.0], cap=10)


@pytest.mark.parametrize("n, level, k, coverage", [(5, 0.9, 1, 1 - 2 / 32), (4, 0.9, 0, math.nan),
                                                   (10, 0.9, 2, 1 - 2 * 11 / 1024),
                                                   (10, 0.95, 2, 1 - 2 * 11 / 1024),
                                                   (20, 0.95, 6, None)])
def test_order_statistic_rank_and_exact_coverage(n, level, k, coverage):
    got_k, got_cov = stats.order_statistic_rank(n, level)
    assert got_k == k
    if coverage is None:  # n = 20: the binomial tail 2 P(B <= 5) = 0.0414 <= 0.05 < 2 P(B <= 6)
        assert got_cov == pytest.approx(1 - 2 * 21700 / 2 ** 20)
    elif math.isnan(coverage):
        assert math.isnan(got_cov)
    else:
        assert got_cov == pytest.approx(coverage)


@pytest.mark.parametrize("n, sampler, median", [
    (5, lambda rng, size: rng.lognormal(0.0, 1.0, size), 1.0),
    (10, lambda rng, size: rng.exponential(1.0, size), math.log(2)),
])
def test_median_interval_covers_a_known_median_as_often_as_promised(n, sampler, median):
    rng = np.random.default_rng(0)
    trials, hits = 4000, 0
    for x in sampler(rng, (4000, n)):
        lo, hi, coverage = stats.median_interval(list(x), list(x), level=0.9)
        hits += lo <= median <= hi
    # the exact coverage, within four binomial standard errors of 4000 trials
    assert hits / trials == pytest.approx(coverage, abs=4 * math.sqrt(coverage * (1 - coverage) / trials))


def test_censoring_above_a_cap_keeps_the_coverage():
    """Values above a cap known only as "more than the cap": the interval must still cover."""
    rng, cap, trials, hits = np.random.default_rng(1), 1.5, 3000, 0
    for x in rng.lognormal(0.0, 1.0, (trials, 5)):
        lows = np.minimum(x, cap)
        highs = np.where(x > cap, np.inf, x)
        lo, hi, coverage = stats.median_interval(list(lows), list(highs), level=0.9)
        hits += lo <= 1.0 <= hi
    assert hits / trials >= coverage - 4 * math.sqrt(coverage * (1 - coverage) / trials)


def test_paired_bounds_follow_what_was_censored():
    lows, highs = stats.paired_log_ratio_bounds([6.0, INF, 3.0, INF], [2.0, 2.0, INF, INF], cap=10)
    assert lows == pytest.approx([math.log(3), math.log(5), -INF, -INF])
    assert highs == pytest.approx([math.log(3), INF, math.log(0.3), INF])


def test_paired_ratio_without_censoring_is_the_median_ratio():
    r = stats.paired_ratio([2.0, 6.0, 9.0, 4.0, 5.0], [1.0, 2.0, 3.0, 1.0, 1.0], cap=20)
    assert r["median_low"] == r["median_high"] == pytest.approx(3.0)  # ratios 2, 3, 3, 4, 5
    assert (r["low"], r["high"]) == pytest.approx((2.0, 5.0))
    assert r["coverage"] == pytest.approx(15 / 16) and r["both_censored"] == 0


def test_paired_ratio_with_a_censored_slow_arm_is_a_lower_bound():
    r = stats.paired_ratio([INF] * 5, [2.0, 2.5, 4.0, 5.0, 2.0], cap=20)
    assert r["median_low"] == pytest.approx(8.0) and r["median_high"] == INF
    assert r["low"] == pytest.approx(4.0) and r["high"] == INF


def test_too_few_pairs_give_no_interval():
    r = stats.paired_ratio([2.0, 3.0], [1.0, 1.0], cap=10)
    assert math.isnan(r["coverage"]) and math.isnan(r["low"])
    # the median is taken on log-ratios: for two pairs, the geometric mean of 2 and 3
    assert r["median_low"] == r["median_high"] == pytest.approx(math.sqrt(6))


@pytest.mark.parametrize("k, n", [(0, 5), (3, 5), (5, 5), (7, 20)])
def test_wilson_interval_covers_its_rate_and_stays_in_unit_interval(k, n):
    low, high = stats.wilson(k, n)
    assert 0 <= low <= k / n <= high <= 1
    assert stats.wilson(2 * k, 2 * n)[1] - stats.wilson(2 * k, 2 * n)[0] < high - low  # narrows with n


def test_wilson_coverage_is_near_its_level():
    rng = np.random.default_rng(0)
    for p in (0.2, 0.5, 0.9):
        ks = rng.binomial(12, p, size=4000)
        covered = np.mean([stats.wilson(int(k), 12)[0] <= p <= stats.wilson(int(k), 12)[1] for k in ks])
        assert covered > 0.84  # nominal 0.9; Wilson's coverage dips a little at small n


def test_non_inferiority_reaches_each_outcome_and_never_matches_a_model_that_never_solved():
    assert stats.non_inferiority(6, 6, 6, 6, margin=1 / 3) == "holds"
    assert stats.non_inferiority(0, 6, 6, 6, margin=1 / 3) == "does not hold"
    assert stats.non_inferiority(3, 6, 5, 6, margin=1 / 3) == "inconclusive"
    for n in (3, 6, 20):
        for k2 in range(1, n + 1):
            assert stats.non_inferiority(0, n, k2, n, margin=0.99) != "holds"


def test_decision_chances_are_a_distribution_that_grows_decisive_with_n():
    small, large = (stats.decision_chances(1.0, 1.0, n, 1 / 3) for n in (3, 12))
    assert sum(small.values()) == pytest.approx(1) and sum(large.values()) == pytest.approx(1)
    assert small["holds"] < large["holds"] == pytest.approx(1)
    assert stats.decision_chances(0.0, 1.0, 12, 1 / 3)["does not hold"] == pytest.approx(1)
