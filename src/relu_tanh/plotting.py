"""Figures in one house style. Captions live in the book (cell metadata), not in plot titles."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from . import activations

COLORS = {"sigmoid": "#1b9e77", "tanh": "#d95f02", "relu": "#7570b3",
          "leaky_relu": "#e7298a", "gelu": "#66a61e", "silu": "#e6ab02"}
STYLE = {"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.alpha": 0.3, "font.size": 9, "legend.frameon": False,
         "axes.titlesize": 9}


def subplots(ncols: int = 1, nrows: int = 1, width: float = 3.4, height: float = 2.6,
             **kw: Any) -> tuple[plt.Figure, np.ndarray]:
    """A grid of axes in the house style, always returned as a flat array."""
    mpl.rcParams.update(STYLE)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, layout="constrained", **kw)
    return fig, axes.ravel()


def band(ax: plt.Axes, x: list[float], stats: list[dict[str, float]], **kw: Any) -> None:
    """Centre line over seeds with a min-max band."""
    centre = [s["centre"] for s in stats]
    ax.plot(x, centre, marker="o", ms=3, **kw)
    ax.fill_between(x, [s["min"] for s in stats], [s["max"] for s in stats],
                    color=kw.get("color"), alpha=0.2, lw=0)


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
    right.legend()
    return fig


def derivative_vs_input_scale(summary: dict[str, Any], names: tuple[str, ...]) -> plt.Figure:
    """Mean f'(z) and the share of z with f'(z) < 0.1, for z ~ N(0, s^2), against s."""
    s = summary["input_stds"]
    fig, (mean_ax, small_ax) = subplots(2)
    for name in names:
        mean_ax.plot(s, summary[name]["mean_derivative"], marker="o", ms=3, color=COLORS[name], label=name)
        small_ax.plot(s, summary[name]["frac_small"], marker="o", ms=3, color=COLORS[name], label=name)
    mean_ax.set(xscale="log", xlabel="std s of the pre-activation", ylabel="mean f'(z)")
    small_ax.set(xscale="log", xlabel="std s of the pre-activation", ylabel="share with f'(z) < 0.1")
    small_ax.legend()
    return fig


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
                ax.plot(range(1, len(hidden) + 1), hidden, color=COLORS[act], alpha=0.6, lw=1,
                        label=act if j == 0 else None)
        ax.set(yscale="log", xlabel="hidden layer (1 = input side)", title=f"{init} init")
    axes[0].set_ylabel("‖dL/dW‖ at initialisation")
    axes[-1].legend(title=f"{seeds} seeds")
    return fig


def ratio_vs_depth(summary: dict[tuple, dict], arch: str) -> plt.Figure:
    """First/last hidden-layer gradient ratio against depth, with the 0.25^(L-1) line for sigmoid."""
    inits, depths = _keys(summary, 2), sorted(_keys(summary, 3))
    fig, axes = subplots(len(inits), sharey=True)
    for ax, init in zip(axes, inits):
        for act in _keys(summary, 1):
            band(ax, depths, [summary[(arch, act, init, d)]["ratio"] for d in depths],
                 color=COLORS[act], label=act)
        ax.plot(depths, [0.25 ** (d - 1) for d in depths], "k--", lw=0.8, label="0.25^(L-1)")
        ax.set(yscale="log", xlabel="depth L (hidden layers)", title=f"{init} init")
    axes[0].set_ylabel("first / last layer gradient")
    axes[-1].legend()
    return fig


def error_vs_depth(summary: dict[tuple, dict], arch: str, chance: float = 0.9) -> plt.Figure:
    """Final training error against depth, mean and min-max over seeds, one panel per init."""
    inits, depths = _keys(summary, 2), sorted(_keys(summary, 3))
    fig, axes = subplots(len(inits), sharey=True)
    for ax, init in zip(axes, inits):
        for act in _keys(summary, 1):
            band(ax, depths, [summary[(arch, act, init, d)]["train_error"] for d in depths],
                 color=COLORS[act], label=act)
        ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")
        ax.set(xlabel="depth L (hidden layers)", title=f"{init} init")
    axes[0].set_ylabel("final training error")
    axes[-1].legend()
    return fig


def gradients_during_training(summary: dict[tuple, dict], arch: str, init: str, depth: int) -> plt.Figure:
    """Gradient norm of the first, middle and last hidden layer over training (first seed)."""
    acts = _keys(summary, 1)
    fig, axes = subplots(len(acts), sharey=True)
    for ax, act in zip(axes, acts):
        run = summary[(arch, act, init, depth)]["runs"][0]
        norms = np.array(run["layer_grad_norms"])
        for layer, style in ((0, "-"), (depth // 2, "--"), (depth - 1, ":")):
            ax.plot(run["steps"][: len(norms)], norms[:, layer], style, color=COLORS[act],
                    label=f"layer {layer + 1}")
        ax.set(yscale="log", xlabel="training step", title=act)
        ax.legend()
    axes[0].set_ylabel("‖dL/dW‖")
    return fig
