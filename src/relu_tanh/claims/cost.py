"""Chapter "cost": is ReLU much cheaper to compute, per element and per training step?"""

from __future__ import annotations

import math
from typing import Any

from ..experiments.cost import EXPENSIVE, HARNESS_TARGET, allocation_effect, harness_check
import numpy as np

from .. import experiments
from ..measure.hardware import describe_hardware
from .core import Regions, Status, Verdict, claim, combine, fmt

MUCH_CHEAPER = 2.0  # "much less computational": tanh and sigmoid take at least twice ReLU's time
STEP_MUCH = 1.25  # a training step at least a quarter longer than with ReLU: "much" cheaper
DTYPE_BYTES = {"bfloat16": 2, "float32": 4}


def _micro_reach(scale: str) -> str:
    cfg = experiments.config_for("cost_micro", scale)
    return (f"ratios of medians over {cfg.repeats} timed repeats, tensors of "
            f"{min(cfg.sizes):,} to {max(cfg.sizes):,} elements (more where the cache needs it); "
            f"one machine, so the ratios say nothing of other hardware")


def _step_reach(scale: str) -> str:
    cfg = experiments.config_for("cost_step", scale)
    return (f"ratios per round over {cfg.rounds} interleaved rounds; a difference smaller than "
            f"the rounds' spread shows as quartiles that straddle the threshold")


@claim(id="relu-cheap-per-element", title="ReLU is cheaper per element",
       literature="Glorot, Bordes and Bengio (2011): rectifiers need no exponential.",
       chapter="cost", experiments=("cost_micro",),
       claim="ReLU is much cheaper to compute than sigmoid and tanh, element for element.",
       measurement="eager time per element of tanh and sigmoid over ReLU's, forward and "
                   "forward+backward, float32 and bfloat16, on tensors in cache (the size at which "
                   "a clone is fastest) and, forward into a preallocated output, on the largest "
                   "tensors, at least twice the last-level cache the machine reports",
       quantity="per regime (tensors in cache; the largest tensors, beyond it), the median over "
                "tanh and sigmoid, dtypes and modes of their time per element over ReLU's",
       effect="much cheaper: at least twice ReLU's time",
       regions=Regions(holds="the median is at least 2 in both regimes",
                       does_not_hold="it is below 2 in both",
                       inconclusive="the largest tensors still fit in the last-level cache"),
       reach=_micro_reach)
