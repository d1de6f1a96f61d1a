"""Chapter "sparsity": ReLU's negative half kills gradients; its sparsity regularises (Glorot et al. 2011)."""

from __future__ import annotations

import numpy as np

from .core import MATERIAL, TRACE, Verdict, claim, fmt


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


