"""Chapter "saturation": tanh units saturate; the top sigmoid layer saturates early (Glorot and Bengio 2010)."""

from __future__ import annotations

import math

import numpy as np

from .. import experiments
from .core import MATERIAL, Regions, Status, Verdict, claim, combine, fmt

TOP_SATURATED = 0.5  # Glorot and Bengio: most of the top sigmoid layer saturates
EARLY = 0.25  # "early": the top layer's saturation peaks within the first quarter of training
MIN_SEEDS = 2  # fewer runs that did not diverge than this decide nothing


def _arms(s: dict[tuple, dict], act: str) -> dict[str, dict]:
    return {arch: v for (arch, a), v in s.items() if a == act}


def _reach(scale: str) -> str:
    cfg = experiments.config_for("saturation", scale)
    return (f"shares of a layer from 0 to 100% on a probe batch, over {cfg.train.epochs} epochs "
            f"of training: a layer that saturates or recovers later is not seen")


@claim(id="tanh-saturates", title="tanh units saturate in practice",
       literature="Glorot and Bengio (2010): tanh layers saturate one after another during "
                  "training.",
       chapter="saturation", experiments=("saturation",),
       claim="In practice tanh units still end up on the flat edges of their curve, where the "
             "gradient vanishes.",
       measurement="largest per-layer share of tanh units with |tanh| > 0.97 on a probe batch "
                   "(mean over seeds), at its peak during training and at the end, for CNNs and "
                   "MLPs at their tuned learning rates; material from 10%",
       quantity="per architecture, the largest per-layer share of tanh units with |tanh| > 0.97 "
                "at the end of training (mean over seeds)",
       effect="a material share (at least 10% of a layer) ends up saturated; the article names "
              "no size, so this is ours",
       regions=Regions(holds="the share at the end is at least 10% in every architecture",
                       does_not_hold="it is below 10% in every architecture",
                       inconclusive="too few runs finished, or the share was not measured"),
       reach=_reach)
def tanh_saturates(s: dict[tuple, dict]) -> Verdict:
    """Decided per architecture (CNN, MLP) on its own share at the end; the peak is said."""
    arms = _arms(s, "tanh")
    if not arms or any(v["n"] - v["diverged"] < MIN_SEEDS for v in arms.values()):
        return Verdict("inconclusive", "too few tanh runs finished without diverging to measure "
                       "saturation", {})
    peak = {a: float(np.max(v["saturated_peak"])) for a, v in arms.items()}  # NaN wins, unlike max()
    end = {a: float(np.max(v["saturated_end"])) for a, v in arms.items()}
    numbers = {"peak": float(np.max(list(peak.values()))), "end": float(np.max(list(end.values()))),
               **{f"{a}_end": e for a, e in end.items()}}
    if any(math.isnan(x) for x in [*peak.values(), *end.values()]):
        return Verdict("inconclusive", "the saturated share was not measured", numbers)
    conditions: dict[str, Status] = {a.upper(): "holds" if e >= MATERIAL else "does not hold"
                                     for a, e in end.items()}
    shares = "; ".join(f"{a.upper()}: up to {fmt(100 * end[a], 1)}% of a layer's tanh units "
                       f"saturated at the end, {fmt(100 * peak[a], 1)}% at the peak" for a in arms)
    status = combine(conditions)
    ends = ", ".join(f"{a.upper()} {fmt(100 * end[a], 1)}%" for a in arms)
    return Verdict(status, f"{shares} (material from {fmt(100 * MATERIAL, 0)}%)", numbers,
                   conditions,
                   gist=f"most saturated layer at the end: {ends} (material from "
                        f"{fmt(100 * MATERIAL, 0)}%)")


@claim(id="glorot-top-sigmoid", title="Top sigmoid layer saturates, recovers slowly",
       literature="Glorot and Bengio (2010): the top sigmoid layer saturates at once and leaves "
                  "saturation only slowly.",
       chapter="saturation", experiments=("saturation",),
       claim="(Glorot and Bengio 2010) In a deep sigmoid MLP with standard initialisation, the top "
             "hidden layer saturates early in training and only slowly recovers.",
       measurement="per seed, the top hidden layer of the sigmoid MLP: whether most of it saturates "
                   "(peak share at least 50%) within the first quarter of training, whether it "
                   "then falls to half its peak by the end, and whether that fall takes longer "
                   "than the rise; decided by the majority of seeds",
       quantity="per seed, the top sigmoid layer's peak saturated share, when it peaks, and "
                "whether it falls to half its peak more slowly than it rose",
       effect="most of the layer (50%) saturated within the first quarter of training, then a "
              "fall slower than the rise, in most seeds",
       regions=Regions(holds="most seeds saturate early and recover slowly",
                       does_not_hold="most seeds do not saturate early, or recover faster than "
                                     "they saturated",
                       inconclusive="no majority either way, most early-saturated seeds not yet "
                                    "recovered when the run ends, or too few runs"),
       reach=_reach)
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
                       f"{n} seeds ({span})", numbers,
                       gist=f"saturated early in only {len(early)} of {n} seeds")
    if 2 * len(slow) > n:
        return Verdict("holds", f"in {len(slow)} of {n} seeds the top layer saturated early and "
                       f"left saturation more slowly than it entered it ({span})", numbers,
                       gist=f"saturated early and left it slowly in {len(slow)} of {n} seeds")
    if 2 * (len(recovered) - len(slow)) > n:
        return Verdict("does not hold", f"the top layer saturated early and recovered in "
                       f"{len(recovered)} of {n} seeds, faster than it saturated in "
                       f"{len(recovered) - len(slow)} ({span})", numbers,
                       gist=f"recovered faster than it saturated in {len(recovered) - len(slow)} "
                            f"of {n} seeds")
    return Verdict("inconclusive", f"the top layer saturated early in {len(early)} of {n} seeds, "
                   f"but {len(early) - len(recovered)} had not recovered by the end of training: "
                   f"within the run a slow recovery and none cannot be told apart ({span})", numbers,
                   gist=f"saturated early in {len(early)} of {n} seeds; "
                        f"{len(early) - len(recovered)} not recovered when the run ends")