def relu_cheap_per_element(s: dict[str, Any]) -> Verdict:
    eager = [r for r in s["ratios"] if r["activation"] in EXPENSIVE and not r["compiled"]]
    cached = [r for r in eager if r["numel"] == s["peak"][r["dtype"]]]
    fresh = [r for r in eager if r["numel"] == s["largest"]]
    into = [r for r in s.get("into", []) if r["activation"] in EXPENSIVE and math.isfinite(r["ratio"])]
    far = into or fresh  # a stored run from before `into` existed has only the allocating rows
    top = max(cached, key=lambda r: r["ratio"])
    lo, hi = min(far, key=lambda r: r["ratio"]), max(far, key=lambda r: r["ratio"])
    numbers = {"cache_min": min(r["ratio"] for r in cached), "cache_max": top["ratio"],
               "cache_numel": top["numel"], "largest_min": lo["ratio"], "largest_max": hi["ratio"],
               "largest_numel": s["largest"], "fresh_min": min(r["ratio"] for r in fresh),
               "fresh_max": max(r["ratio"] for r in fresh)}
    narrow = min(DTYPE_BYTES[r["dtype"]] for r in s["ratios"])
    llc, nbytes = s.get("llc_bytes"), s["largest"] * narrow
    beyond = llc is None or nbytes >= llc  # an unreported cache: taken as exceeded, and said so
    where = (f"on the largest tensors ({s['largest']:,} elements, {_mib(nbytes)} in "
             f"{_DTYPE_OF[narrow]}, {_against(nbytes, llc)}), forward "
             f"{'into a preallocated output' if into else 'allocating its output'}, tanh and sigmoid "
             f"take {fmt(lo['ratio'])} ({lo['activation']}, {lo['dtype']}) to {fmt(hi['ratio'])} "
             f"({hi['activation']}, {hi['dtype']}) times ReLU's time")
    if into:
        where += (f"; allocating the output, every mode, {fmt(numbers['fresh_min'])} to "
                  f"{fmt(numbers['fresh_max'])} times")
    medians = {"in cache": float(np.median([r["ratio"] for r in cached])),
               "beyond cache": float(np.median([r["ratio"] for r in far]))}
    numbers |= {"cache_median": medians["in cache"], "largest_median": medians["beyond cache"]}
    conditions: dict[str, Status] = {k: "holds" if m >= MUCH_CHEAPER else "does not hold"
                                     for k, m in medians.items()}
    status = combine(conditions)
    if status != "does not hold" and not beyond:  # beyond the cache a ratio only moves towards 1
        return Verdict("inconclusive", f"{where}, but these tensors fit in the last-level cache, so "
                       f"this run cannot say whether the difference survives beyond it", numbers,
                       gist=f"tanh and sigmoid take {fmt(lo['ratio'])} to {fmt(hi['ratio'])}x ReLU's "
                            f"time, but even the largest tensors fit in the cache")
    return Verdict(status, f"in cache ({top['numel']:,} elements) tanh and sigmoid take "
                   f"{fmt(numbers['cache_min'])} to {fmt(top['ratio'])} times ReLU's time per "
                   f"element, median {fmt(medians['in cache'])}; {where}, median "
                   f"{fmt(medians['beyond cache'])}; much cheaper from {fmt(MUCH_CHEAPER, 1)}",
                   numbers, conditions,
                   gist=f"tanh and sigmoid over ReLU's time, median: {fmt(medians['in cache'])} in "
                        f"cache, {fmt(medians['beyond cache'])} beyond it (much from "
                        f"{fmt(MUCH_CHEAPER, 1)})")


_DTYPE_OF = {b: d for d, b in DTYPE_BYTES.items()}


def _mib(nbytes: float) -> str:
    return f"{fmt(nbytes / 2**20, 1)} MiB" if nbytes >= 2**20 else f"{fmt(nbytes / 2**10, 1)} KiB"


def _against(nbytes: int, llc: int | None) -> str:
    """How the tensor compares with the last-level cache the machine reported."""
    if not llc:
        return "the machine reported no cache size"
    if nbytes < llc:
        return f"within the {_mib(llc)} last-level cache the CPU reports"
    return f"{fmt(nbytes / llc, 1)} times the {_mib(llc)} last-level cache the CPU reports"


@claim(id="relu-cheap-per-step", title="ReLU makes a step much cheaper",
       literature="No paper measures it; the article asserts it.",
       chapter="cost", experiments=("cost_step",),
       claim="Because ReLU is cheaper to compute, a training step is much cheaper with ReLU than "
             "with sigmoid or tanh.",
       measurement="time of one SGD step of the Krizhevsky-style CNN and of an Elman RNN with tanh "
                   "and sigmoid over that with ReLU, paired by round (median and quartiles over "
                   "rounds), against a step a quarter longer; and the share of the step that "
                   "removing the activation saves",
       quantity="per model (CNN, RNN), the time of a step with tanh or sigmoid over that with "
                "ReLU, paired by round: its quartiles over rounds",
       effect="much cheaper per step: a step at least a quarter longer without ReLU (1.25x)",
       regions=Regions(holds="every lower quartile at least 1.25 in every model",
                       does_not_hold="every upper quartile below 1.25 in every model",
                       inconclusive="the quartiles straddle 1.25 in some model"),
       reach=_step_reach)
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
    brief = (f"a step takes {fmt(min(medians.values()))} to {fmt(max(medians.values()))}x "
             f"ReLU's; the activation is at most {fmt(100 * max(shares.values()), 0)}% of it")
    share = (f"the activation itself, whichever it is, accounts for at most "
             f"{fmt(100 * max(shares.values()), 1)}% of a step")
    sides = {m.upper(): _step_side([ratio[f"{m}_{a}"] for a in EXPENSIVE]) for m in nets}
    straddle = [m for m, st in sides.items() if st == "inconclusive"]
    if straddle:
        return Verdict("inconclusive", f"{measured}; in the {' and '.join(straddle)} the quartiles "
                       f"over rounds, from {fmt(low)} to {fmt(high)} overall, straddle "
                       f"{fmt(STEP_MUCH)}, so the rounds' spread decides; {share}", numbers,
                       gist=f"{brief}; quartiles straddle {fmt(STEP_MUCH)}")
    status = combine(sides)
    bound = {"holds": f"every lower quartile at least {fmt(STEP_MUCH)}",
             "does not hold": f"every upper quartile below {fmt(STEP_MUCH)}",
             "holds with caveats": f"at least {fmt(STEP_MUCH)} in one model, below in the other"}
    return Verdict(status, f"{measured}, {bound[status]}; {share}", numbers,
                   sides,
                   gist=f"{brief} (much from {fmt(STEP_MUCH)})")


