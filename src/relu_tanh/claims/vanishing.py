"""Chapter "vanishing": sigmoid in every layer makes gradients vanish; tanh only alleviates it."""

from __future__ import annotations

import math

from .. import experiments
from ..experiments.vanishing import budgets, deepest
from .core import Regions, Status, Verdict, claim, combine, fmt

VANISHED = 1e-2  # first-layer gradient below 1% of the last hidden layer's
# Final training error at or above this means "did not train": chance is 0.9, and a net that
# learned nothing stays within about a point of it (the running error over an epoch of 4,000
# examples has a binomial spread of 0.005), so 0.8 asks for having learned something, not for
# having learned well; the shallow controls and the deep nets are held to the same line.
UNTRAINED = 0.8


def _at_depth(summary: dict[tuple, dict], activation: str, field_: str,
              depth: int | None = None) -> dict[tuple, float]:
    """{(arch, init): centre of `field_`} at `depth` (default: the largest), for one activation."""
    archs = dict.fromkeys(k[0] for k in summary)
    return {(a, i): c for a in archs for i, c in deepest(summary, a, activation, field_, depth).items()}


def _training(trained: dict[tuple, dict], activation: str) -> tuple[dict, dict]:
    """Final training errors (cross-fitted rates) of the deepest and the shallowest nets."""
    return (_at_depth(trained, activation, "train_error"),
            _at_depth(trained, activation, "train_error", min(k[3] for k in trained)))


def _label(keys: list[tuple]) -> str:
    return ", ".join(f"{a.upper()} {i}" for a, i in keys)


def _reach(scale: str) -> str:
    cfg = experiments.config_for("vanishing_train", scale)
    return (f"gradient ratios down to float64 underflow at depths up to {max(cfg.depths)}; "
            f"training at every depth for the same budget per activation ({budgets(cfg)}), each "
            f"seed at the rate chosen on the other seeds, so a net that learns more slowly than "
            f"that reads as untrained")


@claim(id="sigmoid-vanishing", title="Deep sigmoid nets lose the gradient",
       literature="Glorot and Bengio (2010): deep sigmoid networks with standard initialisation "
                  "train badly.",
       chapter="vanishing", experiments=("vanishing_init", "vanishing_train"),
       claim="With sigmoid in every layer, the derivatives (at most 0.25) multiply up and the "
             "gradient vanishes in the early layers of a deep network.",
       measurement="first/last hidden-layer gradient ratio at initialisation at the largest depth, "
                   "for every architecture and initialisation (vanished below 1%); whether the "
                   "deepest nets train (final training error below 0.8, chance 0.9) at the rate "
                   "chosen on the other seeds, with the shallowest nets of the same architecture "
                   "and initialisation, trained with the same grid and epochs, as the control "
                   "that the budget suffices",
       quantity="per architecture and initialisation of the deepest sigmoid nets: the first/last "
                "hidden-layer gradient ratio at initialisation, and the final training error",
       effect="a ratio below 1% (a hundredfold loss) and no training (error at least 0.8) in "
              "every setting, while the shallowest nets train",
       regions=Regions(holds="every setting's ratio below 1% and no deep net trains",
                       does_not_hold="no setting's ratio below 1%, or every deep net trains anyway",
                       inconclusive="a ratio or error missing, or a deep net that did not "
                                    "train whose shallow control did not train either"),
       reach=_reach)
def sigmoid_vanishing(init: dict[tuple, dict], trained: dict[tuple, dict]) -> Verdict:
    ratios = _at_depth(init, "sigmoid", "ratio")
    errors, shallow = _training(trained, "sigmoid")
    if not ratios or not errors or any(map(math.isnan, [*ratios.values(), *errors.values()])):
        return Verdict("inconclusive", "the deepest sigmoid networks' gradient ratio or training "
                       "error was not measured", {})
    vanished = [k for k, r in ratios.items() if r < VANISHED]
    untrained = [k for k, e in errors.items() if e >= UNTRAINED]
    # a deep net's failure says something about depth only if its shallow control trained
    unattributed = [k for k in untrained if not shallow.get(k, math.inf) < UNTRAINED]
    numbers = {"largest_ratio": max(ratios.values()), "smallest_ratio": min(ratios.values()),
               "min_final_train_error": min(errors.values()),
               "max_control_error": max(shallow.values(), default=math.nan),
               "share_vanished": len(vanished) / len(ratios),
               "share_untrained": len(untrained) / len(errors)}
    if not vanished:
        return Verdict("does not hold", "no deep sigmoid network showed a vanished gradient "
                       f"(smallest first/last ratio {fmt(min(ratios.values()))})", numbers)
    if unattributed:
        return Verdict("inconclusive", f"the gradient vanished in {len(vanished)} of "
                       f"{len(ratios)} deep settings, but the shallowest sigmoid nets of "
                       f"{_label(unattributed)} did not train within the budget either, so the deep "
                       f"ones' failure to train says nothing about depth", numbers,
                       gist=f"vanished in {len(vanished)} of {len(ratios)} deep settings, but "
                            f"shallow controls did not train either")
    conditions = {_label([k]): _setting(ratios.get(k), errors.get(k))
                  for k in dict.fromkeys([*ratios, *errors])}
    status = combine(conditions)
    if status == "holds":
        return Verdict("holds",
                       f"at the largest depth the first layer gets between {fmt(min(ratios.values()))} "
                       f"and {fmt(max(ratios.values()))} of the last layer's gradient under every "
                       f"initialisation, and no such network trains (lowest training error "
                       f"{fmt(min(errors.values()))}) while the shallowest ones, with the same rates "
                       f"and epochs, do (highest error {fmt(numbers['max_control_error'])})",
                       numbers, gist=f"first/last gradient {fmt(min(ratios.values()))} to "
                                     f"{fmt(max(ratios.values()))}; deep error at least "
                                     f"{fmt(min(errors.values()))}, shallow at most "
                                     f"{fmt(numbers['max_control_error'])}")
    trained_ok = [k for k in errors if k not in untrained]
    return Verdict(status,
                   f"the gradient vanished in {len(vanished)} of {len(ratios)} deep settings, and "
                   f"{len(untrained)} of {len(errors)} deep networks failed to train"
                   + (f"; {_label(trained_ok)} trained anyway" if trained_ok else ""), numbers,
                   conditions,
                   gist=f"vanished in {len(vanished)} of {len(ratios)} deep settings; "
                        f"{len(untrained)} of {len(errors)} deep nets did not train")


