"""Chapter "derivatives": the ranges of sigmoid', tanh' and ReLU'; tanh's vanishing edges."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Regions, Status, Verdict, claim, fmt

EXACT = 1e-9  # tolerance for "the bound is the stated number"
AGREE = 1e-6  # autograd and the hand-written derivative must agree this closely to trust either
MOST = 0.5  # "the edges matter" once most inputs sit there


@claim(id="derivative-ranges", title="Ranges of the three derivatives",
       literature="Analytic: σ' peaks at 1/4 and tanh' at 1, both at z = 0.",
       chapter="derivatives", experiments=("derivatives",),
       claim="The derivative of sigmoid lies in [0, 0.25], that of tanh in [0, 1], and that of "
             "ReLU takes only the values 0 and 1.",
       measurement="min, max and distinct values of f' from autograd on a dense grid, "
                   "checked against the analytic derivative",
       quantity="the range of σ'(z), tanh'(z) and ReLU'(z) over z (an analytic fact, checked "
                "by autograd on a grid)",
       effect="σ' within [0, 0.25], tanh' within [0, 1], ReLU' in {0, 1}",
       regions=Regions(holds="every measured value lies in the stated range and autograd agrees "
                             "with the formula",
                       does_not_hold="a measured value outside the stated range",
                       inconclusive="autograd and the formula disagree"),
       reach="exact to float64 rounding at the grid points; the ends of the grid bound the "
             "smallest slope seen, not the range")
def derivative_ranges(s: dict[str, Any]) -> Verdict:
    """An analytic fact checked numerically: 'holds' says the grid confirms the formulas, and
    that the bounds 0 (approached as |z| grows, never reached) lie where the grid stops."""
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
    return Verdict("holds", f"an analytic fact, confirmed on the grid: the upper bounds "
                   f"{fmt(sig['max'])} and {fmt(tanh['max'])} are reached at z = 0 and 0 is "
                   f"approached as |z| grows (the grid stops at |z| = {s['grid_limit']:g}, where "
                   f"the slopes are {fmt(sig['min'])} and {fmt(tanh['min'])}), so the ranges "
                   f"are (0, 0.25] and (0, 1], inside the stated ones; autograd agrees with the "
                   f"formulas to {fmt(error)}", numbers,
                   gist=f"sigmoid' peaks at {fmt(sig['max'])} and tanh' at {fmt(tanh['max'])}, "
                        f"both approach 0; ReLU' takes only 0 and 1")


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
    Holds: both, an analytic fact the grid confirms; where the edges begin for Gaussian inputs
    (`half_scale`) is said, since the claim makes no point about how many inputs sit there.
    Inconclusive: autograd and the formula disagree."""
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
    return "holds", (f"its slope reaches 1 and falls to {fmt(a['at_grid_edge'])} at "
                     f"|z| = {s['grid_limit']:g} (analytic, confirmed on the grid); it is below "
                     f"{small:g} on most Gaussian inputs when their std is {where}")


@claim(id="tanh-edge", title="tanh' reaches 1, yet vanishes at the edges",
       literature="Analytic: tanh'(z) < 0.1 once |z| > 1.82, that is on 6.9% of N(0, 1) inputs.",
       chapter="derivatives", experiments=("derivatives",),
       claim="tanh's derivative can reach 1, but it still vanishes at the edges.",
       measurement="largest slope on the grid, the slope at both ends of the grid, and the input "
                   "std at which most of z ~ N(0, s^2) get tanh'(z) < 0.1",
       quantity="tanh's largest slope, and its slope at the ends of the grid (an analytic fact, "
                "checked by autograd)",
       effect="a largest slope of 1 and a slope below 0.1 at both ends",
       regions=Regions(holds="the slope reaches 1 and is below 0.1 at both ends of the grid",
                       does_not_hold="the slope stays below 1, or is 0.1 or more at an end",
                       inconclusive="autograd and the formula disagree"),
       reach="exact to float64 rounding on the grid; the share of Gaussian inputs at the edges "
             "is a Monte Carlo estimate over the stds of the scan")
def tanh_edge(s: dict[str, Any]) -> Verdict:
    share = dict(zip(s["input_stds"], s["tanh"]["frac_small"]))
    numbers = {"max": s["tanh"]["max"], "at_grid_edge": s["tanh"]["at_grid_edge"],
               "half_scale": half_scale(s, "tanh"), "share_at_std_1": share.get(1.0, math.nan)}
    status, why = edge_rule(s, "tanh")
    a = s["tanh"]
    gist = (f"tanh' peaks at {fmt(a['max'])} and falls to {fmt(a['at_grid_edge'])} at "
            f"|z| = {s['grid_limit']:g}" if status == "holds" else "")
    return Verdict(status, f"for tanh, {why}", numbers, gist=gist)
