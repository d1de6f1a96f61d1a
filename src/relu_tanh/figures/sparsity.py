"""Chapter "sparsity": dead units per layer and generalisation gaps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, legend, subplots


def dead_units(summary: dict[tuple, dict], acts: tuple[str, ...] = ("relu", "leaky_relu")) -> plt.Figure:
    """Share of dead units per layer for each (init, learning rate), mean over seeds."""
    settings = [k[1:] for k in summary if k[0] == acts[0]]
    fig, axes = subplots(len(acts), sharey=True, width=4.0)
    for ax, act in zip(axes, acts):
        width = 0.8 / len(settings)
        for j, (init, lr) in enumerate(settings):
            dead = summary[(act, init, lr)].get("dead")
            if dead is None:
                continue
            ax.bar(np.arange(len(dead)) + j * width, dead, width, label=f"{init}, lr {lr:g}")
        ax.set(xlabel="hidden layer", title=act, xticks=np.arange(3) + 0.4 - width / 2,
               xticklabels=["1", "2", "3"])
    axes[0].set_ylabel("share of dead units")
    legend(fig)
    return fig


def generalisation_gaps(summary: dict[tuple, dict], acts: tuple[str, ...]) -> plt.Figure:
    """Test minus training error of every run that reached the training-error target, one dot
    per seed, per activation, initialisation and learning rate; a cross at the bottom counts
    each run that did not reach it (or diverged)."""
    settings = list(dict.fromkeys(k[1:] for k in summary))
    fig, (ax,) = subplots(width=5.0, height=3.0)
    width = 0.8 / len(acts)
    for j, act in enumerate(acts):
        for i, setting in enumerate(settings):
            gaps = summary[(act, *setting)]["gaps"]
            x = i + j * width
            done = [g for g in gaps if g is not None]
            ax.plot([x] * len(done), done, "o", ms=3, color=COLORS[act],
                    label=act if i == 0 else None)
            missed = len(gaps) - len(done)
            if missed:
                ax.plot([x] * missed, [0] * missed, "x", ms=4, color=COLORS[act])
    ax.set(xticks=np.arange(len(settings)) + 0.4 - width / 2,
           xticklabels=[f"{i}\nlr {lr:g}" for i, lr in settings], ylabel="test - train error")
    legend(fig, title="x: did not reach the target")
    return fig
