"""Chapter "sparsity": ReLU's negative half kills gradients; its sparsity regularises (Glorot et al. 2011)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from .. import experiments
from .core import MATERIAL, Regions, Status, Verdict, claim, combine, fmt

GLOROT2011_ZERO = (0.72, 0.83)  # Glorot, Bordes and Bengio (2011): share of exact zeros, range over their nets
MIN_SEEDS = 3  # fewer seeds with a pair that both reached the target decide nothing
LEVEL = 0.95  # confidence level of the intervals over seeds
RIVALS = ("leaky_relu", "tanh")


def _reach(scale: str) -> str:
    cfg = experiments.config_for("sparsity", scale)
    return (f"dead shares from one channel of a layer to all of it, over at most "
            f"{cfg.train.epochs} epochs; gaps at a training error of {fmt(cfg.target_error)}, "
            f"from runs that reach it")


@claim(id="relu-negative-half", title="ReLU's zero half kills units",
       literature="Glorot, Bordes and Bengio (2011): 72% to 83% of the hidden units of their "
                  "rectifier networks are exactly zero on a given input.",
       chapter="sparsity", experiments=("sparsity",),
       claim="ReLU's gradient does not vanish on its positive half but is zero on its negative "
             "half, where units can die.",
       measurement="per layer of trained ReLU CNNs, across learning rates and initialisations: the "
                   "share of exact zeros, and the share of dead channels (never positive on any "
                   "training image at any position) against the share dead at initialisation; "
                   "units died if the dead share rose in every seed of some setting",
       quantity="the share of exact zeros in ReLU outputs, and the rise of the dead-channel share "
                "over initialisation in every seed of a setting",
       effect="zero gradients on the negative half (a large share of exact zeros) and units that "
              "can die: a rise in every seed of some setting; the article names no size",
       regions=Regions(holds="the dead share rose in every seed of some setting",
                       does_not_hold="in no setting did it rise in every seed",
                       inconclusive="no ReLU run finished"),
       reach=_reach)
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
                       f"{fmt(100 * rise, 1)} points", numbers,
                       gist=f"{fmt(100 * zero, 1)}% of outputs are zero; no setting killed units "
                            f"in every seed")
    worst = max(every_seed.values())
    where = ", ".join(f"{i} init, lr {lr:g}" for _, i, lr in every_seed)
    size = (f"up to {fmt(100 * rise, 1)}% of a layer's channels died" if worst >= MATERIAL else
            f"a few units died, never {fmt(100 * MATERIAL, 1)}% of a layer in every seed")
    return Verdict("holds", f"{zeros}, and training killed units in every seed of "
                   f"{len(every_seed)} of {len(relu)} settings ({where}): {size}", numbers,
                   gist=f"{fmt(100 * zero, 1)}% of outputs are zero; units died in every seed of "
                        f"{len(every_seed)} of {len(relu)} settings, up to {fmt(100 * rise, 0)}% "
                        f"of a layer")


def seed_gaps(s: dict[tuple, dict], rival: str) -> tuple[dict[int, list[float]], int]:
    """ReLU's gap minus `rival`'s per seed, for every (init, lr) where both runs of the seed
    reached the training-error target; and how many pairs there were in all."""
    diffs: dict[int, list[float]] = {}
    total = 0
    for (act, init, lr), v in s.items():
        other = s.get((rival, init, lr))
        if act != "relu" or other is None:
            continue
        seeds = dict(zip(other["seeds"], other["gaps"]))
        for seed, gap in zip(v["seeds"], v["gaps"]):
            total += seed in seeds
            if gap is not None and seeds.get(seed) is not None:
                diffs.setdefault(seed, []).append(gap - seeds[seed])
    return diffs, total


def paired_gaps(s: dict[tuple, dict], rival: str) -> tuple[list[float], int]:
    """Every pair's difference (`seed_gaps` flattened), and how many pairs there were in all."""
    diffs, total = seed_gaps(s, rival)
    return [d for seed in sorted(diffs) for d in diffs[seed]], total


def mean_interval(x: list[float]) -> tuple[float, float, float]:
    """Mean with Student's t interval at `LEVEL` (scipy.stats.ttest_1samp): for a few
    independent values, such as one per seed, where a bootstrap would be too narrow."""
    a = np.asarray(x, float)
    if np.ptp(a) == 0:
        return float(a.mean()), float(a.mean()), float(a.mean())
    ci = stats.ttest_1samp(a, 0.0).confidence_interval(LEVEL)
    return float(a.mean()), float(ci.low), float(ci.high)