def _setting(ratio: float | None, error: float | None) -> Status:
    """One deep setting: the gradient vanished and the net did not train (where measured)."""
    vanished = ratio is None or ratio < VANISHED
    return "holds" if vanished and (error is None or error >= UNTRAINED) else "does not hold"


@claim(id="tanh-alleviates", title="tanh only alleviates the vanishing",
       literature="Glorot and Bengio (2010): with their normalised initialisation, "
                  "back-propagated gradients of tanh networks keep their scale across layers.",
       chapter="vanishing", experiments=("vanishing_init", "vanishing_train"),
       claim="tanh only alleviates the vanishing gradient: better than sigmoid, but deep tanh "
             "networks still lose the gradient.",
       measurement="per-layer gradient shrink factor of tanh against sigmoid at the largest depth, "
                   "and whether tanh's first/last ratio falls below 1% under each initialisation; "
                   "the deepest tanh nets' training error at the rate chosen on the other seeds",
       quantity="at the largest depth, tanh's per-layer gradient factor against sigmoid's, and "
                "tanh's first/last gradient ratio per architecture and initialisation",
       effect="tanh's factor above sigmoid's everywhere, yet its ratio below 1% (still vanishing)",
       regions=Regions(holds="tanh shrinks less than sigmoid and its ratio is below 1% in every "
                             "setting",
                       does_not_hold="tanh shrinks no less than sigmoid somewhere, or its ratio "
                                     "stays at 1% or more in every setting",
                       inconclusive="a gradient or error missing"),
       reach=_reach)
def tanh_alleviates(init: dict[tuple, dict], trained: dict[tuple, dict]) -> Verdict:
    tanh_f, sig_f = _at_depth(init, "tanh", "factor"), _at_depth(init, "sigmoid", "factor")
    ratios = _at_depth(init, "tanh", "ratio")
    errors, _ = _training(trained, "tanh")
    measured = [*tanh_f.values(), *sig_f.values(), *ratios.values(), *errors.values()]
    if not ratios or not errors or set(tanh_f) != set(sig_f) or any(map(math.isnan, measured)):
        return Verdict("inconclusive", "the deepest tanh or sigmoid networks' gradients or "
                       "training errors were not all measured", {})
    worse = sorted(k for k in tanh_f if tanh_f[k] <= sig_f[k])
    vanished = sorted({i for (a, i), r in ratios.items() if r < VANISHED})
    kept = sorted({i for (a, i), r in ratios.items() if r >= VANISHED})
    untrained = [k for k, e in errors.items() if e >= UNTRAINED]
    numbers = {"largest_ratio": max(ratios.values()), "smallest_ratio": min(ratios.values()),
               "min_final_train_error": min(errors.values()),
               "share_untrained": len(untrained) / len(errors)}
    if worse:
        return Verdict("does not hold", f"tanh shrinks the gradient no less than sigmoid in "
                       f"{_label(worse)}", numbers,
                       gist=f"tanh shrinks the gradient no less than sigmoid in {len(worse)} of "
                            f"{len(tanh_f)} settings")
    if not vanished:
        return Verdict("does not hold", "tanh shrinks the gradient less than sigmoid, and the "
                       "deepest tanh networks kept their gradient under every initialisation "
                       f"(smallest first/last ratio {fmt(min(ratios.values()))})", numbers,
                       gist=f"tanh keeps its gradient under every initialisation (smallest "
                            f"first/last ratio {fmt(min(ratios.values()))})")
    if kept:
        conditions: dict[str, Status] = {
            _label([k]): "holds" if r < VANISHED else "does not hold" for k, r in ratios.items()}
        return Verdict("holds with caveats",
                       f"tanh shrinks the gradient less than sigmoid everywhere, but it vanishes only "
                       f"with the {', '.join(vanished)} initialisation; with {', '.join(kept)} the "
                       f"deepest tanh nets' first/last gradient ratio is as high as "
                       f"{fmt(max(ratios.values()))}, and {len(errors) - len(untrained)} of "
                       f"{len(errors)} deepest tanh nets trained", numbers, conditions,
                       gist=f"less shrinkage than sigmoid; vanishes with {', '.join(vanished)} "
                            f"init only (ratio up to {fmt(max(ratios.values()))} otherwise)")
    return Verdict("holds", "tanh shrinks the gradient less than sigmoid, yet it still vanishes "
                   "under every initialisation", numbers)
