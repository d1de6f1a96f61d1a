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


def _versus_depth(summary: dict[tuple, dict], arch: str, field: str, ylabel: str
                  ) -> tuple[plt.Figure, np.ndarray]:
    """One panel per init: `field` (centre and min-max over seeds) against depth, per activation."""
    inits, depths = _keys(summary, 2), sorted(_keys(summary, 3))
    fig, axes = subplots(len(inits), sharey=True)
    for ax, init in zip(axes, inits):
        for act in _keys(summary, 1):
            band(ax, depths, [summary[(arch, act, init, d)][field] for d in depths],
                 color=COLORS[act], label=act)
        ax.set(xlabel="depth L (hidden layers)", title=f"{init} init")
    axes[0].set_ylabel(ylabel)
    return fig, axes


def ratio_vs_depth(summary: dict[tuple, dict], arch: str) -> plt.Figure:
    """First/last hidden-layer gradient ratio against depth, with the 0.25^(L-1) line for sigmoid."""
    fig, axes = _versus_depth(summary, arch, "ratio", "first / last layer gradient")
    depths = sorted(_keys(summary, 3))
    for ax in axes:
        ax.plot(depths, [0.25 ** (d - 1) for d in depths], "k--", lw=0.8, label="0.25^(L-1)")
        ax.set_yscale("log")
    axes[-1].legend()
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
    axes[len(inits) - 1].legend()
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


# --- Chapter "cost" ----------------------------------------------------------------------------


def bytes_label(x: float, _pos: Any = None) -> str:
    """A byte count as '64 KiB', '16 MiB', ..."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if x >= size:
            return f"{x / size:g} {unit}"
    return f"{x:g} B"


def cost_per_element(summary: dict[str, Any], dtypes: tuple[str, ...] = ("float32", "bfloat16"),
                     compiled: bool = False) -> plt.Figure:
    """Time per element against tensor size, one panel per dtype (rows) and mode (columns); a line
    per activation with its interquartile band, the time a clone (black) and a copy into a
    preallocated buffer (grey, dashed) need to move the same bytes, and the caches (dotted)."""
    from .bench import DTYPES, ELEMENTS_MOVED

    rows = [r for r in summary["rows"] if r["compiled"] == compiled and r["error"] is None]
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    dtypes = tuple(d for d in dtypes if any(r["dtype"] == d for r in rows))
    fig, axes = subplots(len(modes), len(dtypes), sharex=True, sharey=True, height=2.4)
    caches = {k: v for k, v in summary["hardware"].get("cache_bytes", {}).items() if k != "L1"}
    for i, dtype in enumerate(dtypes):
        size = DTYPES[dtype].itemsize
        copies = sorted((c for c in summary["copies"] if c["dtype"] == dtype), key=lambda c: c["numel"])
        x_copy = [c["numel"] * size for c in copies]
        for j, mode in enumerate(modes):
            ax = axes[i * len(modes) + j]
            for name in dict.fromkeys(r["activation"] for r in rows):
                pts = sorted((r for r in rows if (r["activation"], r["dtype"], r["mode"]) == (name, dtype, mode)),
                             key=lambda r: r["numel"])
                x = [r["numel"] * size for r in pts]
                ax.plot(x, [1e9 * r["median_s"] / r["numel"] for r in pts], marker="o", ms=2.5, lw=1.2,
                        color=COLORS.get(name), label=name)
                ax.fill_between(x, [1e9 * r["p25_s"] / r["numel"] for r in pts],
                                [1e9 * r["p75_s"] / r["numel"] for r in pts], color=COLORS.get(name),
                                alpha=0.2, lw=0)
            moved = ELEMENTS_MOVED[mode] * size * 1e9
            ax.plot(x_copy, [moved / c["clone_bytes_per_s"] for c in copies], color="black", lw=1.4,
                    label="clone, same bytes")
            ax.plot(x_copy, [moved / c["prealloc_bytes_per_s"] for c in copies], color="grey", ls="--",
                    lw=1.2, label="copy into a buffer, same bytes")
            for level, nbytes in caches.items():
                if not x_copy[0] <= nbytes <= x_copy[-1]:
                    continue
                ax.axvline(nbytes, color="grey", ls=":", lw=0.8)
                ax.annotate(level, (nbytes, 1), xycoords=("data", "axes fraction"), fontsize=7,
                            color="grey", ha="right", va="top", xytext=(-2, 0), textcoords="offset points")
            ax.set(xscale="log", yscale="log", title=f"{dtype}, {mode.replace('_', ' + ')}")
            ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(bytes_label))
            ax.xaxis.set_major_locator(mpl.ticker.LogLocator(base=16))
            ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
            if i == len(dtypes) - 1:
                ax.set_xlabel("size of the input tensor")
            if j == 0:
                ax.set_ylabel("ns per element")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4)
    return fig


def step_share(summary: dict[str, Any], models: tuple[str, ...] = ("cnn", "rnn")) -> plt.Figure:
    """Per model: the share of a training step that each activation accounts for (its step time
    minus the step time without an activation, over its step time), median and interquartile
    range over rounds, with the median step time written above each bar."""
    models = tuple(m for m in models if m in summary)
    fig, axes = subplots(len(models), sharey=True)
    for ax, model in zip(axes, models):
        s = summary[model]
        names = list(s["share"])
        med = np.array([100 * s["share"][a]["median"] for a in names])
        lo = med - [100 * s["share"][a]["p25"] for a in names]
        hi = [100 * s["share"][a]["p75"] for a in names] - med
        ax.bar(names, med, color=[COLORS.get(a, "grey") for a in names], yerr=[lo, hi],
               capsize=2, error_kw={"lw": 0.8})
        for k, a in enumerate(names):
            ax.annotate(f"{1e3 * s['step_s'][a]['median']:.3g} ms", (k, max(med[k] + hi[k], 0)),
                        ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
        ax.axhline(0, color="black", lw=0.6)
        ax.tick_params(axis="x", labelrotation=45)
        ax.set(title=f"{model.upper()}, batch {s['batch']}")
    axes[0].set_ylabel("share of the step (%)")
    return fig


# --- CNN chapters ----------------------------------------------------------------------------

def training_curves(summary: dict[str, Any], variant: str, threshold: float) -> plt.Figure:
    """Running training error per epoch at each activation's fastest learning rate, one line
    per seed, ReLU solid and tanh dashed as in Krizhevsky et al.'s Figure 1."""
    fig, (ax,) = subplots(width=4.6, height=3.0)
    best = summary["ratios"][(variant, threshold)]["best"]
    for act, b in best.items():
        for j, run in enumerate(summary["runs"][(variant, act, b["lr"])]):
            err = run["train_error"]
            ax.plot(range(1, len(err) + 1), err, "-" if act == "relu" else "--", color=COLORS[act],
                    marker="o", ms=2, label=f"{act} (lr {b['lr']:g})" if j == 0 else None)
    ax.axhline(threshold, color="grey", ls=":", lw=1, label=f"{threshold:.0%} threshold")
    ax.set(xlabel="epoch", ylabel="running training error")
    ax.legend()
    return fig


