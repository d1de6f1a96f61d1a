"""Chapter "through_time": tanh's gradient still vanishes through time, less than sigmoid's (R4);
ReLU RNNs explode far more easily than bounded units because their outputs are unbounded (R3)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import experiments
from .core import Regions, Status, Verdict, claim, combine, fmt

# Le, Jaitly and Hinton (2015), the adding problem: the sequence lengths of their experiments
LE2015_ADDING_STEPS = (150, 200, 300, 400)

VANISHED = 1e-2  # ||dh_T/dh_t|| below this at the largest gap T: the gradient vanished
MUCH_LESS = 1.0  # decades: "much less than sigmoid" when tanh's norm at gap T is >= 10x sigmoid's
ALPHA = 0.05  # one-sided exact McNemar test over matched (learning rate, seed) pairs
CLEAR = 0.20  # ReLU diverges "clearly more often": in at least 20 points more of the matched runs
N_BOOT = 4000  # bootstrap resamples of the matched pairs for the interval of the difference


def _map_reach(scale: str) -> str:
    cfg = experiments.config_for("through_time", scale)
    return (f"gradient norms down to float64 underflow over gaps of up to {cfg.map.length} steps, "
            f"at recurrent weight scales {', '.join(f'{g:g}' for g in cfg.map.scales)} only")


def _divergence_reach(scale: str) -> str:
    cfg, n = experiments.config_for("through_time", scale), experiments.get("through_time").seeds[scale]
    return (f"divergence shares in steps of 1/{len(cfg.divergence.lrs) * n} ({len(cfg.divergence.lrs)} "
            f"rates x {n} seeds per arm), at rates {', '.join(f'{lr:g}' for lr in cfg.divergence.lrs)}: "
            f"an arm where all or none diverge says nothing")


def _vanished(ends: list[float]) -> bool | None:
    """True if every seed's log10 norm at gap T is below log10(VANISHED), False if none is;
    None when the seeds disagree or a value is missing (NaN)."""
    v = np.asarray(ends, dtype=float)
    if not len(v) or np.isnan(v).any():
        return None
    below = v < math.log10(VANISHED)
    return bool(below[0]) if below.all() or not below.any() else None


@claim(id="tanh-vanishes-through-time", title="tanh RNN gradients vanish through time",
       literature="Pascanu, Mikolov and Bengio (2013): gradients through time must vanish when "
                  "the largest singular value of W_hh is below 1 for tanh and below 4 for sigmoid.",
       chapter="through_time", experiments=("through_time",),
       claim="tanh is not ideal in RNNs either: its gradient still vanishes through time, though "
             "much less than sigmoid's.",
       measurement="‖∂h_T/∂h_t‖ at the largest gap T at initialisation, tanh against sigmoid "
                   "Elman RNNs at each recurrent weight scale of the sweep, every seed",
       quantity="per recurrent weight scale, log10 ‖∂h_T/∂h_t‖ at the largest gap for tanh in "
                "every seed, and its margin over sigmoid's where sigmoid's vanished",
       effect="tanh's norm below 1e-2 (vanished) in every seed, yet at least ten times sigmoid's",
       regions=Regions(holds="vanished at every scale, and at least tenfold sigmoid's",
                       does_not_hold="vanished at no scale, or tenfold sigmoid's at fewer than "
                                     "half the scales where sigmoid's vanished",
                       inconclusive="a norm missing, sigmoid's vanished nowhere, or the seeds "
                                    "split at every scale"),
       reach=_map_reach)
def tanh_vanishes_through_time(s: dict[str, Any]) -> Verdict:
    scales = sorted({g for kind, g in s["map"] if kind == "tanh"})
    tanh = {g: s["map"][("tanh", g)]["end"] for g in scales}
    sig = {g: s["map"][("sigmoid", g)]["end"] for g in scales}
    status = {g: _vanished(tanh[g]) for g in scales}
    sig_gone = [g for g in scales if _vanished(sig[g])]
    margin = {g: float(np.median(tanh[g]) - np.median(sig[g])) for g in sig_gone}
    gone = [g for g in scales if status[g]]
    much = [g for g in sig_gone if margin[g] >= MUCH_LESS]
    numbers = {"scales": len(scales), "tanh_vanished": len(gone),
               "max_vanished_scale": max(gone) if gone else math.nan,
               "min_kept_scale": min((g for g in scales if status[g] is False), default=math.nan),
               "min_margin": min(margin.values(), default=math.nan),
               "max_margin": max(margin.values(), default=math.nan)}
    missing = any(np.isnan(np.asarray(v, float)).any() for v in (*tanh.values(), *sig.values()))
    if missing or not sig_gone or all(v is None for v in status.values()):
        why = ("a norm is missing (NaN)" if missing else "sigmoid's gradient vanished at no scale "
               "of the sweep" if not sig_gone else "the seeds disagree at every scale")
        return Verdict("inconclusive", f"the map cannot decide: {why}", numbers)
    if not gone:
        return Verdict("does not hold", "tanh's gradient vanished at no recurrent weight scale "
                       "of the sweep", numbers)
    if len(much) < len(sig_gone) / 2:
        return Verdict("does not hold", f"tanh's gradient is at least {10 ** MUCH_LESS:g}x "
                       f"sigmoid's at only {len(much)} of the {len(sig_gone)} scales where "
                       f"sigmoid's vanished", numbers,
                       gist=f"at least {10 ** MUCH_LESS:g}x sigmoid's at only {len(much)} of "
                            f"{len(sig_gone)} scales where sigmoid's vanished")
    compare = (f"where sigmoid's vanished it is {fmt(10 ** min(margin.values()))} to "
               f"{fmt(10 ** max(margin.values()))} times sigmoid's")
    if len(gone) == len(scales) and len(much) == len(sig_gone):
        return Verdict("holds", f"tanh's gradient fell below {VANISHED:g} by gap T at every "
                       f"weight scale, and {compare}", numbers,
                       gist=f"vanished at every weight scale; {fmt(10 ** min(margin.values()))} "
                            f"to {fmt(10 ** max(margin.values()))}x sigmoid's")
    listed = lambda gs: ", ".join(f"{g:g}" for g in gs)
    kept = [g for g in scales if status[g] is False]
    split = [g for g in scales if status[g] is None]
    conditions: dict[str, Status] = {f"scale {g:g}": "holds" if status[g] else "does not hold"
                                     for g in scales if status[g] is not None}
    verdict = combine(conditions)
    return Verdict(verdict,
                   f"tanh's gradient vanished at weight scales up to {max(gone):g} ({len(gone)} "
                   f"of {len(scales)} scales)" + (f" but not at {listed(kept)}" if kept else "")
                   + (f"; the seeds split at {listed(split)}" if split else "") + f"; {compare}",
                   numbers, conditions,
                   gist=f"vanished at {len(gone)} of {len(scales)} weight scales, up to "
                        f"{max(gone):g}" + (f", not at {listed(kept)}" if kept else ""))


def mcnemar_greater(b: int, c: int) -> float:
    """One-sided exact McNemar p-value: P(X >= b) for X ~ Binomial(b + c, 1/2), where b pairs
    diverged only with ReLU and c only with tanh (1 when no pair is discordant)."""
    n = b + c
    return sum(math.comb(n, k) for k in range(b, n + 1)) / 2 ** n if n else 1.0


def paired(relu: list[list[Any]], tanh: list[list[Any]]) -> dict[str, float]:
    """Divergence of ReLU and tanh over matched (learning rate, seed) pairs of one arm: shares,
    their difference with a bootstrap 95% interval over pairs, and the McNemar p-value. A pair
    with a missing run (None or NaN) is left out."""
    pairs = np.array(sorted((bool(r), bool(t)) for rl, tl in zip(relu, tanh) for r, t in zip(rl, tl)
                            if _known(r) and _known(t)), dtype=float).reshape(-1, 2)  # sorted: no seed order
    n = len(pairs)
    if not n:
        return {"n": 0, "relu": math.nan, "tanh": math.nan, "diff": math.nan, "low": math.nan,
                "high": math.nan, "p": math.nan}
    d = pairs[:, 0] - pairs[:, 1]
    boots = np.random.default_rng(0).choice(d, (N_BOOT, n)).mean(1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"n": n, "relu": float(pairs[:, 0].mean()), "tanh": float(pairs[:, 1].mean()),
            "diff": float(d.mean()), "low": float(low), "high": float(high),
            "p": mcnemar_greater(int((d > 0).sum()), int((d < 0).sum()))}


def _known(x: Any) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def arm_status(st: dict[str, float]) -> str:
    """"more" (ReLU diverges clearly and significantly more often), "not more" (the interval
    excludes a clear excess), "undecided", or "uninformative" (no pairs, or every run of both
    activations diverged, or none did: the learning rates did not reach the boundary)."""
    if not st["n"] or (st["relu"], st["tanh"]) in ((0.0, 0.0), (1.0, 1.0)):
        return "uninformative"
    if st["p"] < ALPHA and st["diff"] >= CLEAR:
        return "more"
    return "not more" if st["high"] < CLEAR else "undecided"


def arm_stats(s: dict[str, Any]) -> dict[tuple[str, bool], dict[str, float]]:
    """`paired` for every (init, clipped) arm of the through_time summary, default init first."""
    arms = sorted({(i, c) for (_, i, c) in s["arms"]}, key=lambda k: (k[0] != "default", k[1]))
    return {k: paired(s["arms"][("relu", *k)]["diverged"], s["arms"][("tanh", *k)]["diverged"])
            for k in arms}


def arm_name(init: str, clipped: bool) -> str:
    return f"{init} init, {'clipped' if clipped else 'no clipping'}"


@claim(id="relu-rnn-explodes", title="ReLU RNNs explode far more easily",
       literature="Le, Jaitly and Hinton (2015): ReLU RNNs with identity initialisation (IRNN) "
                  f"learn the adding problem with sequences of up to {max(LE2015_ADDING_STEPS)} "
                  "steps, about as well as LSTMs; Pascanu et al. (2013): clipping the gradient norm tames explosions.",
       chapter="through_time", experiments=("through_time",),
       claim="ReLU is not recommended in RNNs: its outputs are unbounded, so ReLU RNNs explode "
             "far more easily than RNNs of bounded units.",
       measurement="share of diverged training runs (a non-finite loss or gradient, or a loss above the blow-up factor "
                   "times its first value) "
                   "on the adding problem, ReLU against tanh at matched learning rate and seed, "
                   "in each arm (default or identity init, with or without clipping)",
       quantity="per arm (init, clipping), ReLU's share of diverged runs minus tanh's over "
                "matched (learning rate, seed) pairs, with a bootstrap 95% interval and an exact "
                "McNemar test",
       effect="far more easily: at least 20 points more of the matched runs diverge, "
              "significantly (p < 0.05)",
       regions=Regions(holds="a clear, significant excess in every informative arm",
                       does_not_hold="the interval excludes a 20-point excess in every "
                                     "informative arm",
                       inconclusive="an arm neither clearly more nor clearly not, or no arm "
                                    "where some runs diverge and others do not"),
       reach=_divergence_reach)
def relu_rnn_explodes(s: dict[str, Any]) -> Verdict:
    stats = arm_stats(s)
    arms = list(stats)
    status = {k: arm_status(st) for k, st in stats.items()}
    numbers = {f"{i}-{'clip' if c else 'noclip'}-{key}": st[key]
               for (i, c), st in stats.items() for key in ("relu", "tanh", "diff", "p")}
    told = lambda k: (f"{arm_name(*k)}: ReLU {fmt(100 * stats[k]['relu'], 1)}% vs tanh "
                      f"{fmt(100 * stats[k]['tanh'], 1)}% diverged (p = {fmt(stats[k]['p'])})")
    more = [k for k in arms if status[k] == "more"]
    informative = [k for k in arms if status[k] != "uninformative"]
    if not informative:
        return Verdict("inconclusive", "in no arm did the learning rates reach the point where "
                       "some runs diverge and others do not", numbers)
    decided: dict[str, Status] = {arm_name(*k): "holds" if status[k] == "more" else "does not hold"
                                  for k in informative if status[k] in ("more", "not more")}
    undecided = [k for k in informative if status[k] == "undecided"]
    shown = "; ".join(map(told, informative))
    diffs = [100 * stats[k]["diff"] for k in informative]
    excess = (f"ReLU's diverged share minus tanh's: {fmt(min(diffs), 0)} to {fmt(max(diffs), 0)} "
              f"points over {len(informative)} arms")
    if not decided or (undecided and len(set(decided.values())) < 2):
        return Verdict("inconclusive", "in " + ", ".join(arm_name(*k) for k in undecided)
                       + " the difference is within the spread over seeds, which decides the "
                       f"claim; {shown}", numbers,
                       gist=f"{excess}; undecided in {len(undecided)} (clear from {fmt(100 * CLEAR, 0)})")
    verdict = combine(decided)
    words = {"holds": "ReLU diverged clearly more often in every arm",
             "does not hold": "in no arm did ReLU diverge clearly more often",
             "holds with caveats": "ReLU diverged clearly more often only in some arms"}
    return Verdict(verdict, f"{words[verdict]}; {shown}", numbers,
                   decided,
                   gist=f"{excess} (clear from {fmt(100 * CLEAR, 0)})")