def seeds_to_decide(per_seed: list[float], most: int = 200) -> int | None:
    """A power calculation: the fewest seeds at which the `LEVEL` t interval around the measured
    mean, with the measured spread, would exclude 0; None if the mean is 0 or it takes more
    than `most`."""
    a = np.asarray(per_seed, float)
    mean, sd = float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0
    if mean == 0:
        return None
    return next((n for n in range(2, most + 1)
                 if stats.t.ppf((1 + LEVEL) / 2, n - 1) * sd / np.sqrt(n) < abs(mean)), None)


def power_text(s: dict[tuple, dict], rival: str) -> str:
    """'about 9 seeds' (or why not) for the page: what would decide ReLU against `rival`."""
    diffs, _ = seed_gaps(s, rival)
    if len(diffs) < 2:
        return "more seeds with a pair than this run has"
    n = seeds_to_decide([float(np.mean(d)) for _, d in sorted(diffs.items())])
    return f"about {n} seeds" if n else "more than 200 seeds"


@claim(id="sparsity-regularises", title="ReLU's sparsity regularises",
       literature="Glorot, Bordes and Bengio (2011) argue that sparse representations generalise "
                  "better.",
       chapter="sparsity", experiments=("sparsity",),
       claim="The sparsity of ReLU's negative half acts as a regulariser.",
       measurement="train/test error gap at equal training error (runs stopped at the target; "
                   "runs that never reached it left out and counted): ReLU minus leaky ReLU and "
                   "minus tanh, paired by seed, initialisation and learning rate, averaged per "
                   "seed; the mean over seeds with a 95% t interval",
       quantity="per rival (leaky ReLU, tanh), the mean over seeds of the paired difference of "
                "train/test error gaps at equal training error, ReLU minus the rival, with its "
                "95% interval over seeds",
       effect="a smaller gap for ReLU than for both rivals; the article names no size, so any "
              "reduction beyond the spread counts",
       regions=Regions(holds="both intervals lie below 0",
                       does_not_hold="both intervals lie at or above 0",
                       inconclusive="an interval straddles 0, or too few seeds have a pair "
                                    "that reached the target"),
       reach=_reach)
def sparsity_regularises(s: dict[tuple, dict]) -> Verdict:
    numbers: dict[str, float] = {}
    parts, conditions = [], {}
    for rival in RIVALS:
        diffs, total = seed_gaps(s, rival)
        pairs = sum(map(len, diffs.values()))
        numbers.update({f"pairs_{rival}": pairs, f"total_{rival}": total,
                        f"seeds_{rival}": len(diffs)})
        if len(diffs) < MIN_SEEDS:
            return Verdict("inconclusive", f"only {len(diffs)} seeds (fewer than {MIN_SEEDS}) "
                           f"have a ReLU/{rival} pair that both reached the training-error "
                           f"target ({pairs} of {total} pairs)", numbers,
                           gist=f"only {len(diffs)} seeds with a ReLU/{rival} pair at the target")
        mean, low, high = mean_interval([float(np.mean(d)) for _, d in sorted(diffs.items())])
        numbers.update({f"diff_{rival}": mean, f"low_{rival}": low, f"high_{rival}": high})
        parts.append(f"{fmt(mean, 3)} against {rival} (95% interval over {len(diffs)} seeds "
                     f"{fmt(low, 3)} to {fmt(high, 3)}; {pairs} of {total} pairs)")
        conditions[f"against {rival.replace('_', ' ')}"] = _side(low, high)
    gaps = "ReLU's gap minus the rival's is " + "; ".join(parts)
    brief = "generalisation gap, ReLU minus rival: " + ", ".join(
        f"{fmt(numbers[f'diff_{r}'], 3)} vs {r.replace('_', ' ')}" for r in RIVALS)
    straddle = [c for c, st in conditions.items() if st == "inconclusive"]
    if straddle:
        return Verdict("inconclusive", f"{gaps}: the interval {' and '.join(straddle)} straddles "
                       f"0, so the spread over seeds decides", numbers,
                       gist=f"{brief}; an interval straddles 0")
    status = combine(conditions)
    words = {"holds": "smaller than both", "does not hold": "not smaller than either",
             "holds with caveats": "smaller than one rival beyond the spread, not the other"}
    return Verdict(status, f"{gaps}: {words[status]}", numbers,
                   conditions, gist=brief)


def _side(low: float, high: float) -> Status:
    """Against one rival: below 0 holds, at or above 0 does not, straddling it is undecided."""
    return "holds" if high < 0 else "does not hold" if low >= 0 else "inconclusive"
