"""Chapter "through_time": the gradient map through time, the hidden state's size, and divergence
against the learning rate."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, band, legend, subplots


KIND_COLORS = {**COLORS, "lstm": "#a6761d", "gru": "#666666"}


def gradient_map(summary: dict[str, Any], limit: float = 8.0) -> plt.Figure:
    """One panel per cell kind: log10 ||dh_T/dh_t|| (median over seeds) against the gap T - t
    (x) and the recurrent weight scale g (y); blue vanishes, red explodes, clipped at +-limit."""
    kinds = list(dict.fromkeys(k for k, _ in summary["map"]))
    scales = sorted({g for _, g in summary["map"]})
    gaps = summary["gaps"]
    fig, axes = subplots(len(kinds), sharey=True, width=2.2, height=2.6)
    for ax, kind in zip(axes, kinds):
        grid = np.array([summary["map"][(kind, g)]["log10_norm"] for g in scales])  # (scales, T)
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-limit,
                          vmax=limit, extent=(gaps[0] - 0.5, gaps[-1] + 0.5, -0.5, len(scales) - 0.5),
                          interpolation="nearest")
        ax.contour(gaps, range(len(scales)), grid, levels=[-2, 0, 2], colors="black",
                   linewidths=0.6, linestyles=[":", "-", "--"])
        ax.set(xlabel="gap T - t (steps)", title=kind, yticks=range(len(scales)),
               yticklabels=[f"{g:g}" for g in scales])
        ax.grid(False)
    axes[0].set_ylabel("recurrent weight scale g")
    fig.colorbar(image, ax=axes, label="log10 ‖dh_T/dh_t‖", shrink=0.9)
    return fig


def norm_at_horizon(summary: dict[str, Any], vanished: float) -> plt.Figure:
    """log10 ||dh_T/dh_t|| at the largest gap against the weight scale, per kind: median over
    seeds with the min-max band, and the 'vanished' line."""
    kinds = list(dict.fromkeys(k for k, _ in summary["map"]))
    scales = sorted({g for _, g in summary["map"]})
    fig, (ax,) = subplots(width=4.6, height=3.0)
    for kind in kinds:
        ends = [np.asarray(summary["map"][(kind, g)]["end"], float) for g in scales]
        band(ax, scales, [{"centre": float(np.median(e)), "min": float(e.min()),
                           "max": float(e.max())} for e in ends], color=KIND_COLORS[kind],
             label=kind)
    ax.axhline(np.log10(vanished), color="grey", ls=":", lw=1, label=f"vanished ({vanished:g})")
    ax.axhline(0, color="black", lw=0.6)
    ax.set(xscale="log", xlabel="recurrent weight scale g (W_hh ~ N(0, g²/H))",
           ylabel=f"log10 ‖dh_T/dh_t‖ at gap {summary['gaps'][-1]}")
    ax.set_xticks(scales, labels=[f"{g:g}" for g in scales])
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
    legend(fig, title=f"{summary['seeds']} seeds")
    return fig


def hidden_magnitude(summary: dict[str, Any], scales: tuple[float, ...],
                     kinds: tuple[str, ...] = ("tanh", "relu")) -> plt.Figure:
    """RMS of the hidden state h_t over time at initialisation, one panel per kind, one line per
    weight scale (median over seeds and sequences)."""
    fig, axes = subplots(len(kinds), sharey=True)
    for ax, kind in zip(axes, kinds):
        for j, g in enumerate(scales):
            rms = summary["map"][(kind, g)]["rms"]
            ax.plot(range(1, len(rms) + 1), rms, color=plt.cm.viridis(j / max(1, len(scales) - 1)),
                    label=f"g = {g:g}")
        ax.set(yscale="log", xlabel="time step t", title=kind)
    axes[0].set_ylabel("RMS of h_t")
    legend(fig, title=f"{summary['seeds']} seeds")
    return fig


def _arm_axes(summary: dict[str, Any]) -> tuple[plt.Figure, list[tuple[plt.Axes, str, bool]]]:
    """A grid with one row per initialisation and one column per clipping setting."""
    inits = list(dict.fromkeys(i for _, i, _ in summary["arms"]))
    fig, axes = subplots(2, len(inits), sharex=True, sharey=True, height=2.3)
    cells = [(axes[2 * r + c], init, clipped) for r, init in enumerate(inits)
             for c, clipped in enumerate((False, True))]
    for ax, init, clipped in cells:
        ax.set(xscale="log", title=f"{init} init, {'clipped' if clipped else 'no clipping'}")
    for ax in axes[-2:]:
        ax.set_xlabel("learning rate (SGD)")
    return fig, cells


def divergence_vs_lr(summary: dict[str, Any]) -> plt.Figure:
    """Share of diverged runs (over seeds) against the learning rate, tanh (dashed) and ReLU
    (solid), one panel per initialisation and clipping setting."""
    fig, cells = _arm_axes(summary)
    for ax, init, clipped in cells:
        for act in ("tanh", "relu"):
            arm = summary["arms"][(act, init, clipped)]
            share = [np.mean(d) if d else np.nan for d in arm["diverged"]]
            ax.plot(arm["lrs"], share, marker="o", ms=3, color=COLORS[act], label=act,
                    ls="-" if act == "relu" else "--")
        if not clipped:
            ax.set_ylabel("share of runs diverged")
    legend(fig, title=f"{summary['seeds']} seeds")
    return fig


def mse_vs_lr(summary: dict[str, Any]) -> plt.Figure:
    """Final test MSE of the runs that did not diverge against the learning rate (median over
    them), one panel per initialisation and clipping setting, with the trivial baseline."""
    fig, cells = _arm_axes(summary)
    for ax, init, clipped in cells:
        for act in ("tanh", "relu"):
            arm = summary["arms"][(act, init, clipped)]
            mse = [np.median([m for m, d in zip(ms, ds) if not d]) if not all(ds) else np.nan
                   for ms, ds in zip(arm["test_mse"], arm["diverged"])]
            ax.plot(arm["lrs"], mse, marker="o", ms=3, color=COLORS[act], label=act,
                    ls="-" if act == "relu" else "--")
        ax.axhline(summary["baseline_mse"], color="grey", ls=":", lw=1, label="baseline 1/6")
        ax.set_yscale("log")
        if not clipped:
            ax.set_ylabel("test MSE")
    legend(fig, title=f"{summary['seeds']} seeds")
    return fig
