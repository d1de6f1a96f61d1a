"""Chapter "debate": success rates at each model's tuned setting, and its learning curves (claim
R6)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, faint, legend, subplots


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
    legend(fig)
    return fig


def debate_curves(summary: dict[str, Any], task: str, variant: str, optimizer: str,
                  kinds: tuple[str, ...], labels: dict[str, str], target: float,
                  ylabel: str) -> plt.Figure:
    """Evaluated test error against training steps at each model's tuned setting, one panel per
    family: the median over seeds bold, each seed faint, with the solved threshold."""
    rows = {r["kind"]: r for r in summary["rows"]
            if (r["task"], r["variant"], r["optimizer"]) == (task, variant, optimizer)}
    shown = [k for k in kinds if k in rows]
    families = list(dict.fromkeys(rows[k]["family"] for k in shown))
    ncols = min(2, len(families))
    fig, axes = subplots(ncols, -(-len(families) // ncols), width=3.6, height=2.2, sharex=True,
                         sharey=True)
    palette = plt.get_cmap("tab10")
    for ax, family in zip(axes, families):
        for i, kind in enumerate(shown):
            curves = [np.array(c, dtype=float) for c in rows[kind]["curves"] if c]
            if rows[kind]["family"] != family or not curves:
                continue
            for c in curves:
                faint(ax, c[:, 0], c[:, 1], color=palette(i))
            n = min(len(c) for c in curves)
            ax.plot(curves[0][:n, 0], np.median([c[:n, 1] for c in curves], axis=0), color=palette(i),
                    lw=1.8, label=f"{labels[kind]} ({len(rows[kind]['curves'])} seeds)")
        ax.axhline(target, color="grey", ls=":", lw=1,  # in the legend once, after the models
                   label="solved below" if family == families[-1] else None)
        ax.set(yscale="log", title=family)
    for k, ax in enumerate(axes):
        ax.set_visible(k < len(families))
        ax.set(xlabel="training step" if k >= len(families) - ncols else "",
               ylabel=ylabel if k % ncols == 0 else "")
    legend(fig, title="median over seeds (bold), each seed (faint)")
    return fig
