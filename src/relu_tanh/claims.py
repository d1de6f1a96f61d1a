"""The claims ledger: each claim of the article in our words, the chapter that tests it, the
measurement that decides it, and a function from measured results to a verdict.

Every threshold a verdict uses is a named constant here, so a reader can see (and change)
the rule; the outcome itself always comes from the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np

from . import experiments
from .experiments.vanishing import deepest
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
    numbers: dict[str, float] = field(default_factory=dict)  # undefined (NaN/inf) ones are dropped

    def __post_init__(self) -> None:
        finite = {k: float(v) for k, v in self.numbers.items() if math.isfinite(v)}
        object.__setattr__(self, "numbers", finite)


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str  # the article's claim, in our words
    chapter: str  # docname under book/
    experiments: tuple[str, ...]  # what is run to decide it
    measurement: str  # what decides it
    decide: Callable[..., Verdict]  # takes one summary per experiment, in order
    literature: str  # what the original papers report (or the analytic fact), for comparison


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
    if x == 0:
        return "0"
    if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 1e4):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}f}"


# --- Chapter 1: derivatives ------------------------------------------------------------------

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


# --- Chapter 2: vanishing gradients in depth -------------------------------------------------

def _deepest(summary: dict[tuple, dict], activation: str, field_: str) -> dict[tuple, float]:
    """{(arch, init): centre of `field_`} at the largest depth, for one activation."""
    archs = dict.fromkeys(k[0] for k in summary)
    return {(a, i): c for a in archs for i, c in deepest(summary, a, activation, field_).items()}


@claim(id="sigmoid-vanishing",
       literature="Glorot and Bengio (2010): deep sigmoid networks with standard initialisation "
                  "train badly.",
       chapter="vanishing", experiments=("vanishing_init", "vanishing_train"),
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


@claim(id="tanh-alleviates",
       literature="Glorot and Bengio (2010): with their normalised initialisation, "
                  "back-propagated gradients of tanh networks keep their scale across layers.",
       chapter="vanishing", experiments=("vanishing_init", "vanishing_train"),
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
                       f"deepest tanh nets' first/last gradient ratio is as high as "
                       f"{fmt(max(ratios.values()))}", numbers)
    return Verdict("holds", "tanh beats sigmoid, yet the gradient still vanishes under every "
                   "initialisation", numbers)


# --- CNN chapters: Figure 1, saturation, the negative half -----------------------------------

PAPER_RATIO = 6.0  # Krizhevsky et al. (2012), Figure 1: ReLU reaches 25% six times faster
RATIO_BAND = 2.0  # "about six" means within a factor of two of it
MATERIAL = 0.10  # a share of units (saturated, dead) at or above this is material
TRACE = 0.01  # below this share the effect is absent
TOP_SATURATED = 0.5  # Glorot and Bengio: most of the top sigmoid layer saturates


@claim(id="relu-six-times",
       literature="Krizhevsky et al. (2012), Figure 1: about six times fewer epochs to 25% on "
                  "CIFAR-10.",
       chapter="krizhevsky", experiments=("krizhevsky",),
       claim="A four-layer CNN with ReLUs reaches 25% training error on CIFAR-10 six times faster "
             "(in epochs) than the same network with tanh.",
       measurement="epochs to the threshold at each activation's fastest learning rate, tanh/ReLU "
                   "ratio with a bootstrap interval over seeds, for the 2012-style initialisation; "
                   "the other variants (Kaiming, batch norm) as checks")
def relu_six_times(s: dict[str, Any]) -> Verdict:
    base, *others = s["variants"]
    r = s["ratios"][(base, s["threshold"])]
    numbers = {"ratio": r["ratio"], "low": r["low"], "high": r["high"], "threshold": s["threshold"]}
    numbers.update({f"ratio_{v}": s["ratios"][(v, s["threshold"])]["ratio"] for v in others})
    relu_epochs = r["best"]["relu"]["epochs"]
    if math.isnan(r["ratio"]):
        tanh = r["best"]["tanh"]["epochs"]
        other = (f", while tanh did in {fmt(float(np.mean(tanh)), 1)} epochs"
                 if all(map(math.isfinite, tanh)) else "")
        return Verdict("does not hold", f"the ReLU network never reached {fmt(s['threshold'])} "
                       f"training error within {s['epochs_cap']} epochs{other}", numbers)
    if math.isinf(r["ratio"]):
        bound = s["epochs_cap"] / max(relu_epochs)
        numbers["ratio_at_least"] = bound
        return Verdict("holds with caveats", f"ReLU got there and tanh did not within "
                       f"{s['epochs_cap']} epochs, so the ratio is at least {fmt(bound, 1)}", numbers)
    faster_everywhere = all(s["ratios"][(v, s["threshold"])]["low"] > 1 for v in others)
    near_six = PAPER_RATIO / RATIO_BAND <= r["ratio"] <= PAPER_RATIO * RATIO_BAND
    span = f"{fmt(r['ratio'], 1)} (95% interval {fmt(r['low'], 1)} to {fmt(r['high'], 1)})"
    if r["low"] > 1 and near_six and faster_everywhere:
        return Verdict("holds", f"tanh needs {span} times the epochs of ReLU", numbers)
    if r["low"] > 1:
        why = ("but not about six times" if not near_six else
               "but the advantage shrinks or vanishes with another initialisation or batch norm")
        return Verdict("holds with caveats", f"tanh needs {span} times the epochs of ReLU, {why}",
                       numbers)
    return Verdict("does not hold", f"the tanh/ReLU epoch ratio is {span}: ReLU is not "
                   f"reliably faster here", numbers)


def _most_saturated(summary: dict[tuple, dict], act: str, field_: str) -> float:
    """The largest layer share of saturated units of `act`, over the architectures."""
    return max(max(v[field_]) for (arch, a), v in summary.items() if a == act)


@claim(id="tanh-saturates",
       literature="Glorot and Bengio (2010): tanh layers saturate one after another during "
                  "training.",
       chapter="saturation", experiments=("saturation",),
       claim="In practice tanh units still end up on the flat edges of their curve, where the "
             "gradient vanishes.",
       measurement="largest per-layer share of tanh units with |tanh| > 0.97 on a probe batch, "
                   "at its peak during training and at the end, for CNNs and MLPs")
def tanh_saturates(s: dict[tuple, dict]) -> Verdict:
    peak, end = _most_saturated(s, "tanh", "saturated_peak"), _most_saturated(s, "tanh", "saturated_end")
    sig = _most_saturated(s, "sigmoid", "saturated_peak")
    numbers = {"peak": peak, "end": end, "sigmoid_peak": sig}
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
       measurement="share of saturated units in the top hidden layer of the sigmoid MLP: its peak, "
                   "when it occurs, and its value at the end")
def glorot_top_sigmoid(s: dict[tuple, dict]) -> Verdict:
    v = s[("mlp", "sigmoid")]
    peak, end, start = v["saturated_peak"][-1], v["saturated_end"][-1], v["saturated_start"][-1]
    numbers = {"start": start, "peak": peak, "end": end, "peak_step": v["saturated_peak_step"][-1]}
    if peak < TOP_SATURATED:
        return Verdict("does not hold", f"the top layer's saturated share peaked at "
                       f"{fmt(100 * peak, 1)}%", numbers)
    if end <= peak / 2:
        return Verdict("holds", f"the top layer went from {fmt(100 * start, 1)}% to "
                       f"{fmt(100 * peak, 1)}% saturated by step {v['saturated_peak_step'][-1]} "
                       f"and recovered to {fmt(100 * end, 1)}%", numbers)
    return Verdict("holds with caveats", f"the top layer saturated ({fmt(100 * peak, 1)}% at step "
                   f"{v['saturated_peak_step'][-1]}) and had not recovered by the end "
                   f"({fmt(100 * end, 1)}%)", numbers)


@claim(id="relu-negative-half",
       literature="Glorot, Bordes and Bengio (2011): most hidden units of a rectifier network are "
                  "exactly zero on a given input.",
       chapter="sparsity", experiments=("sparsity",),
       claim="ReLU's gradient does not vanish on its positive half but is zero on its negative "
             "half, where units can die.",
       measurement="share of exact zeros and of dead units (never positive on any training "
                   "example) per layer of trained ReLU CNNs, across learning rates and inits")
def relu_negative_half(s: dict[tuple, dict]) -> Verdict:
    relu = [v for (act, _, _), v in s.items() if act == "relu" and "zero" in v]
    zero = float(np.mean([np.mean(v["zero"]) for v in relu]))
    dead = max(max(v["dead_max"]) for v in relu)
    numbers = {"zero": zero, "dead_max": dead}
    if dead >= MATERIAL:
        return Verdict("holds", f"{fmt(100 * zero, 1)}% of ReLU outputs are exactly zero, and up "
                       f"to {fmt(100 * dead, 1)}% of a layer's units died", numbers)
    if zero >= TRACE:
        return Verdict("holds with caveats", f"{fmt(100 * zero, 1)}% of ReLU outputs (and their "
                       f"gradients) are zero, but at most {fmt(100 * dead, 1)}% of a layer's units "
                       f"died for good", numbers)
    return Verdict("does not hold", "ReLU outputs were almost never zero", numbers)


@claim(id="sparsity-regularises",
       literature="Glorot, Bordes and Bengio (2011) argue that sparse representations generalise "
                  "better.",
       chapter="sparsity", experiments=("sparsity",),
       claim="The sparsity of ReLU's negative half acts as a regulariser.",
       measurement="train/test error gap at equal training error: ReLU against leaky ReLU and tanh "
                   "at the same learning rate and initialisation, over seeds")
def sparsity_regularises(s: dict[tuple, dict]) -> Verdict:
    wins = clear = total = 0
    for (act, init, lr), v in s.items():
        rivals = [s[(a, init, lr)] for a in ("leaky_relu", "tanh") if (a, init, lr) in s]
        if act != "relu" or "gap" not in v or not all("gap" in r for r in rivals) or not rivals:
            continue
        total += 1
        wins += v["gap"] < min(r["gap"] for r in rivals)
        clear += v["gap_max"] < min(r["gap_min"] for r in rivals)
    numbers = {"settings": total, "smaller_gap": wins, "clearly_smaller": clear}
    if total == 0:
        return Verdict("does not hold", "no setting where all three activations trained", numbers)
    if clear > total / 2:
        return Verdict("holds", f"ReLU's generalisation gap is below both controls beyond the seed "
                       f"spread in {clear} of {total} settings", numbers)
    if wins > total / 2:
        return Verdict("holds with caveats", f"ReLU's mean gap is the smallest in {wins} of "
                       f"{total} settings, but within the spread over seeds", numbers)
    return Verdict("does not hold", f"ReLU's gap is the smallest in only {wins} of {total} "
                   f"settings", numbers)


def ledger(scale: str | None = None) -> list[tuple[Claim, Verdict]]:
    """Every claim with its verdict at `scale`."""
    return [(CLAIMS[cid], verdict(cid, scale)) for cid in CLAIMS]


def markdown_table(rows: list[tuple[Claim, Verdict]]) -> str:
    """The verdict table as Markdown, one row per claim, linking each to its chapter."""
    lines = ["| Claim | Verdict | Measured | Literature | Chapter |", "|---|---|---|---|---|"]
    for c, v in rows:
        lines.append(f"| {c.claim} | **{v.status}** | {v.reason} | {c.literature} | "
                     f"{{doc}}`{c.chapter}` |")
    return "\n".join(lines)


# --- Chapter "cost": is ReLU much less computational? ----------------------------------------

MUCH_CHEAPER = 2.0  # "much less computational": tanh and sigmoid take at least twice ReLU's time
STEP_MUCH = 1.25  # a training step at least a quarter longer than with ReLU: "much" cheaper
EXPENSIVE = ("tanh", "sigmoid")  # the activations the article says cost more


@claim(id="relu-cheap-per-element",
       literature="Glorot, Bordes and Bengio (2011): rectifiers need no exponential.",
       chapter="cost", experiments=("cost_micro",),
       claim="ReLU is much cheaper to compute than sigmoid and tanh, element for element.",
       measurement="eager time per element of tanh and sigmoid over ReLU's, forward and "
                   "forward+backward, float32 and bfloat16, on tensors in cache (the size at which "
                   "a clone is fastest) and on the largest tensors, beyond the last-level cache")
def relu_cheap_per_element(s: dict[str, Any]) -> Verdict:
    eager = [r for r in s["ratios"] if r["activation"] in EXPENSIVE and not r["compiled"]]
    largest = [r["ratio"] for r in eager if r["numel"] == s["largest"]]
    cached = [r for r in eager if r["numel"] == s["peak"][r["dtype"]]]
    top = max(cached, key=lambda r: r["ratio"])
    relu_of_copy = min(r["fraction_of_copy"] for r in s["rows"]
                       if (r["activation"], r["numel"], r["mode"], r["compiled"])
                       == ("relu", s["largest"], "forward", False))
    numbers = {"cache_min": min(r["ratio"] for r in cached), "cache_max": top["ratio"],
               "cache_numel": top["numel"], "largest_min": min(largest), "largest_max": max(largest),
               "largest_numel": s["largest"], "relu_of_copy": relu_of_copy}
    at_largest = (f"on the largest tensors ({s['largest']:,} elements) tanh and sigmoid take "
                  f"{fmt(min(largest))} to {fmt(max(largest))} times ReLU's time, and ReLU moves "
                  f"bytes at {fmt(relu_of_copy)} times the rate of a clone")
    if min(largest) >= MUCH_CHEAPER:
        return Verdict("holds", f"{at_largest}: at least {fmt(MUCH_CHEAPER, 1)} even beyond the cache",
                       numbers)
    if top["ratio"] < MUCH_CHEAPER and max(largest) < MUCH_CHEAPER:
        return Verdict("does not hold", f"neither in cache (at most {fmt(top['ratio'])} times) nor "
                       f"beyond it do tanh or sigmoid take {fmt(MUCH_CHEAPER, 1)} times ReLU's time; "
                       f"{at_largest}", numbers)
    return Verdict("holds with caveats",
                   f"in cache ({top['numel']:,} elements, {top['dtype']}, "
                   f"{top['mode'].replace('_', '+')}) {top['activation']} takes {fmt(top['ratio'])} "
                   f"times ReLU's time per element, but {at_largest}", numbers)


@claim(id="relu-cheap-per-step",
       literature="No paper measures it; the article asserts it.",
       chapter="cost", experiments=("cost_step",),
       claim="Because ReLU is cheaper to compute, a training step is much cheaper with ReLU than "
             "with sigmoid or tanh.",
       measurement="time of one SGD step of the Krizhevsky-style CNN and of an Elman RNN with tanh "
                   "and sigmoid over that with ReLU, paired by round (median and quartiles over "
                   "rounds), against a step a quarter longer; and the share of the step that "
                   "removing the activation saves")
def relu_cheap_per_step(s: dict[str, Any]) -> Verdict:
    nets = [m for m in ("cnn", "rnn") if m in s]
    ratio = {f"{m}_{a}": s[m]["vs_relu"][a] for m in nets for a in EXPENSIVE}
    shares = {f"{m}_{a}_share": s[m]["share"][a]["median"] for m in nets for a in s[m]["share"]}
    medians = {k: r["median"] for k, r in ratio.items()}
    low, high = min(r["p25"] for r in ratio.values()), max(r["p75"] for r in ratio.values())
    numbers = {**medians, "lowest_p25": low, "highest_p75": high, "max_share": max(shares.values()),
               **{f"{m}_relu_share": s[m]["share"]["relu"]["median"] for m in nets}}
    detail = "; ".join(f"{m.upper()}: tanh {fmt(medians[f'{m}_tanh'])}, sigmoid "
                       f"{fmt(medians[f'{m}_sigmoid'])}" for m in nets)
    measured = (f"a step with tanh or sigmoid takes {fmt(min(medians.values()))} to "
                f"{fmt(max(medians.values()))} times as long as with ReLU ({detail})")
    share = (f"the activation itself, whichever it is, accounts for at most "
             f"{fmt(100 * max(shares.values()), 1)}% of a step")
    if low >= STEP_MUCH:
        return Verdict("holds", f"{measured}, every lower quartile at least {fmt(STEP_MUCH)}; {share}",
                       numbers)
    if high < STEP_MUCH:
        return Verdict("does not hold", f"{measured}, every upper quartile below {fmt(STEP_MUCH)}; "
                       f"{share}", numbers)
    return Verdict("holds with caveats", f"{measured}; the quartiles, from {fmt(low)} to {fmt(high)}, "
                   f"straddle {fmt(STEP_MUCH)}; {share}", numbers)
