"""Chapter "saturation": tanh units saturate; the top sigmoid layer saturates early (Glorot and Bengio 2010)."""

from __future__ import annotations

import math

import numpy as np

from .core import MATERIAL, TRACE, Verdict, claim, fmt

TOP_SATURATED = 0.5  # Glorot and Bengio: most of the top sigmoid layer saturates
EARLY = 0.25  # "early": the top layer's saturation peaks within the first quarter of training
MIN_SEEDS = 2  # fewer runs that did not diverge than this decide nothing


def _arms(s: dict[tuple, dict], act: str) -> list[dict]:
    return [v for (arch, a), v in s.items() if a == act]


@claim(id="tanh-saturates",
       literature="Glorot and Bengio (2010): tanh layers saturate one after another during "
                  "training.",
       chapter="saturation", experiments=("saturation",),
       claim="In practice tanh units still end up on the flat edges of their curve, where the "
             "gradient vanishes.",
       measurement="largest per-layer share of tanh units with |tanh| > 0.97 on a probe batch "
                   "(mean over seeds), at its peak during training and at the end, for CNNs and "
                   "MLPs at their tuned learning rates; material from 10%, absent below 1%")
def tanh_saturates(s: dict[tuple, dict]) -> Verdict:
    arms = _arms(s, "tanh")
    if not arms or any(v["n"] - v["diverged"] < MIN_SEEDS for v in arms):
        return Verdict("inconclusive", "too few tanh runs finished without diverging to measure "
                       "saturation", {})
    peak = float(np.max([np.max(v["saturated_peak"]) for v in arms]))  # NaN wins, unlike max()
    end = float(np.max([np.max(v["saturated_end"]) for v in arms]))
    numbers = {"peak": peak, "end": end}
    if math.isnan(peak) or math.isnan(end):
        return Verdict("inconclusive", "the saturated share was not measured", numbers)
    if end >= MATERIAL:
        return Verdict("holds", f"by the end of training up to {fmt(100 * end, 1)}% of a layer's "
                       f"tanh units are saturated", numbers)
    if peak >= TRACE:
        return Verdict("holds with caveats", f"some tanh units saturate (up to "
                       f"{fmt(100 * peak, 1)}% of a layer at the peak, {fmt(100 * end, 1)}% at the "
                       f"end), but far from most of them", numbers)
    return Verdict("does not hold", f"at most {fmt(100 * peak, 1)}% of any layer's tanh units "
                   f"ever saturated", numbers)


@claim(id="glorot-top-sigmoid",
       literature="Glorot and Bengio (2010): the top sigmoid layer saturates at once and leaves "
                  "saturation only slowly.",
       chapter="saturation", experiments=("saturation",),
       claim="(Glorot and Bengio 2010) In a deep sigmoid MLP with standard initialisation, the top "
             "hidden layer saturates early in training and only slowly recovers.",
       measurement="per seed, the top hidden layer of the sigmoid MLP: whether most of it saturates "
                   "(peak share at least 50%) within the first quarter of training, whether it "
                   "then falls to half its peak by the end, and whether that fall takes longer "
                   "than the rise; decided by the majority of seeds")
def glorot_top_sigmoid(s: dict[tuple, dict]) -> Verdict:
    v = s[("mlp", "sigmoid")]
    top = [t for t in v.get("top", []) if not math.isnan(t["peak"])]
    if len(top) < MIN_SEEDS:
        return Verdict("inconclusive", f"only {len(top)} of {v['n']} sigmoid MLP runs finished "
                       f"without diverging", {})
    n = len(top)
    early = [t for t in top if t["peak"] >= TOP_SATURATED and t["peak_at"] <= EARLY]
    recovered = [t for t in early if t["end"] <= t["peak"] / 2]
    slow = [t for t in recovered if t["fall_steps"] > t["rise_steps"]]
    numbers = {"seeds": n, "early": len(early), "recovered": len(recovered), "slow": len(slow),
               "peak": float(np.median([t["peak"] for t in top])),
               "peak_at": float(np.median([t["peak_at"] for t in top])),
               "end": float(np.median([t["end"] for t in top]))}
    span = (f"median peak {fmt(100 * numbers['peak'], 1)}% at {fmt(100 * numbers['peak_at'], 1)}% "
            f"of training, {fmt(100 * numbers['end'], 1)}% at the end")
    if 2 * len(early) <= n:
        return Verdict("does not hold", f"the top layer saturated early in only {len(early)} of "
                       f"{n} seeds ({span})", numbers)
    if 2 * len(slow) > n:
        return Verdict("holds", f"in {len(slow)} of {n} seeds the top layer saturated early and "
                       f"left saturation more slowly than it entered it ({span})", numbers)
    if 2 * len(recovered) > n:
        return Verdict("holds with caveats", f"the top layer saturated early and recovered in "
                       f"{len(recovered)} of {n} seeds, but not slowly ({span})", numbers)
    return Verdict("holds with caveats", f"the top layer saturated early in {len(early)} of {n} "
                   f"seeds, but had not recovered by the end of training in most of them ({span})",
                   numbers)