def _step_side(ratios: list[dict[str, float]]) -> Status:
    """One model: every lower quartile at or above `STEP_MUCH` holds, every upper quartile below
    it does not, anything else straddles."""
    if min(r["p25"] for r in ratios) >= STEP_MUCH:
        return "holds"
    return "does not hold" if max(r["p75"] for r in ratios) < STEP_MUCH else "inconclusive"


def stored_gpu_text(micro: Any | None, step: Any | None) -> str:
    """A paragraph on the stored paper-scale GPU runs (experiments.Result or None): the
    hardware, the harness check and what each verdict rule of the chapter says there."""
    if micro is None and step is None:
        return "No GPU run is stored yet, so the verdicts below rest on the CPU alone."
    out = []
    if micro is not None:
        s = micro.summary
        of_clone = harness_check(s)["float32"]["of_clone"]
        v = relu_cheap_per_element(s)
        out.append(f"The stored GPU run used {describe_hardware(s['hardware'])}. Eager ReLU on its "
                   f"largest float32 tensors reaches {fmt(of_clone)} of the clone's bandwidth, which "
                   f"{'meets' if of_clone >= HARNESS_TARGET else 'misses'} the target of "
                   f"{fmt(HARNESS_TARGET, 1)}. The per-element rule of this chapter gives "
                   f"“{v.status}” there: {v.reason}.")
    if step is not None:
        v = relu_cheap_per_step(step.summary)
        out.append(f"The per-step rule gives “{v.status}” on the stored GPU run: {v.reason}.")
    return " ".join(out)


def allocation_text(micro: dict[str, Any]) -> str:
    """Why an allocating ratio on the largest tensors can mislead, from the activation and dtype
    whose ratio to ReLU moves most when the output is preallocated (`allocation_effect`)."""
    e = allocation_effect(micro)
    if e is None:
        return ("This run has no preallocated timings, so allocation and kernel cannot be told "
                "apart on the largest tensors.")
    return (f"The allocating tables can mislead on these tensors. In {e['dtype']}, forward "
            f"{e['activation']} takes {fmt(e['fresh_ratio'])} times ReLU's time when each "
            f"allocates its output, but {fmt(e['into_ratio'])} times when both write into a "
            f"preallocated one: allocating added {fmt(1e3 * e['extra_relu'], 0)} ms to ReLU's call "
            f"and {fmt(1e3 * e['extra'], 0)} ms to {e['activation']}'s, though both write the same "
            f"number of fresh bytes (the kernels themselves differ by "
            f"{fmt(1e3 * e['kernel_gap'], 0)} ms). "
            f"That extra time belongs to the allocator and the operating system, which map and "
            f"zero each fresh page at its first write, and it varies between calls and with "
            f"whatever else uses the memory. Forward plus backward allocates two such tensors (the "
            f"output and the gradient) and is not timed preallocated here, so its ratios on these "
            f"tensors carry the same noise; the verdict reads the preallocated forward timings.")
