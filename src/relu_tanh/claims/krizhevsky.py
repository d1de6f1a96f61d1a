"""Chapter "krizhevsky": does ReLU reach 25% training error six times faster (Krizhevsky et al. 2012)?

The rule (`six_times_rule`, per pipeline), on the interval for the median over paired seeds of
tanh's epochs over ReLU's (`stats.paired_ratio`), once both activations have a tuned, interior
learning rate: "holds" when the whole interval is at least `CLAIM_FLOOR` (what "six times" can
mean), "does not hold" when the whole interval is below it, otherwise "inconclusive". The claim
is about the 2012 setup, so the 2012 pipeline decides; the other pipelines are its conditions:
where one of them is decided the other way, the verdict is "holds with caveats" with that map.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import experiments
from ..measure.stats import censored_median
from .core import DECIDED, Regions, Status, Verdict, claim, fmt

PAPER_RATIO = 6.0  # Krizhevsky et al. (2012), Figure 1: ReLU reaches 25% six times faster
# the least ratio that reads as "six times": two thirds of six, since the paper's one pair of
# runs, read off a plot, has no spread to go by
CLAIM_FLOOR = 4.0
NAMES = {"relu": "ReLU", "tanh": "tanh"}


def describe(r: dict[str, float], unknown: str = "unknown (too many runs never got there)") -> str:
    """The median ratio for prose: a number, or the bounds censoring leaves on it."""
    lo, hi = r["median_low"], r["median_high"]
    if lo == hi:
        return fmt(lo, 2)
    if math.isinf(hi):
        return f"at least {fmt(lo, 1)}" if lo > 0 else unknown
    return f"at most {fmt(hi, 1)}" if lo == 0 else f"between {fmt(lo, 1)} and {fmt(hi, 1)}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def interval_text(r: dict[str, float]) -> str:
    """The interval for prose, with its exact coverage; open ends said in words."""
    if math.isnan(r["coverage"]):
        return f"no interval with {plural(r['pairs'], 'seed')}"
    lo = "no lower bound" if r["low"] == 0 else fmt(r["low"], 2)
    hi = "no upper bound" if math.isinf(r["high"]) else fmt(r["high"], 2)
    return f"{r['coverage']:.1%} interval {lo} to {hi}"


def _reach(scale: str) -> str:
    cfg = experiments.config_for("krizhevsky", scale)
    return (f"epochs to the threshold are counted up to {cfg.epochs}, so the largest ratio "
            f"measurable is {cfg.epochs} over ReLU's epochs; when that is below "
            f"{fmt(CLAIM_FLOOR, 0)}, 'holds' cannot come out and the reason says so")


def largest_ratio(s: dict[str, Any], variant: str) -> float:
    """The largest ratio the epoch cap lets `variant` show: the cap over ReLU's median epochs
    (0 when ReLU's median is not finite: then no ratio is measured at all)."""
    relu = s["arms"][(variant, "relu", s["threshold"])]
    lr = relu["lr"]
    median = relu["grid"][lr]["median"] if lr is not None else math.inf
    return s["epochs_cap"] / median if median > 0 else math.inf


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
        if untuned := a["held_out_lrs"].count(None):
            return "inconclusive", (f"for {untuned} seeds no {act} rate reached the threshold "
                                    f"in most of the other seeds, so those seeds have no tuned "
                                    f"{act} network to compare")
    if math.isnan(ratio["coverage"]):
        return "inconclusive", f"too few seeds for an interval ({plural(ratio['pairs'], 'seed')})"
    lo, hi, floor = ratio["low"], ratio["high"], fmt(CLAIM_FLOOR, 0)
    if lo >= CLAIM_FLOOR:
        return "holds", f"the whole interval is at least {floor}"
    if hi < CLAIM_FLOOR:
        side = ("tanh is reliably faster" if hi < 1 else "ReLU is reliably faster, but not "
                f"{floor} times" if lo > 1 else "neither is reliably faster")
        return "does not hold", f"the whole interval is below {floor}: {side}"
    if math.isinf(hi):
        return "inconclusive", (f"the interval starts below {floor} and runs that never reached "
                                "the threshold leave its top open")
    return "inconclusive", f"the interval runs from below {floor} to above it"


@claim(id="relu-six-times", title="Figure 1: ReLU CNN six times faster",
       literature="Krizhevsky et al. (2012), Figure 1: about six times fewer epochs to 25% on "
                  "CIFAR-10.",
       chapter="krizhevsky", experiments=("krizhevsky",), stored="paper",
       claim="A four-layer CNN with ReLUs reaches 25% training error on CIFAR-10 six times faster "
             "(in epochs) than the same network with tanh.",
       measurement="epochs to the threshold in the 2012 pipeline (mean-subtracted raw pixels, "
                   "layers-18pct weight scales), each activation at its tuned learning rate; the "
                   "median over paired seeds of tanh's epochs over ReLU's, with a "
                   "distribution-free interval; the modern pipeline (standardised pixels, "
                   "Kaiming) as a condition",
       quantity="the median over paired seeds of tanh's epochs to 25% training error over "
                "ReLU's, with its distribution-free interval",
       effect=f"a ratio of about six, at least {fmt(CLAIM_FLOOR, 0)}",
       regions=Regions(holds=f"the whole interval is at least {fmt(CLAIM_FLOOR, 0)}",
                       does_not_hold=f"the whole interval is below {fmt(CLAIM_FLOOR, 0)}",
                       inconclusive=f"the interval straddles {fmt(CLAIM_FLOOR, 0)}, an arm is "
                                    "not tuned or tuned on its grid's edge, or too few seeds"),
       reach=_reach)
def relu_six_times(s: dict[str, Any]) -> Verdict:
    t, base = s["threshold"], s["variants"][0]
    per = {v: six_times_rule(s["ratios"][(v, t)], {act: s["arms"][(v, act, t)]
                                                   for act in ("relu", "tanh")})
           for v in s["variants"]}
    status, why = per[base]
    decided = {f"{v} pipeline": st for v, (st, _) in per.items() if st in DECIDED}
    conditions = decided if status in DECIDED and len(set(decided.values())) > 1 else {}
    r, arms = s["ratios"][(base, t)], {act: s["arms"][(base, act, t)] for act in ("relu", "tanh")}
    numbers = {"low": r["low"], "high": r["high"], "median_low": r["median_low"],
               "median_high": r["median_high"], "threshold": t, "seeds": s["seeds"],
               "largest": largest_ratio(s, base) or math.nan}
    for act, a in arms.items():
        numbers[f"{act}_reached"] = a["reached"]
        if a["lr"] is not None:
            numbers[f"{act}_lr"] = a["lr"]
    reached = ", ".join(f"{act} reached it in {a['reached']}/{a['total']} seeds"
                        for act, a in arms.items())
    cap = ("" if not 0 < largest_ratio(s, base) < CLAIM_FLOOR else
           f" (the epoch cap shows ratios up to {fmt(largest_ratio(s, base), 1)} only, so "
           f"'holds' cannot come out here)")
    others = "".join(f"; {v} pipeline: {describe(s['ratios'][(v, t)])}, "
                     f"{interval_text(s['ratios'][(v, t)])}, {st}" for v, (st, _) in per.items()
                     if v != base)
    reason = (f"{s['setting']}, {base} pipeline, {t:.0%} training error: the median over seeds "
              f"of tanh's epochs over ReLU's is {describe(r)}, {interval_text(r)}; {reached}; "
              f"{why}{cap}{others}")
    scope = None if "CIFAR-10" in s["data"] else "book-scale stand-in"
    gist = f"{s['data'].split()[0]}: tanh's epochs to {t:.0%} over ReLU's, median: " + ", ".join(
        f"{describe(s['ratios'][(v, t)], 'unknown')} ({v})" for v in s["variants"])
    return Verdict("holds with caveats" if conditions else status, reason, numbers,
                   conditions=conditions, scope=scope, gist=gist)


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


def direction_text(s: dict[str, Any]) -> str:
    """Which activation got to the verdict's threshold sooner, per pipeline, in words: from the
    interval of the median ratio of epochs (tanh / ReLU), or with too few seeds for one, from
    the bounds censoring leaves on the median itself."""
    parts = []
    for v in s["variants"]:
        r = s["ratios"][(v, s["threshold"])]
        lo, hi = ((r["median_low"], r["median_high"]) if math.isnan(r["coverage"])
                  else (r["low"], r["high"]))
        who = ("tanh got there sooner" if hi < 1 else "ReLU got there sooner" if lo > 1
               else "neither got there reliably sooner")
        parts.append(f"with the {v} pipeline {who} (tanh's epochs over ReLU's, median over "
                     f"seeds: {describe(r)})")
    return "; ".join(parts)


PIPELINE_HEADER = ["pipeline", "ReLU lr", "ReLU reached", "tanh lr", "tanh reached",
                   "tanh / ReLU epochs (median)", "interval", "six-times rule"]


def pipeline_tables(s: dict[str, Any], threshold: float | None = None) -> dict[str, tuple[list[str], list[list[str]]]]:
    """`pipeline_rows` as two narrow tables for `book.tables`, each answering one question: what
    rate each activation trained at and how often it reached the threshold, and what the ratio
    of epochs says under the six-times rule."""
    rows = pipeline_rows(s, threshold)
    split = PIPELINE_HEADER.index("tanh / ReLU epochs (median)")
    return {"Learning rates, and seeds that reached the threshold":
            (PIPELINE_HEADER[:split], [r[:split] for r in rows]),
            "Epochs, tanh over ReLU, and the six-times rule":
            (PIPELINE_HEADER[:1] + PIPELINE_HEADER[split:], [r[:1] + r[split:] for r in rows])}


def ladder_points(s: dict[str, Any], variant: str) -> list[tuple[int, dict[str, Any]]]:
    """The ladder of one pipeline: (training images, point) with pairs, fewest images first."""
    return sorted((n, p) for (v, n), p in s["ladder"].items() if v == variant)


def ladder_ends(s: dict[str, Any], variant: str) -> tuple[tuple[int, dict[str, Any]], ...] | None:
    """The ladder's smallest and largest size of one pipeline, as `ladder_points` gives them;
    None while fewer than two sizes have pairs."""
    points = ladder_points(s, variant)
    return (points[0], points[-1]) if len(points) > 1 else None


def ladder_trend(s: dict[str, Any], variant: str) -> str:
    """Whether the ratio moves between the ladder's smallest and largest size, in words: it
    rises (or falls) only when the two intervals are apart, and says too little otherwise."""
    if (ends := ladder_ends(s, variant)) is None:
        return f"the {variant} pipeline has pairs at fewer than two sizes yet"
    (n0, p0), (n1, p1) = ends
    r0, r1 = p0["ratio"], p1["ratio"]
    if math.isnan(r0["coverage"]) or math.isnan(r1["coverage"]):
        how = "one of the two sizes has too few pairs for an interval, so no trend is read yet"
    elif r1["low"] > r0["high"]:
        how = f"it rises: the interval at {n1:,} images lies wholly above the one at {n0:,}"
    elif r1["high"] < r0["low"]:
        how = f"it falls: the interval at {n1:,} images lies wholly below the one at {n0:,}"
    else:
        how = "the two intervals overlap, so the ladder does not show the ratio moving"
    return (f"in the {variant} pipeline tanh over ReLU goes from {describe(r0)} at {n0:,} images "
            f"to {describe(r1)} at {n1:,}; {how}")


def stand_in_text(stand_in: dict[str, Any], s: dict[str, Any]) -> str:
    """Where the stand-in's ratio (`stand_in`: a live summary) sits against the ladder's
    smallest CIFAR-10 size (`s`: the paper-scale summary), per pipeline both have: inside that
    size's interval, above or below it."""
    parts = []
    for v in stand_in["variants"]:
        if (ends := ladder_ends(s, v)) is None:
            continue
        (n, p), _ = ends
        b, r = stand_in["ratios"][(v, stand_in["threshold"])], p["ratio"]
        if math.isnan(r["coverage"]):
            where = "which has too few pairs for an interval yet"
        elif b["median_high"] < r["low"]:
            where = f"below its interval ({interval_text(r)})"
        elif b["median_low"] > r["high"]:
            where = f"above its interval ({interval_text(r)})"
        else:
            where = f"inside its interval ({interval_text(r)})"
        parts.append(f"{v} pipeline: the stand-in's {describe(b)} against {describe(r)} on "
                     f"{n:,} CIFAR-10 images, {where}")
    return "; ".join(parts) or "no pipeline has pairs below the full size to compare with yet"


LADDER_HEADER = ["pipeline", "images", "steps per epoch", "ReLU epochs", "tanh epochs",
                 "tanh / ReLU (median)", "interval"]


def ladder_rows(s: dict[str, Any], batch_size: int) -> list[list[str]]:
    """The ladder as table rows: per pipeline and size, the steps in an epoch, each activation's
    median epochs to the threshold over the pairs (a run that never got there counts as
    slower than any that did), and the median ratio with its interval."""
    rows = []
    for v in s["variants"]:
        for n, p in ladder_points(s, v):
            epochs = [fmt(censored_median(p[act]), 1, inf=f"over {p['cap']}") for act in ("relu", "tanh")]
            rows.append([v, f"{n:,}", f"{math.ceil(n / batch_size):,}", *epochs, describe(p["ratio"]),
                         interval_text(p["ratio"])])
    return rows


def ladder_test_text(s: dict[str, Any]) -> str:
    """How well the runs that reached the threshold generalise at the ladder's smallest and
    largest size, per pipeline: the median test error where they stopped, per activation."""
    def at(n: int, p: dict[str, Any]) -> str:
        errors = [f"{fmt(float(np.median(p['test'][act])), 2)} ({NAMES[act]})" if p["test"][act]
                  else f"none ({NAMES[act]} never got there)" for act in ("relu", "tanh")]
        return f"{' and '.join(errors)} at {n:,} images"
    parts = [f"in the {v} pipeline {at(*ends[0])}, against {at(*ends[1])}"
             for v in s["variants"] if (ends := ladder_ends(s, v))]
    return "; ".join(parts) or "no pipeline has pairs at two sizes yet"


def typical(r: dict[str, float]) -> float | None:
    """A ratio's median as one number: itself, or the geometric middle of the bounds censoring
    leaves on it when both are finite; None when a bound is open."""
    lo, hi = r["median_low"], r["median_high"]
    return math.sqrt(lo * hi) if 0 < lo and math.isfinite(hi) else None


def split_text(stand_in: dict[str, Any], s: dict[str, Any]) -> str:
    """The factor between the stand-in's ratio and the full CIFAR-10 ratio, per pipeline, as the
    product of two: stand-in to the smallest CIFAR-10 size (data, resolution, width), and that
    size to the full set (the number of images)."""
    parts = []
    for v in stand_in["variants"]:
        if (ends := ladder_ends(s, v)) is None:
            continue
        (n0, small), (n1, full) = ends
        b, r0, r1 = (typical(r) for r in (stand_in["ratios"][(v, stand_in["threshold"])],
                                           small["ratio"], full["ratio"]))
        if None in (b, r0, r1):
            parts.append(f"the {v} pipeline has a median known only as an open bound")
            continue
        parts.append(f"in the {v} pipeline, the factor of {fmt(r1 / b, 2)} from the stand-in to "
                     f"{n1:,} CIFAR-10 images is {fmt(r0 / b, 2)} from the stand-in to {n0:,} "
                     f"CIFAR-10 images times {fmt(r1 / r0, 2)} from {n0:,} to {n1:,} images")
    return "; ".join(parts) or "no pipeline has pairs below the full size yet"
