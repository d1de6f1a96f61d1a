"""Chapter "derivatives": the ranges of sigmoid', tanh' and ReLU'; tanh's vanishing edges."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Status, Verdict, claim, fmt

EXACT = 1e-9  # tolerance for "the bound is the stated number"
AGREE = 1e-6  # autograd and the hand-written derivative must agree this closely to trust either
MOST = 0.5  # "the edges matter" once most inputs sit there


@claim(id="derivative-ranges",
       literature="Analytic: sigma' peaks at 1/4 and tanh' at 1, both at z = 0.",
       chapter="derivatives", experiments=("derivatives",),
       claim="The derivative of sigmoid lies in [0, 0.25], that of tanh in [0, 1], and that of "
             "ReLU takes only the values 0 and 1.",
       measurement="min, max and distinct values of f' from autograd on a dense grid, "
                   "checked against the analytic derivative")
def derivative_ranges(s: dict[str, Any]) -> Verdict:
    sig, tanh, relu = s["sigmoid"], s["tanh"], s["relu"]
    numbers = {"sigmoid_max": sig["max"], "tanh_max": tanh["max"],
               "sigmoid_min": sig["min"], "tanh_min": tanh["min"]}
    error = float(np.max([s[k]["max_abs_error"] for k in ("sigmoid", "tanh", "relu")]))  # NaN wins
    if not error < AGREE:
        return Verdict("inconclusive", f"autograd and the analytic derivatives differ by up to "
                       f"{fmt(error)}, so the measurement itself is in doubt", numbers)
    uppers_match = abs(sig["max"] - 0.25) < EXACT and abs(tanh["max"] - 1) < EXACT
    inside = sig["min"] >= 0 and tanh["min"] >= 0
    if not (uppers_match and inside and relu["distinct"] == [0.0, 1.0]):
        return Verdict("does not hold", "the measured ranges differ from the stated ones", numbers)
    if sig["min"] > 0 and tanh["min"] > 0:
        return Verdict("holds with caveats",
                       f"the upper bounds {fmt(sig['max'])} and {fmt(tanh['max'])} are reached only "
                       f"at z = 0, and 0 is never reached: the true ranges are (0, 0.25] and (0, 1]",
                       numbers)
    return Verdict("holds", "the measured ranges are exactly the stated ones", numbers)


def half_scale(s: dict[str, Any], name: str) -> float:
    """The smallest input std s at which at least half (`MOST`) of the inputs z ~ N(0, s^2) get a
    slope below `s["small"]`, interpolated log-linearly on the measured scan; inf if none does."""
    stds, share = np.log(s["input_stds"]), np.asarray(s[name]["frac_small"])
    above = np.flatnonzero(share >= MOST)
    if not len(above):
        return math.inf
    j = above[0]
    if j == 0:
        return float(np.exp(stds[0]))
    t = (MOST - share[j - 1]) / (share[j] - share[j - 1])
    return float(np.exp(stds[j - 1] + t * (stds[j] - stds[j - 1])))


def edge_rule(s: dict[str, Any], name: str) -> tuple[Status, str]:
    """The tanh-edge rule, for any activation in the summary: (status, why).

    Does not hold: the slope never reaches 1, or is not below `small` at both ends of the grid.
    Holds: both, and most unit-variance inputs already get a small slope (`half_scale` <= 1).
    Holds with caveats: both, but most inputs get a small slope only once their std exceeds 1,
    the scale the standard initialisations aim for. Inconclusive: autograd and the formula
    disagree."""
    a, small = s[name], s["small"]
    if not a["max_abs_error"] < AGREE:
        return "inconclusive", "autograd and the analytic derivative disagree"
    if a["max"] < 1 - EXACT:
        return "does not hold", f"its slope peaks at {fmt(a['max'])}, below 1"
    if not a["at_grid_edge"] < small:
        return "does not hold", (f"its slope at the ends of the grid is still "
                                 f"{fmt(a['at_grid_edge'])}: it does not vanish at both edges")
    scale = half_scale(s, name)
    where = (f"beyond the widest std measured, {max(s['input_stds']):g}" if math.isinf(scale)
             else f"above {fmt(scale)}")
    if scale <= 1:
        return "holds", f"its slope is below {small:g} on most inputs already at unit variance"
    return "holds with caveats", (f"its slope reaches 1 and falls to {fmt(a['at_grid_edge'])} at "
                                  f"|z| = {s['grid_limit']:g}, but it is below {small:g} on most "
                                  f"inputs only when their std is {where}")


@claim(id="tanh-edge",
       literature="Analytic: tanh'(z) < 0.1 once |z| > 1.82, that is on 6.9% of N(0, 1) inputs.",
       chapter="derivatives", experiments=("derivatives",),
       claim="tanh's derivative can reach 1, but it still vanishes at the edges.",
       measurement="largest slope on the grid, the slope at both ends of the grid, and the input "
                   "std at which most of z ~ N(0, s^2) get tanh'(z) < 0.1")
def tanh_edge(s: dict[str, Any]) -> Verdict:
    share = dict(zip(s["input_stds"], s["tanh"]["frac_small"]))
    numbers = {"max": s["tanh"]["max"], "at_grid_edge": s["tanh"]["at_grid_edge"],
               "half_scale": half_scale(s, "tanh"), "share_at_std_1": share.get(1.0, math.nan)}
    status, why = edge_rule(s, "tanh")
    return Verdict(status, f"for tanh, {why}", numbers)
