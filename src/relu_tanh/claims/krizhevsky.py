"""Chapter "krizhevsky": does ReLU reach 25% training error six times faster (Krizhevsky et al. 2012)?

The rule (`six_times_rule`), on the interval for the median over seeds of tanh's epochs over
ReLU's (`stats.paired_ratio`), once both activations have a tuned, interior learning rate:
"holds" when the interval contains or exceeds the paper's six (and excludes 1), "does not hold"
when its upper end is below `SEVERAL`, "holds with caveats" when ReLU is reliably faster but
the interval stops short of six (or only censoring leaves its top open), else "inconclusive".
"""

from __future__ import annotations

import math
from typing import Any

from .. import experiments
from .core import Regions, Status, Verdict, claim, fmt

PAPER_RATIO = 6.0  # Krizhevsky et al. (2012), Figure 1: ReLU reaches 25% six times faster
SEVERAL = 2.0  # "several times faster" (the paper's words) means at least twice as fast


def describe(r: dict[str, float]) -> str:
    """The median ratio for prose: a number, or the bounds censoring leaves on it."""
    lo, hi = r["median_low"], r["median_high"]
    if lo == hi:
        return fmt(lo, 2)
    if math.isinf(hi):
        return f"at least {fmt(lo, 1)}" if lo > 0 else "unknown (too many runs never got there)"
    return f"at most {fmt(hi, 1)}" if lo == 0 else f"between {fmt(lo, 1)} and {fmt(hi, 1)}"


def interval_text(r: dict[str, float]) -> str:
    """The interval for prose, with its exact coverage; open ends said in words."""
    if math.isnan(r["coverage"]):
        return f"no interval with {r['pairs']} seeds"
    lo = "no lower bound" if r["low"] == 0 else fmt(r["low"], 2)
    hi = "no upper bound" if math.isinf(r["high"]) else fmt(r["high"], 2)
    return f"{r['coverage']:.1%} interval {lo} to {hi}"


def _reach(scale: str) -> str:
    cfg = experiments.config_for("krizhevsky", scale)
    return (f"epochs to the threshold are counted up to {cfg.epochs}, so the largest ratio "
            f"measurable is {cfg.epochs} over ReLU's epochs ({cfg.epochs} only if ReLU needs one); "
            f"a run that never gets there leaves only a lower bound")


def six_times_rule(ratio: dict[str, float], arms: dict[str, dict[str, Any]]
                   ) -> tuple[Status, str]:
    """Status and why, for one pipeline: `ratio` from `stats.paired_ratio` (tanh over ReLU),
    `arms` maps "relu" and "tanh" to `experiments.krizhevsky.arm` summaries."""
    for act, a in arms.items():
        if a["lr"] is None:
            return "inconclusive", (f"no {act} learning rate reached the threshold in most "
                                    f"seeds, so there is no tuned {act} network to compare")
        if not a["interior"]:
            return "inconclusive", (f"{act}'s fastest learning rate ({a['lr']:g}) sits on the "
                                    f"edge of its grid, so a faster one may lie outside it")
    if math.isnan(ratio["coverage"]):
        return "inconclusive", f"{ratio['pairs']} seeds are too few for an interval"
    lo, hi = ratio["low"], ratio["high"]
    if lo >= PAPER_RATIO or (lo > 1 and math.isfinite(hi) and hi >= PAPER_RATIO):
        return "holds", f"the interval {'exceeds' if lo >= PAPER_RATIO else 'contains'} six"
    if hi < SEVERAL:
        return "does not hold", f"even the interval's upper end is below {fmt(SEVERAL, 0)}"
    if lo > 1 and math.isinf(hi):
        return "holds with caveats", ("ReLU is reliably faster, but runs that never reached "
                                      "the threshold leave the size of the gap open")
    if lo > 1:
        return "holds with caveats", "ReLU is reliably faster, but by less than six times"
    return "inconclusive", "the interval reaches below 1 and above 2"


