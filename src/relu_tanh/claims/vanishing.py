"""Chapter "vanishing": sigmoid in every layer makes gradients vanish; tanh only alleviates it."""

from __future__ import annotations

from ..experiments.vanishing import deepest
from .core import Verdict, claim, fmt

VANISHED = 1e-2  # first-layer gradient below 1% of the last hidden layer's
UNTRAINED = 0.8  # final training error at or above this (chance is 0.9) means "did not train"


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