def ratio_vs_threshold(summary: dict[str, Any], thresholds: tuple[float, ...],
                       paper_ratio: float) -> plt.Figure:
    """tanh/ReLU ratio of epochs to each threshold, with its bootstrap interval, per variant."""
    fig, (ax,) = subplots(width=4.6, height=3.0)
    for k, variant in enumerate(summary["variants"]):
        pts = [(t, summary["ratios"][(variant, t)]) for t in thresholds]
        pts = [(t, r) for t, r in pts if np.isfinite(r["ratio"]) and np.isfinite(r["low"])]
        if not pts:
            continue
        x = np.array([t for t, _ in pts]) + 0.004 * (k - 1)
        r = np.array([[p["ratio"], p["low"], p["high"]] for _, p in pts])
        ax.errorbar(x, r[:, 0], yerr=[r[:, 0] - r[:, 1], r[:, 2] - r[:, 0]], marker="o", ms=3,
                    capsize=2, label=variant)
    ax.axhline(paper_ratio, color="k", ls="--", lw=0.8, label=f"paper: {paper_ratio:g}x")
    ax.axhline(1, color="grey", ls=":", lw=1)
    ax.set(xlabel="training-error threshold", ylabel="epochs tanh / epochs ReLU")
    ax.invert_xaxis()
    ax.legend()
    return fig


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
    axes[0].set_ylabel("share of units saturated")
    axes[-1].legend()
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
    axes[-1].legend()
    return fig


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
    axes[-1].legend()
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
    ax.legend(title="x: did not reach the target")
    return fig
