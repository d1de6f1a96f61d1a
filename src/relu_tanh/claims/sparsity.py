"""Chapter "sparsity": ReLU's negative half kills gradients; its sparsity regularises (Glorot et al. 2011)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from .core import MATERIAL, Verdict, claim, fmt

GLOROT2011_ZERO = (0.72, 0.83)  # Glorot, Bordes and Bengio (2011): share of exact zeros, range over their nets
MIN_PAIRS = 3  # fewer seed pairs that both reached the target decide nothing
LEVEL = 0.95  # confidence level of the bootstrap intervals
RIVALS = ("leaky_relu", "tanh")


@claim(id="relu-negative-half",
       literature="Glorot, Bordes and Bengio (2011): 72% to 83% of the hidden units of their "
                  "rectifier networks are exactly zero on a given input.",
       chapter="sparsity", experiments=("sparsity",),
       claim="ReLU's gradient does not vanish on its positive half but is zero on its negative "
             "half, where units can die.",
       measurement="per layer of trained ReLU CNNs, across learning rates and initialisations: the "
                   "share of exact zeros, and the share of dead channels (never positive on any "
                   "training image at any position) against the share dead at initialisation; "
                   "units died if the dead share rose in every seed of some setting")
def relu_negative_half(s: dict[tuple, dict]) -> Verdict:
    relu = {k: v for k, v in s.items() if k[0] == "relu" and "zero" in v}
    if not relu:
        return Verdict("inconclusive", "no ReLU run finished without diverging", {})
    zero = float(np.mean([np.mean(v["zero"]) for v in relu.values()]))
    rise = max(v["dead_rise_max"] for v in relu.values())
    every_seed = {k: v["dead_rise_min"] for k, v in relu.items() if v["dead_rise_min"] > 0}
    numbers = {"zero": zero, "dead_rise": rise, "dead_max": max(max(v["dead"]) for v in relu.values()),
               "dead_init_max": max(max(v["dead_init"]) for v in relu.values()),
               "settings_dying": len(every_seed), "settings": len(relu)}
    zeros = f"{fmt(100 * zero, 1)}% of ReLU outputs (and their gradients) are exactly zero"
    if not every_seed:
        return Verdict("does not hold", f"{zeros}, but in no setting did training kill units "
                       f"in every seed: the dead share rose over initialisation by at most "
                       f"{fmt(100 * rise, 1)} points", numbers)
    worst = max(every_seed.values())
    where = ", ".join(f"{i} init, lr {lr:g}" for _, i, lr in every_seed)
    if worst >= MATERIAL:
        return Verdict("holds", f"{zeros}, and training killed units in every seed of "
                       f"{len(every_seed)} of {len(relu)} settings ({where}); up to "
                       f"{fmt(100 * rise, 1)}% of a layer's channels died", numbers)
    return Verdict("holds with caveats", f"{zeros}, and training killed a few units in every seed "
                   f"of {len(every_seed)} of {len(relu)} settings ({where}), but never "
                   f"{fmt(100 * MATERIAL, 1)}% of a layer in every seed", numbers)


def paired_gaps(s: dict[tuple, dict], rival: str) -> tuple[list[float], int]:
    """ReLU's gap minus `rival`'s, for every (init, lr, seed) where both runs reached the
    training-error target; and how many pairs there were in all."""
    diffs, total = [], 0
    for (act, init, lr), v in s.items():
        other = s.get((rival, init, lr))
        if act != "relu" or other is None:
            continue
        seeds = dict(zip(other["seeds"], other["gaps"]))
        for seed, gap in zip(v["seeds"], v["gaps"]):
            total += seed in seeds
            if gap is not None and seeds.get(seed) is not None:
                diffs.append(gap - seeds[seed])
    return diffs, total


def mean_interval(x: list[float]) -> tuple[float, float, float]:
    """Mean with a percentile bootstrap interval (scipy.stats.bootstrap) at `LEVEL`."""
    a = np.asarray(x, float)
    if np.ptp(a) == 0:
        return float(a.mean()), float(a.mean()), float(a.mean())
    ci = stats.bootstrap((a,), np.mean, confidence_level=LEVEL, method="percentile",
                         n_resamples=4000, random_state=0).confidence_interval
    return float(a.mean()), float(ci.low), float(ci.high)


@claim(id="sparsity-regularises",
       literature="Glorot, Bordes and Bengio (2011) argue that sparse representations generalise "
                  "better.",
       chapter="sparsity", experiments=("sparsity",),
       claim="The sparsity of ReLU's negative half acts as a regulariser.",
       measurement="train/test error gap at equal training error (runs stopped at the target; "
                   "runs that never reached it left out and counted): ReLU minus leaky ReLU and "
                   "minus tanh, paired by seed, initialisation and learning rate, mean with a "
                   "95% bootstrap interval")
def sparsity_regularises(s: dict[tuple, dict]) -> Verdict:
    numbers: dict[str, float] = {}
    parts, below, within = [], [], []
    for rival in RIVALS:
        diffs, total = paired_gaps(s, rival)
        numbers[f"pairs_{rival}"], numbers[f"total_{rival}"] = len(diffs), total
        if len(diffs) < MIN_PAIRS:
            return Verdict("inconclusive", f"only {len(diffs)} of {total} ReLU/{rival} pairs both "
                           f"reached the training-error target", numbers)
        mean, low, high = mean_interval(diffs)
        numbers.update({f"diff_{rival}": mean, f"low_{rival}": low, f"high_{rival}": high})
        parts.append(f"{fmt(mean, 3)} against {rival} (95% interval {fmt(low, 3)} to "
                     f"{fmt(high, 3)}, {len(diffs)} of {total} pairs)")
        (below if high < 0 else within if mean < 0 else []).append(rival)
    gaps = "ReLU's gap minus the rival's is " + "; ".join(parts)
    if len(below) == len(RIVALS):
        return Verdict("holds", f"{gaps}: smaller than both", numbers)
    if below or len(within) == len(RIVALS):
        return Verdict("holds with caveats", f"{gaps}: smaller on average, but not beyond the "
                       f"spread against every rival", numbers)
    return Verdict("does not hold", f"{gaps}: not smaller", numbers)
