"""Spread over seeds: bootstrap confidence intervals for ratios of means."""

from __future__ import annotations

import numpy as np


def bootstrap_ratio(num: list[float], den: list[float], *, n_boot: int = 4000, level: float = 0.95,
                    seed: int = 0) -> tuple[float, float, float]:
    """mean(num) / mean(den) with a percentile bootstrap interval, resampling each group's seeds.

    Returns (ratio, low, high); infinite values (a run that never got there) stay infinite."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(num, float), np.asarray(den, float)
    boots = (rng.choice(a, (n_boot, len(a))).mean(1) / rng.choice(b, (n_boot, len(b))).mean(1))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(boots, [tail, 100 - tail])
    return float(a.mean() / b.mean()), float(low), float(high)
