"""Chapter "krizhevsky": does ReLU reach 25% training error six times faster (Krizhevsky et al. 2012)?"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Verdict, claim, fmt

PAPER_RATIO = 6.0  # Krizhevsky et al. (2012), Figure 1: ReLU reaches 25% six times faster
RATIO_BAND = 2.0  # "about six" means within a factor of two of it


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