@claim(id="relu-six-times",
       literature="Krizhevsky et al. (2012), Figure 1: about six times fewer epochs to 25% on "
                  "CIFAR-10.",
       chapter="krizhevsky", experiments=("krizhevsky",),
       claim="A four-layer CNN with ReLUs reaches 25% training error on CIFAR-10 six times faster "
             "(in epochs) than the same network with tanh.",
       measurement="epochs to the threshold in the 2012 pipeline (mean-subtracted raw pixels, "
                   "layers-18pct weight scales), each activation at its fastest learning rate "
                   "chosen on the other seeds; the median over paired seeds of tanh's epochs "
                   "over ReLU's, with a distribution-free interval, under the six-times rule",
       quantity="the median over paired seeds of tanh's epochs to the threshold over ReLU's, "
                "with its distribution-free interval",
       effect="a ratio of about six (at least several: two)",
       regions=Regions(holds="the interval lies above 1 and contains or exceeds six",
                       does_not_hold="the interval's upper end is below two",
                       inconclusive="the interval reaches below 1 and above 2, an arm is not "
                                    "tuned or tuned on its grid's edge, or too few seeds"),
       reach=_reach)
def relu_six_times(s: dict[str, Any]) -> Verdict:
    base, t = s["variants"][0], s["threshold"]
    r = s["ratios"][(base, t)]
    arms = {act: s["arms"][(base, act, t)] for act in ("relu", "tanh")}
    status, why = six_times_rule(r, arms)
    if status == "holds with caveats":  # until the rewrite of this rule: a caveat names conditions
        status, why = "inconclusive", f"{why}, which is no named condition (issue 20)"
    numbers = {"low": r["low"], "high": r["high"], "median_low": r["median_low"],
               "median_high": r["median_high"], "threshold": t, "seeds": s["seeds"]}
    for act, a in arms.items():
        numbers[f"{act}_reached"] = a["reached"]
        if a["lr"] is not None:
            numbers[f"{act}_lr"] = a["lr"]
    reached = ", ".join(f"{act} reached it in {a['reached']}/{a['total']} seeds"
                        for act, a in arms.items())
    reason = (f"{s['setting']} (not CIFAR-10), {base} pipeline, {t:.0%} training error: the "
              f"median over seeds of tanh's epochs over ReLU's is {describe(r)}, "
              f"{interval_text(r)}; {reached}; {why}")
    scope = None if "CIFAR-10" in s["data"] else "book-scale stand-in"
    return Verdict(status, reason, numbers, scope=scope)


def lr_text(a: dict[str, Any]) -> str:
    """An arm's learning rate for tables: the rate, flagged when it is on the grid's edge."""
    if a["lr"] is None:
        return "not tuned (no rate reached it in most seeds)"
    return f"{a['lr']:g}" + ("" if a["interior"] else " (grid edge)")


def pipeline_rows(s: dict[str, Any], threshold: float | None = None) -> list[list[str]]:
    """One table row per pipeline at `threshold` (default: the verdict's): each activation's
    learning rate and reached/total, the median ratio, its interval, and the rule's outcome."""
    t = s["threshold"] if threshold is None else threshold
    rows = []
    for v in s["variants"]:
        arms = {act: s["arms"][(v, act, t)] for act in ("relu", "tanh")}
        r = s["ratios"][(v, t)]
        status, why = six_times_rule(r, arms)
        cells = [v]
        for a in arms.values():
            cells += [lr_text(a), f"{a['reached']}/{a['total']}"]
        rows.append(cells + [describe(r), interval_text(r), f"**{status}**: {why}"])
    return rows


PIPELINE_HEADER = ["pipeline", "ReLU lr", "ReLU reached", "tanh lr", "tanh reached",
                   "tanh / ReLU epochs (median)", "interval", "six-times rule"]


def ladder_text(s: dict[str, Any]) -> str:
    """The scale ladder in words: per pipeline, the median ratio at each size that has pairs."""
    parts = []
    for v in s["variants"]:
        points = sorted((n, p) for (variant, n), p in s["ladder"].items() if variant == v)
        if points:
            parts.append(f"in the {v} pipeline tanh over ReLU is " + ", ".join(
                f"{describe(p['ratio'])} at {n:,} images ({len(p['relu'])} pairs)" for n, p in points))
    return "; ".join(parts) or "the ladder has no finished pair of runs yet"
