"""Chapter "gates": gate and state histograms, and the ablation's test MSE per arm."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, legend, log_ticks, subplots


ARM_COLORS = {("sigmoid", "tanh"): "#1b9e77", ("hard_sigmoid", "tanh"): "#66a61e",
              ("clamped_relu", "tanh"): "#e6ab02", ("relu", "tanh"): "#7570b3",
              ("sigmoid", "relu"): "#e7298a", ("sigmoid", "identity"): "#666666"}


def arm_label(gate: str, state: str) -> str:
    """'sigmoid gates, tanh state' in short: 'gate sigmoid / state tanh'."""
    return f"{gate.replace('_', ' ')} / {state}"


def gate_histograms(traces: dict[str, dict], near: float, state_range: float) -> plt.Figure:
    """Per cell (rows): each gate's values, and the LSTM's cell state c or the GRU's h, over a
    probe set of test sequences, at initialisation (dotted) and after training (solid), pooled
    over seeds; the bands within `near` of 0 and 1 shaded."""
    cells = list(traces)
    cols = max(len([k for k in t["final"] if k not in ("n", "h")]) for t in traces.values())
    fig, axes = subplots(cols, len(cells), width=2.3, height=2.0, sharey="row")
    for row, cell in enumerate(cells):
        t = traces[cell]
        names = [k for k in t["final"] if k not in ("n", "h", "c")]
        names.append("c" if "c" in t["final"] else "h")
        for col in range(cols):
            ax = axes[row * cols + col]
            if col >= len(names):
                ax.set_visible(False)
                continue
            name = names[col]
            gate = name not in ("h", "c")
            low, high = (0.0, 1.0) if gate else (-state_range, state_range)
            for when, style in (("init", ":"), ("final", "-")):
                if name not in t[when]:
                    continue
                counts = np.array(t[when][name]["hist"], dtype=float)
                edges = np.linspace(low, high, len(counts) + 1)
                ax.stairs(counts / counts.sum(), edges, ls=style, color=COLORS["sigmoid"] if gate
                          else COLORS["tanh"], label="start" if when == "init" else "end")
            if gate:
                ax.axvspan(0, near, color="grey", alpha=0.15, lw=0)
                ax.axvspan(1 - near, 1, color="grey", alpha=0.15, lw=0)
            ax.set(xlabel=f"{name} {'gate' if gate else 'state'} value",
                   title=f"{cell.upper()}, {name}")
        axes[row * cols].set_ylabel("share of values")
    legend(fig)
    return fig


def gate_unit_means(traces: dict[str, dict], near: float) -> plt.Figure:
    """Each unit's mean forget gate (LSTM) and update gate (GRU) over the probe set, after
    training against at initialisation, all seeds; the diagonal and the line 1 - near."""
    fig, axes = subplots(len(traces), width=2.9, height=2.7)
    for ax, (cell, t) in zip(axes, traces.items()):
        name = "forget" if cell == "lstm" else "update"
        if name not in t["final"]:
            continue
        before, after = t["init"][name]["unit_mean"], t["final"][name]["unit_mean"]
        ax.scatter(before, after, s=10, color=COLORS["sigmoid"], alpha=0.7, label="one unit")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.axhline(1 - near, color="black", lw=0.8, ls=":", label=f"1 - {near:g}")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=f"mean {name} gate at initialisation",
               ylabel=f"mean {name} gate after training", title=f"{cell.upper()}, {len(after)} units")
    legend(fig)
    return fig


def ablation_mse(summary: dict[str, Any], baseline: float, scale: str) -> plt.Figure:
    """Final test MSE (x, log scale) of every seed at the learning rate chosen for it on the
    other seeds, one row per arm, one panel per cell; diverged (or overflowed) runs drawn as
    crosses at the right; the baseline 1/6 and the solve threshold as lines."""
    arms = summary["arms"]
    cells = list(dict.fromkeys(c for c, _, _ in arms))
    fig, axes = subplots(len(cells), width=3.6, height=3.0)
    finite = [m for a in arms.values() for m in a["mse"] if np.isfinite(m)]
    top = max([baseline * 3, *finite])
    for ax, cell in zip(axes, cells):
        keys = [k for k in arms if k[0] == cell]
        for x, key in enumerate(keys):
            a, color = arms[key], ARM_COLORS.get(key[1:], "black")
            mse = np.array(a["mse"], dtype=float)
            jitter = np.linspace(-0.15, 0.15, len(mse)) if len(mse) > 1 else np.zeros(1)
            ok = np.isfinite(mse)
            ax.scatter(mse[ok], x + jitter[ok], s=14, color=color)
            ax.scatter(np.full((~ok).sum(), top), x + jitter[~ok], marker="x", s=20, color=color)
        ax.axvline(baseline, color="grey", ls="--", lw=0.8, label="predict 1 (MSE 1/6)")
        ax.axvline(summary["threshold"], color="black", ls=":", lw=0.8, label="solved below")
        ax.set(xscale="log", title=f"{cell.upper()}, {summary['seeds']} seeds,\n{scale} scale",
               yticks=range(len(keys)), xlabel="test MSE at the chosen lr",
               yticklabels=[arm_label(g, s) + ("*" if arms[(cell, g, s)]["edge"] else "")
                            for _, g, s in keys])
        ax.invert_yaxis()
        log_ticks(ax.xaxis)
    legend(fig)
    return fig


def ablation_lr_grid(summary: dict[str, Any], baseline: float, scale: str) -> plt.Figure:
    """Median final test MSE over seeds against the learning rate, per arm (a diverged run counts
    as infinite: a median above the plot means most seeds diverged), one panel per cell."""
    arms = summary["arms"]
    cells = list(dict.fromkeys(c for c, _, _ in arms))
    fig, axes = subplots(len(cells), width=3.4, height=2.8, sharey=True)
    for ax, cell in zip(axes, cells):
        for key, a in arms.items():
            if key[0] != cell:
                continue
            lrs = sorted(a["per_lr"])
            med = [a["per_lr"][lr]["median_mse"] for lr in lrs]
            med = [m if np.isfinite(m) else np.nan for m in med]
            ax.plot(lrs, med, marker="o", ms=3, color=ARM_COLORS.get(key[1:], "black"),
                    label=arm_label(*key[1:]))
        ax.axhline(baseline, color="grey", ls="--", lw=0.8)
        ax.axhline(summary["threshold"], color="black", ls=":", lw=0.8)
        ax.set(xscale="log", yscale="log", xlabel="Adam learning rate",
               title=f"{cell.upper()}, {summary['seeds']} seeds,\n{scale} scale")
        log_ticks(ax.yaxis)
    axes[0].set_ylabel("median test MSE over seeds")
    legend(fig)
    return fig
