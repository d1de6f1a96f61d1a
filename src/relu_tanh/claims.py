"""The claims ledger: each claim of the article in our words, the chapter that tests it, the
measurement that decides it, and a function from measured results to a verdict.

Every threshold a verdict uses is a named constant here, so a reader can see (and change)
the rule; the outcome itself always comes from the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from . import experiments
from .registry import Registry
from .scale import check_scale, current_scale

Status = Literal["holds", "holds with caveats", "does not hold"]

VANISHED = 1e-2  # first-layer gradient below 1% of the last hidden layer's
UNTRAINED = 0.8  # final training error at or above this (chance is 0.9) means "did not train"
SMALL_SHARE = 0.10  # a derivative that is small on less than this share of N(0,1) inputs is mostly alive
EXACT = 1e-9  # tolerance for "the bound is the stated number"


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str  # one sentence, built from the numbers
    numbers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str  # the article's claim, in our words
    chapter: str  # docname under book/
    experiments: tuple[str, ...]  # what is run to decide it
    measurement: str  # what decides it
    decide: Callable[..., Verdict]  # takes one summary per experiment, in order


CLAIMS: Registry[Claim] = Registry("claim")


def claim(**kw: Any) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Decorator that files a verdict function in the ledger as `Claim(decide=fn, **kw)`."""
    def add(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        CLAIMS.add(kw["id"], Claim(decide=fn, **kw))
        return fn
    return add


def verdict(claim_id: str, scale: str | None = None) -> Verdict:
    """Run (or reuse) the claim's experiments at `scale` and decide it."""
    c = CLAIMS[claim_id]
    scale = check_scale(scale or current_scale())
    return c.decide(*(experiments.run(name, scale).summary for name in c.experiments))


def fmt(x: float, digits: int = 2) -> str:
    """A number for prose: fixed-point when moderate, scientific when tiny or huge."""
    if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 1e4):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}f}"


# --- Chapter 1: derivatives ------------------------------------------------------------------

@claim(id="derivative-ranges", chapter="derivatives", experiments=("derivatives",),
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


@claim(id="tanh-edge", chapter="derivatives", experiments=("derivatives",),
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


# --- Chapter 2: vanishing gradients in depth -------------------------------------------------

def _deepest(summary: dict[tuple, dict], activation: str, field_: str) -> dict[tuple, float]:
    """{(arch, init): centre of `field_`} at the largest depth, for one activation."""
    depth = max(k[3] for k in summary)
    return {(a, i): v[field_]["centre"] for (a, act, i, d), v in summary.items()
            if act == activation and d == depth}


@claim(id="sigmoid-vanishing", chapter="vanishing", experiments=("vanishing_init", "vanishing_train"),
       claim="With sigmoid in every layer, the derivatives (at most 0.25) multiply up and the "
             "gradient vanishes in the early layers of a deep network.",
       measurement="first/last hidden-layer gradient ratio at initialisation at the largest depth, "
                   "for every architecture and initialisation; whether the deepest nets train")
def sigmoid_vanishing(init: dict[tuple, dict], trained: dict[tuple, dict]) -> Verdict:
    ratios = _deepest(init, "sigmoid", "ratio")
    errors = _deepest(trained, "sigmoid", "train_error")
    vanished = [k for k, r in ratios.items() if r < VANISHED]
    untrained = [k for k, e in errors.items() if e >= UNTRAINED]
    numbers = {"largest_ratio": max(ratios.values()), "smallest_ratio": min(ratios.values()),
               "min_final_train_error": min(errors.values()),
               "share_vanished": len(vanished) / len(ratios)}
    if not vanished:
        return Verdict("does not hold", "no deep sigmoid network showed a vanished gradient", numbers)
    if len(vanished) == len(ratios) and len(untrained) == len(errors):
        return Verdict("holds",
                       f"at the largest depth the first layer gets between {fmt(min(ratios.values()))} "
                       f"and {fmt(max(ratios.values()))} of the last layer's gradient under every "
                       f"initialisation, and no such network trains (lowest training error "
                       f"{fmt(min(errors.values()))})", numbers)
    return Verdict("holds with caveats",
                   f"the gradient vanished in {len(vanished)} of {len(ratios)} deep settings and "
                   f"{len(untrained)} of {len(errors)} deep networks failed to train", numbers)


@claim(id="tanh-alleviates", chapter="vanishing", experiments=("vanishing_init", "vanishing_train"),
       claim="tanh only alleviates the vanishing gradient: better than sigmoid, but deep tanh "
             "networks still lose the gradient.",
       measurement="per-layer gradient shrink factor of tanh against sigmoid at the largest depth, "
                   "and whether tanh's first/last ratio falls below 1% under each initialisation")
def tanh_alleviates(init: dict[tuple, dict], trained: dict[tuple, dict]) -> Verdict:
    tanh_f, sig_f = _deepest(init, "tanh", "factor"), _deepest(init, "sigmoid", "factor")
    ratios = _deepest(init, "tanh", "ratio")
    errors = _deepest(trained, "tanh", "train_error")
    better = all(tanh_f[k] > sig_f[k] for k in tanh_f)
    vanished = sorted({i for (a, i), r in ratios.items() if r < VANISHED})
    kept = sorted({i for (a, i), r in ratios.items() if r >= VANISHED})
    numbers = {"largest_ratio": max(ratios.values()), "smallest_ratio": min(ratios.values()),
               "min_final_train_error": min(errors.values())}
    if not better or not vanished:
        return Verdict("does not hold",
                       "tanh does not beat sigmoid everywhere" if not better else
                       "deep tanh networks kept their gradient under every initialisation", numbers)
    if kept:
        return Verdict("holds with caveats",
                       f"tanh shrinks the gradient less than sigmoid everywhere, but it vanishes only "
                       f"with the {', '.join(vanished)} initialisation; with {', '.join(kept)} the "
                       f"deepest tanh nets keep up to {fmt(max(ratios.values()))} of it", numbers)
    return Verdict("holds", "tanh beats sigmoid, yet the gradient still vanishes under every "
                   "initialisation", numbers)


def ledger(scale: str | None = None) -> list[tuple[Claim, Verdict]]:
    """Every claim with its verdict at `scale`."""
    return [(CLAIMS[cid], verdict(cid, scale)) for cid in CLAIMS]


def markdown_table(rows: list[tuple[Claim, Verdict]]) -> str:
    """The verdict table as Markdown, one row per claim, linking each to its chapter."""
    lines = ["| Claim | Verdict | Why | Chapter |", "|---|---|---|---|"]
    for c, v in rows:
        lines.append(f"| {c.claim} | **{v.status}** | {v.reason} | [{c.chapter}]({c.chapter}.md) |")
    return "\n".join(lines)

