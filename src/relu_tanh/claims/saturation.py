"""Chapter "saturation": tanh units saturate; the top sigmoid layer saturates early (Glorot and Bengio 2010)."""

from __future__ import annotations

from .core import MATERIAL, TRACE, Verdict, claim, fmt

TOP_SATURATED = 0.5  # Glorot and Bengio: most of the top sigmoid layer saturates


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


