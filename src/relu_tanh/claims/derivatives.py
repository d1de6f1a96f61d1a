"""Chapter "derivatives": the ranges of sigmoid', tanh' and ReLU'; tanh's vanishing edges."""

from __future__ import annotations

from typing import Any

from .core import Verdict, claim, fmt

SMALL_SHARE = 0.10  # a derivative that is small on less than this share of N(0,1) inputs is mostly alive
EXACT = 1e-9  # tolerance for "the bound is the stated number"


@claim(id="derivative-ranges",
       literature="Analytic: sigma' peaks at 1/4 and tanh' at 1, both at z = 0.",
       chapter="derivatives", experiments=("derivatives",),
       claim="The derivative of sigmoid lies in [0, 0.25], that of tanh in [0, 1], and that of "
             "ReLU takes only the values 0 and 1.",
       measurement="min, max and distinct values of f' from autograd on a dense grid, "
                   "checked against the analytic derivative")
def derivative_ranges(s: dict[str, Any]) -> Verdict:
    sig, tanh, relu = s["sigmoid"], s["tanh"], s["relu"]
    uppers_match = abs(sig["max"] - 0.25) < EXACT and abs(tanh["max"] - 1) < EXACT
    relu_values = relu["distinct"] == [0.0, 1.0]
    agree = max(s[k]["max_abs_error"] for k in ("sigmoid", "tanh", "relu")) < 1e-6
    numbers = {"sigmoid_max": sig["max"], "tanh_max": tanh["max"],
               "sigmoid_min": sig["min"], "tanh_min": tanh["min"]}
    if not (uppers_match and relu_values and agree):
        return Verdict("does not hold", "the measured ranges differ from the stated ones", numbers)
    if sig["min"] > 0 and tanh["min"] > 0:
        return Verdict("holds with caveats",
                       f"the upper bounds {fmt(sig['max'])} and {fmt(tanh['max'])} are reached only "
                       f"at z = 0, and 0 is never reached: the true ranges are (0, 0.25] and (0, 1]",
                       numbers)
    return Verdict("holds", "the measured ranges are exactly the stated ones", numbers)


@claim(id="tanh-edge",
       literature="Analytic: tanh'(z) < 0.1 once |z| > 1.82.",
       chapter="derivatives", experiments=("derivatives",),
       claim="tanh's derivative can reach 1, but it still vanishes at the edges.",
       measurement="share of inputs z ~ N(0, s^2) on which tanh'(z) < 0.1, as s grows")
def tanh_edge(s: dict[str, Any]) -> Verdict:
    stds = s["input_stds"]
    share = dict(zip(stds, s["tanh"]["frac_small"]))
    at1, widest = share[1.0], share[max(stds)]
    numbers = {"share_at_std_1": at1, "share_at_widest": widest, "widest_std": max(stds)}
    if s["tanh"]["max"] < 1 - EXACT or widest <= at1:
        return Verdict("does not hold", "tanh' does not reach 1, or does not vanish at the edges",
                       numbers)
    if at1 < SMALL_SHARE:
        return Verdict("holds with caveats",
                       f"tanh' < 0.1 on only {fmt(100 * at1, 1)}% of unit-variance inputs but on "
                       f"{fmt(100 * widest, 1)}% when their std is {max(stds):g}: the edges matter "
                       f"once pre-activations grow", numbers)
    return Verdict("holds", f"tanh' < 0.1 on {fmt(100 * at1, 1)}% of unit-variance inputs", numbers)


