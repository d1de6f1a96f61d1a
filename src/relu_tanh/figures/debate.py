"""Chapter "debate": success rates at each model's tuned setting, and its learning curves (claim
R6)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, subplots


FAMILY_COLORS = {"tanh RNN": COLORS["tanh"], "ReLU RNN": COLORS["relu"], "gated": "#1b9e77",
                 "linear": "#666666"}


def debate_success(summary: dict[str, Any], variant: str, optimizer: str,
                   labels: dict[str, str]) -> plt.Figure:
    """Success rate over seeds at each model's tuned setting (bars) and the share of the grid on
    which it still solves (dots), one panel per task, bars coloured by family."""
    tasks = [t for t in summary["tasks"]
             if any(r["task"] == t and r["variant"] == variant for r in summary["rows"])]
    fig, axes = subplots(len(tasks), width=2.6, height=0.25 * len(summary["kinds"]) + 0.9,
                         sharey=True)
    for ax, task in zip(axes, tasks):
        rows = {r["kind"]: r for r in summary["rows"]
                if (r["task"], r["variant"], r["optimizer"]) == (task, variant, optimizer)}
        kinds = [k for k in summary["kinds"] if k in rows]
        y = np.arange(len(kinds))
        ax.barh(y, [rows[k]["success"] for k in kinds],
                color=[FAMILY_COLORS[rows[k]["family"]] for k in kinds], alpha=0.85)
        ax.plot([rows[k]["sensitivity"] for k in kinds], y, "k.", ms=5,
                label="share of grid solved" if task == tasks[0] else None)
        ax.set(xlim=(0, 1.05), xlabel=f"{task}: success rate", yticks=y,
               yticklabels=[labels[k] for k in kinds])
        ax.invert_yaxis()
    fig.legend(loc="outside lower center", frameon=False)  # below the panels, off the bars
    return fig


def debate_curves(summary: dict[str, Any], task: str, variant: str, optimizer: str,
                  kinds: tuple[str, ...], labels: dict[str, str], target: float,
                  ylabel: str) -> plt.Figure:
    """Evaluated test error against training steps at each model's tuned setting, one line per
    seed, with the solved threshold."""
    fig, (ax,) = subplots(width=4.8, height=3.0)
    rows = {r["kind"]: r for r in summary["rows"]
            if (r["task"], r["variant"], r["optimizer"]) == (task, variant, optimizer)}
    palette = plt.get_cmap("tab10")
    for i, kind in enumerate(k for k in kinds if k in rows):
        for j, curve in enumerate(rows[kind]["curves"]):
            if curve:
                steps, err = zip(*curve)
                ax.plot(steps, err, color=palette(i), lw=1, alpha=0.8,
                        label=f"{labels[kind]} ({len(rows[kind]['curves'])} seeds)" if j == 0 else None)
    ax.axhline(target, color="grey", ls=":", lw=1, label="solved below")
    ax.set(xlabel="training step", ylabel=ylabel, yscale="log")
    ax.legend(fontsize=7, ncol=2)
    return fig
