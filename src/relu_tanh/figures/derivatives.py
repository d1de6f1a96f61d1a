"""Chapter "derivatives": each activation and its derivative, and the derivative's mean and small
share against the input's spread."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import torch

from ..nets import activations
from .style import COLORS, legend, log_ticks, subplots


def derivatives(names: tuple[str, ...] = ("sigmoid", "tanh", "relu"), limit: float = 6.0) -> plt.Figure:
    """Each activation f (left) and its derivative f' (right)."""
    z = torch.linspace(-limit, limit, 1201)
    fig, (left, right) = subplots(2)
    for name in names:
        act = activations.get(name)
        left.plot(z, act.fn(z), color=COLORS[name], label=name)
        right.plot(z, act.derivative(z), color=COLORS[name], label=name)
    left.set(xlabel="pre-activation z", ylabel="f(z)")
    right.set(xlabel="pre-activation z", ylabel="f'(z)")
    legend(fig, [right])
    return fig


def derivative_vs_input_scale(summary: dict[str, Any], names: tuple[str, ...]) -> plt.Figure:
    """Mean f'(z) and the share of z with f'(z) < 0.1, for z ~ N(0, s^2), against s."""
    s = summary["input_stds"]
    fig, (mean_ax, small_ax) = subplots(2)
    for name in names:
        mean_ax.plot(s, summary[name]["mean_derivative"], marker="o", ms=3, color=COLORS[name], label=name)
        small_ax.plot(s, summary[name]["frac_small"], marker="o", ms=3, color=COLORS[name], label=name)
    mean_ax.set(xscale="log", xlabel="std s of the pre-activation (unitless)", ylabel="mean f'(z)")
    small_ax.set(xscale="log", xlabel="std s of the pre-activation (unitless)", ylabel="share with f'(z) < 0.1")
    for ax in (mean_ax, small_ax):
        log_ticks(ax.xaxis)
    legend(fig, [small_ax])
    return fig
