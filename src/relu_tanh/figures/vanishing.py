"""Chapter "vanishing": per-layer gradients at initialisation and in training, and the error
reached, against depth."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, band, integer_ticks, legend, log_line, log_ticks, subplots


def _keys(summary: dict[tuple, Any], i: int) -> list:
    return list(dict.fromkeys(k[i] for k in summary))


def layer_gradients(summary: dict[tuple, dict], arch: str, depth: int, seeds: int) -> plt.Figure:
    """Per-layer gradient norm at initialisation, one panel per init, one line per seed."""
    inits = _keys(summary, 2)
    fig, axes = subplots(len(inits), sharey=True)
    for ax, init in zip(axes, inits):
        for act in _keys(summary, 1):
            for j, norms in enumerate(summary[(arch, act, init, depth)]["norms"]):
                hidden = norms[:-1]
                log_line(ax, np.arange(1, len(hidden) + 1), hidden, color=COLORS[act], alpha=0.6, lw=1,
                         label=act if j == 0 else None)
        ax.set(yscale="log", xlabel="hidden layer (1 = input side)", title=f"{init} init")
        log_ticks(ax.yaxis)
        integer_ticks(ax.xaxis)
    axes[0].set_ylabel("‖dL/dW‖ at initialisation")
    legend(fig, title=f"one line per seed ({seeds})")
    return fig


def _versus_depth(summary: dict[tuple, dict], arch: str, field: str, ylabel: str, log: bool = False
                  ) -> tuple[plt.Figure, np.ndarray]:
    """One panel per init: `field` (centre and min-max over seeds) against depth, per activation."""
    inits, depths = _keys(summary, 2), sorted(_keys(summary, 3))
    fig, axes = subplots(len(inits), sharey=True)
    for ax, init in zip(axes, inits):
        for act in _keys(summary, 1):
            stats = [summary[(arch, act, init, d)][field] for d in depths]
            band(ax, depths, stats, log=log, color=COLORS[act], label=f"{act} ({stats[0].get('n', '?')} seeds)")
        ax.set(xlabel="depth L (hidden layers)", title=f"{init} init")
        integer_ticks(ax.xaxis)
        if log:
            ax.set_yscale("log")
            log_ticks(ax.yaxis)
    axes[0].set_ylabel(ylabel)
    return fig, axes


def ratio_vs_depth(summary: dict[tuple, dict], arch: str) -> plt.Figure:
    """First/last hidden-layer gradient ratio against depth, with the 0.25^(L-1) line for sigmoid."""
    fig, axes = _versus_depth(summary, arch, "ratio", "first / last layer gradient", log=True)
    depths = sorted(_keys(summary, 3))
    for ax in axes:
        ax.plot(depths, [0.25 ** (d - 1) for d in depths], "k--", lw=0.8, label="0.25^(L-1)")
    legend(fig)
    return fig


def error_vs_depth(summary: dict[tuple, dict], archs: tuple[str, ...] = ("mlp", "cnn"),
                   chance: float = 0.9) -> plt.Figure:
    """Final training error at the best learning rate against depth, mean and min-max over
    seeds: one row per architecture, one panel per init, the depths each was trained at."""
    archs = tuple(a for a in archs if any(k[0] == a for k in summary))
    inits = _keys(summary, 2)
    fig, axes = subplots(len(inits), len(archs), sharey=True)
    for row, arch in enumerate(archs):
        for ax, init in zip(axes[row * len(inits):], inits):
            for act in _keys(summary, 1):
                depths = sorted(k[3] for k in summary if k[:3] == (arch, act, init))
                if depths:
                    band(ax, depths, [summary[(arch, act, init, d)]["train_error"] for d in depths],
                         color=COLORS[act], label=act)
            ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")
            ax.set(xlabel="depth L (hidden layers)", title=f"{arch.upper()}, {init} init")
        axes[row * len(inits)].set_ylabel("final training error")
    legend(fig)
    return fig


def gradients_during_training(summary: dict[tuple, dict], arch: str, init: str, depth: int) -> plt.Figure:
    """Gradient norm of the first, middle and last hidden layer over training (first seed)."""
    acts = _keys(summary, 1)
    fig, axes = subplots(len(acts), sharey=True)
    for ax, act in zip(axes, acts):
        run = summary[(arch, act, init, depth)]["runs"][0]
        norms = np.array(run["layer_grad_norms"])
        for layer, dash in ((0, "-"), (depth // 2, "--"), (depth - 1, ":")):
            log_line(ax, run["steps"][: len(norms)], norms[:, layer], ls=dash, color=COLORS[act],
                     label=f"layer {layer + 1}")
        ax.set(yscale="log", xlabel="training step", title=act)
        log_ticks(ax.yaxis)
        integer_ticks(ax.xaxis)
    axes[0].set_ylabel("‖dL/dW‖")
    legend(fig, title="seed 0: first, middle and last hidden layer")
    return fig
