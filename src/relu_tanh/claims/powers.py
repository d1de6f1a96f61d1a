"""Chapter "powers": repeated multiplication by W (R1), Pascanu et al.'s sufficient condition,
and one shared W against independent layers (R2)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import experiments
from .core import Regions, Status, Verdict, claim, combine, fmt

RATE_TOL = 0.01  # a per-step growth factor within 1% of 1 counts as "neither vanishes nor explodes"
AGREE = 0.95  # a rule that predicts the fate of W^t for this share of matrices governs it
BOUND_TOL = 1e-9  # slack (in log) for "the measured norm never exceeds the bound"
JUST_ABOVE = 1.5  # gamma ||W_h|| in (1, JUST_ABOVE]: just above Pascanu et al.'s bound
HALF = 0.5  # vanishing in at least this share of settings just above the bound: far from necessary
MIN_SEEDS = 5  # R2 compares spreads over seeds: fewer cannot decide it
DECIDED = 1.0  # decades: a setting where either arm's median |log10 ||dh_T/dh_0||| reaches this
SUPERIOR = 0.64  # P(shared further from 1 than independent) from here on: worse (a "medium"
# effect on Vargha and Delaney's 2000 scale, where 0.5 is no difference)


def _reach(scale: str) -> str:
    cfg = experiments.config_for("powers", scale)
    return (f"growth factors per step from float64 products over {cfg.spectra.steps} steps, "
            f"resolved to about {RATE_TOL:.0%}; shares over the matrices the sweep builds, so a "
            f"share says as much about the sweep as about the rule")


def fate(factor: float) -> str:
    """What a per-step factor does to a long product: "vanishes", "explodes" or "persists"."""
    if factor < 1 - RATE_TOL:
        return "vanishes"
    if factor > 1 + RATE_TOL:
        return "explodes"
    return "persists"


@claim(id="powers-entries", title="Entries of W decide its powers",
       literature="Pascanu, Mikolov and Bengio (2013): for linear recurrences the spectral radius "
                  "decides, rho < 1 vanishing and rho > 1 exploding (Gelfand's formula).",
       chapter="powers", experiments=("powers",),
       claim="With one W at every step and no activation, entries of W below 1 in magnitude go to "
             "0 under repeated multiplication and entries above 1 blow up.",
       measurement="for constructed and random matrices, whether the largest entry |w_ij| (the "
                   "article's rule) or the spectral radius predicts if ‖Wᵗ‖ vanishes, explodes "
                   "or persists, with the fate read from the measured growth rate of ‖Wᵗ‖",
       quantity="the share of matrices whose fate under Wᵗ the largest entry predicts, against "
                "the share the spectral radius predicts",
       effect="the entries decide: they predict the fate of (nearly) every matrix, at least 95%",
       regions=Regions(holds="the entries predict at least 95% of the fates",
                       does_not_hold="the spectral radius predicts at least 95% and the entries "
                                     "fewer, with counterexamples",
                       inconclusive="neither predicts 95%"),
       reach=_reach)
def powers_entries(summary: dict[str, Any]) -> Verdict:
    """A counterexample refutes the entries' rule whatever share of the sweep it misses: the
    share depends on which matrices the sweep builds, the counterexamples do not."""
    rows = summary["spectra"]["rows"]
    actual = [fate(r["rate"]) for r in rows]
    by_entries = [fate(r["max_entry"]) for r in rows]
    by_radius = [fate(r["radius"]) for r in rows]
    e = float(np.mean([a == p for a, p in zip(actual, by_entries)]))
    sp = float(np.mean([a == p for a, p in zip(actual, by_radius)]))
    wrong = [r for r, a, p in zip(rows, actual, by_entries) if a != p]
    numbers = {"entries_agree": e, "radius_agree": sp, "matrices": len(rows),
               "counterexamples": len(wrong),
               "max_rate_error": max(abs(r["rate"] - r["radius"]) / r["radius"] for r in rows)}
    summary = (f"the largest entry predicts the fate of Wᵗ for {fmt(100 * e, 0)}% of "
               f"{len(rows)} matrices, the spectral radius for {fmt(100 * sp, 0)}%")
    if e >= AGREE:
        return Verdict("holds", summary, numbers)
    if sp >= AGREE:
        example = next((r for r in wrong if r["family"] == "constructed"), wrong[0])
        return Verdict("does not hold", f"{summary}; e.g. {example['name']} (largest entry "
                       f"{fmt(example['max_entry'])}, radius {fmt(example['radius'])}) "
                       f"{fate(example['rate'])}", numbers, gist=summary)
    return Verdict("inconclusive", f"{summary}: neither quantity predicts the measured growth",
                   numbers, gist=summary)


@claim(id="pascanu-bound", title="Below Pascanu's bound, gradients vanish",
       literature="Pascanu, Mikolov and Bengio (2013), section 2.1: ‖W_h‖ < 1/γ (γ = 1 "
                  "for tanh, 1/4 for sigmoid) is sufficient for vanishing; its converse is "
                  "necessary for exploding.",
       chapter="powers", experiments=("powers",),
       claim="Gradients through time vanish whenever the largest singular value of W_h is below "
             "1/γ, with γ the largest slope of the activation.",
       measurement="per-step decay of ‖∂h_T/∂h_{T-g}‖ in input-driven tanh and sigmoid RNNs at "
                   "γ‖W_h‖ = η below, near and above 1, against the bound ηᵍ; every "
                   "seed's rate counts",
       quantity="below the bound (γ‖W_h‖ < 1): the slowest per-step decay of the gradient "
                "norm and its largest excess over ηᵍ",
       effect="sufficiency: every gradient below the bound vanishes, never above ηᵍ",
       regions=Regions(holds="every rate below the bound vanishes and no norm exceeds ηᵍ",
                       does_not_hold="some rate below the bound does not vanish, or a norm "
                                     "exceeds ηᵍ",
                       inconclusive="the sweep lacks settings below or just above the bound"),
       reach=_reach)
def pascanu_bound(summary: dict[str, Any]) -> Verdict:
    settings = summary["pascanu"]["settings"]
    below = {k: v for k, v in settings.items() if k[2] < 1}
    above = {k: v for k, v in settings.items() if 1 < k[2] <= JUST_ABOVE}
    if not below or not above:
        return Verdict("inconclusive", "the sweep lacks settings below or just above the bound")
    margin = max(v["bound_margin"] for v in settings.values())
    worst_below = max(v["rate_max"] for v in below.values())
    vanished_above = [k for k, v in above.items() if fate(v["rate_max"]) == "vanishes"]
    share = len(vanished_above) / len(above)
    numbers = {"bound_margin": margin, "worst_rate_below": worst_below,
               "share_vanished_above": share,
               "tightest": max(v["rate"] / k[2] for k, v in settings.items())}
    if margin > BOUND_TOL or fate(worst_below) != "vanishes":
        return Verdict("does not hold", f"below the bound the slowest per-step factor was "
                       f"{fmt(worst_below)} and the norm exceeded ηᵍ by up to "
                       f"{fmt(float(np.exp(max(margin, 0))))}x", numbers,
                       gist=f"below the bound: slowest per-step factor {fmt(worst_below)}, "
                            f"norm up to {fmt(float(np.exp(max(margin, 0))))}x ηᵍ")
    head = (f"below the bound every gradient vanished (slowest per-step factor "
            f"{fmt(worst_below)}) and none ever exceeded ηᵍ")
    just = f"settings just above it (1 < γ‖W_h‖ ≤ {JUST_ABOVE:g})"
    if share >= HALF:
        return Verdict("holds", f"{head}; the claim does not say the condition is necessary, and "
                       f"it is far from it: {len(vanished_above)} of {len(above)} {just} vanished "
                       f"too", numbers, gist=f"every gradient below the bound vanished, none "
                                             f"above ηᵍ; {len(vanished_above)} of {len(above)} "
                                             f"just above it vanished too")
    return Verdict("holds", f"{head}, and {len(above) - len(vanished_above)} of {len(above)} "
                   f"{just} stopped vanishing", numbers,
                   gist=f"every gradient below the bound vanished, none above ηᵍ; "
                        f"{len(above) - len(vanished_above)} of {len(above)} just above it did not")


VERB = {"vanishing": "vanish", "exploding": "explode"}


def superiority(a: list[float], b: list[float]) -> float:
    """P(X > Y) + P(X = Y) / 2 for X from `a`, Y from `b`: the probability that a draw of the
    first group beats one of the second (Vargha and Delaney's A; 0.5 means no difference)."""
    x, y = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    return float(np.mean((x > y) + 0.5 * (x == y)))


def shared_against_independent(s: dict[str, Any]) -> dict[tuple, dict[str, Any]]:
    """Per (activation, scale): median |log10 ‖∂h_T/∂h_0‖| over seeds for each arm, the side
    (vanishing or exploding, by the sign of the pooled median log), the probability that a
    shared-W run lies further from 1 than an independent one, and the ratio of the spreads."""
    out = {}
    for key, v in s["settings"].items():
        sh, ind = np.asarray(v["shared_final"]), np.asarray(v["independent_final"])
        out[key] = {"shared": float(np.median(np.abs(sh))), "independent": float(np.median(np.abs(ind))),
                    "side": "vanishing" if np.median(np.concatenate([sh, ind])) < 0 else "exploding",
                    "superiority": superiority(list(np.abs(sh)), list(np.abs(ind))),
                    "spread_ratio": float(np.std(sh) / max(float(np.std(ind)), 1e-12))}
    return out


@claim(id="shared-w", title="A shared W suffers more than layers",
       literature="Products of independent random matrices also grow or shrink exponentially, at "
                  "their top Lyapunov exponent (Newman 1986); deep feed-forward nets vanish and "
                  "explode too (Glorot and Bengio 2010).",
       chapter="powers", experiments=("powers",),
       claim="Because W is the same at every step, RNNs suffer vanishing and exploding gradients "
             "more than feed-forward nets of the same depth.",
       measurement="|log10 ‖∂h_T/∂h_0‖| through T steps of one shared random W against T "
                   "independent layers of the same distribution, same activation, scale and "
                   "initial state, in every setting where either arm's median is a decade or more "
                   "from 1; per side (vanishing, exploding) the mean probability that a shared-W "
                   "run is further from 1 than an independent one",
       quantity="per side (vanishing, exploding), the mean probability that a shared-W run ends "
                "further from 1 than an independent-layer run (Vargha and Delaney's A)",
       effect="shared W suffers more on both sides: A at least 0.64, a medium effect",
       regions=Regions(holds="A at least 0.64 on both sides",
                       does_not_hold="A below 0.64 on both sides",
                       inconclusive="fewer than 5 seeds, or a side with no decided setting"),
       reach=_reach)
def shared_w(summary: dict[str, Any]) -> Verdict:
    s = summary["shared"]
    cmp = shared_against_independent(s)
    decided = {k: c for k, c in cmp.items() if max(c["shared"], c["independent"]) >= DECIDED}
    sides = {side: [c["superiority"] for c in decided.values() if c["side"] == side]
             for side in ("vanishing", "exploding")}
    spread = float(np.median([c["spread_ratio"] for c in cmp.values()]))
    numbers = {"settings": len(decided), "spread_ratio": spread, "seeds": s["seeds"],
               **{f"superiority_{side}": float(np.mean(a)) for side, a in sides.items() if a}}
    if s["seeds"] < MIN_SEEDS or not all(sides.values()):
        return Verdict("inconclusive", f"{s['seeds']} seeds, with {len(sides['vanishing'])} "
                       f"vanishing and {len(sides['exploding'])} exploding settings, cannot decide "
                       f"it", numbers)
    conditions: dict[str, Status] = {f"where gradients {VERB[side]}": "holds" if np.mean(a) >= SUPERIOR
                                     else "does not hold" for side, a in sides.items()}
    tally = (f"over {s['seeds']} seeds, a shared-W run is further from 1 than an independent one "
             f"with probability {fmt(numbers['superiority_vanishing'])} where gradients vanish and "
             f"{fmt(numbers['superiority_exploding'])} where they explode; its spread over seeds "
             f"is {fmt(spread, 1)}x the independent one's")
    status = combine(conditions)
    brief = (f"P(shared W further from 1): {fmt(numbers['superiority_vanishing'])} vanishing, "
             f"{fmt(numbers['superiority_exploding'])} exploding (more from {fmt(SUPERIOR)})")
    if status != "holds with caveats":
        return Verdict(status, tally, numbers, gist=brief)
    better = [side for side, a in sides.items() if np.mean(a) <= 1 - SUPERIOR]
    relief = f", and better where they {VERB[better[0]]}" if better else ""
    return Verdict(status, f"{tally}: it is worse on one side only{relief}", numbers, conditions,
                   gist=brief)
