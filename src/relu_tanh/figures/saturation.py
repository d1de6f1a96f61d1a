"""Chapter "saturation": saturated units over training and pre-activation histograms."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, integer_ticks, legend, subplots


def saturation_over_training(summary: dict[tuple, dict], arch: str,
                             acts: tuple[str, ...] = ("sigmoid", "tanh")) -> plt.Figure:
    """Share of saturated units per hidden layer against training step (first seed)."""
    fig, axes = subplots(len(acts), sharey=True)
    for ax, act in zip(axes, acts):
        run = summary[(arch, act)]["runs"][0]
        sat = np.array([[s["frac_saturated"] for s in step] for step in run["stats"]], dtype=float)
        for layer in range(sat.shape[1]):
            ax.plot(run["steps"], sat[:, layer], color=plt.cm.viridis(layer / max(1, sat.shape[1] - 1)),
                    label=f"layer {layer + 1}")
        ax.set(xlabel="training step", title=act)
        integer_ticks(ax.xaxis)
    axes[0].set_ylabel("share of units saturated")
    legend(fig)
    return fig


def preactivation_histograms(summary: dict[tuple, dict], arch: str, act: str,
                             hist_range: float) -> plt.Figure:
    """Pre-activation histograms per hidden layer at initialisation and at the end (first seed)."""
    run = summary[(arch, act)]["runs"][0]
    n = len(run["hist_init"])
    fig, axes = subplots(n, sharey=True, width=2.4)
    for k, ax in enumerate(axes):
        for key, style in (("hist_init", ":"), ("hist_final", "-")):
            counts = np.array(run[key][k], dtype=float)
            edges = np.linspace(-hist_range, hist_range, len(counts) + 1)
            ax.step(edges[:-1], counts / counts.sum(), style, where="post", color=COLORS[act],
                    label="start" if key == "hist_init" else "end")
        ax.set(xlabel="pre-activation z", title=f"layer {k + 1}")
    axes[0].set_ylabel("share of values")
    legend(fig)
    return fig
