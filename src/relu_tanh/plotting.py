"""Figures in one house style. Captions live in the book (cell metadata), not in plot titles."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from .nets import activations

# Okabe and Ito's colour-blind-safe palette; each activation keeps its colour in every figure.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
COLORS = {"relu": "#0072B2", "tanh": "#D55E00", "sigmoid": "#009E73", "leaky_relu": "#CC79A7",
          "gelu": "#E69F00", "silu": "#56B4E9", "identity": "#000000"}
MAX_WIDTH = 7.2  # inches: about the page's text width; wider figures are shrunk, and their text
STYLE = {"figure.dpi": 110, "savefig.dpi": 200, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.alpha": 0.3, "font.size": 10, "axes.labelsize": 10,
         "axes.titlesize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9,
         "legend.frameon": False, "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
         "lines.linewidth": 1.5}
UNDERFLOW = "0: below float range"


def style() -> None:
    """The house style: rcParams above, and figures shown in notebooks as SVG (sharp at any zoom).
    Called by `subplots`, so importing this module changes nothing."""
    mpl.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # not in a notebook environment: nothing to set
        return
    set_matplotlib_formats("svg")


def subplots(ncols: int = 1, nrows: int = 1, width: float = 3.4, height: float = 2.6,
             **kw: Any) -> tuple[plt.Figure, np.ndarray]:
    """A grid of axes in the house style, always returned as a flat array. Panels narrow so that
    the figure stays within MAX_WIDTH: the page would otherwise shrink its text."""
    style()
    width = min(width, MAX_WIDTH / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, layout="constrained", **kw)
    return fig, axes.ravel()


def integer_ticks(axis: mpl.axis.Axis) -> None:
    """Ticks only at whole numbers, for counts such as depth, layer or epoch."""
    axis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))


def log_ticks(axis: mpl.axis.Axis) -> None:
    """Labels on a log axis that never overlap: over three decades or more, one per decade
    (at most six); over fewer, at 1, 2 and 5 times each power of ten, written plainly."""
    lo, hi = sorted(abs(v) for v in axis.get_view_interval())
    decades = np.log10(hi / lo) if lo > 0 else np.inf
    if decades >= 3:
        axis.set_major_locator(mpl.ticker.LogLocator(base=10, numticks=6))
        axis.set_major_formatter(mpl.ticker.LogFormatterSciNotation())
    else:
        axis.set_major_locator(mpl.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_locator(mpl.ticker.LogLocator(base=10, subs=np.arange(2, 10), numticks=12))
    axis.set_minor_formatter(mpl.ticker.NullFormatter())


def log_line(ax: plt.Axes, x: Any, y: Any, **kw: Any) -> None:
    """Plot y against x on a log y-axis, with values that are exactly 0 (an underflow, not a
    measurement) marked at the bottom edge as 'below float range' instead of drawn."""
    y = np.asarray(y, dtype=float)
    ax.plot(x, np.where(y > 0, y, np.nan), **kw)
    mark_underflow(ax, np.asarray(x)[y == 0], color=kw.get("color"))


def mark_underflow(ax: plt.Axes, x: Any, color: Any = None) -> None:
    """Downward triangles on the bottom edge at `x`, labelled once per axes."""
    if len(x) == 0:
        return
    labelled = any(t == UNDERFLOW for t in ax.get_legend_handles_labels()[1])
    ax.plot(x, np.zeros(len(x)), "v", ms=6, color=color or "black", clip_on=False,
            transform=ax.get_xaxis_transform(), label=None if labelled else UNDERFLOW)


def band(ax: plt.Axes, x: list[float], stats: list[dict[str, float]], log: bool = False, **kw: Any) -> None:
    """Centre line over seeds with a min-max band; with `log`, zeros are underflows, marked."""
    centre = np.array([s["centre"] for s in stats], dtype=float)
    lo = np.array([s["min"] for s in stats], dtype=float)
    hi = np.array([s["max"] for s in stats], dtype=float)
    if log:
        log_line(ax, x, centre, marker="o", ms=3, **kw)
        lo = np.where(lo > 0, lo, np.nan)
    else:
        ax.plot(x, centre, marker="o", ms=3, **kw)
    ax.fill_between(x, lo, hi, color=kw.get("color"), alpha=0.2, lw=0)


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
    mean_ax.set(xscale="log", xlabel="std s of the pre-activation (unitless)", ylabel="mean f'(z)")
    small_ax.set(xscale="log", xlabel="std s of the pre-activation (unitless)", ylabel="share with f'(z) < 0.1")
    for ax in (mean_ax, small_ax):
        log_ticks(ax.xaxis)
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
                log_line(ax, np.arange(1, len(hidden) + 1), hidden, color=COLORS[act], alpha=0.6, lw=1,
                         label=act if j == 0 else None)
        ax.set(yscale="log", xlabel="hidden layer (1 = input side)", title=f"{init} init")
        log_ticks(ax.yaxis)
        integer_ticks(ax.xaxis)
    axes[0].set_ylabel("‖dL/dW‖ at initialisation")
    axes[-1].legend(title=f"one line per seed ({seeds})")
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
        for layer, dash in ((0, "-"), (depth // 2, "--"), (depth - 1, ":")):
            log_line(ax, run["steps"][: len(norms)], norms[:, layer], ls=dash, color=COLORS[act],
                     label=f"layer {layer + 1}")
        ax.set(yscale="log", xlabel="training step", title=act)
        log_ticks(ax.yaxis)
        integer_ticks(ax.xaxis)
        ax.legend(title="seed 0")
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
    from .measure.bench import DTYPES, ELEMENTS_MOVED

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
                ax.annotate(level, (nbytes, 1), xycoords=("data", "axes fraction"), fontsize=8,
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
                        ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.axhline(0, color="black", lw=0.6)
        ax.tick_params(axis="x", labelrotation=45)
        ax.set(title=f"{model.upper()}, batch {s['batch']}")
    axes[0].set_ylabel("share of the step (%)")
    return fig


# --- CNN chapters ----------------------------------------------------------------------------

NEVER = "never reached"


def shown_lr(arm: dict[str, Any]) -> float:
    """An arm's tuned learning rate, or (untuned) its rate with the fewest median epochs."""
    if arm["lr"] is not None:
        return arm["lr"]
    grid = arm["grid"]
    return min(grid, key=lambda lr: (grid[lr]["median"], -grid[lr]["reached"], lr))


def training_curves(summary: dict[str, Any], threshold: float) -> plt.Figure:
    """Running training error per epoch, one panel per pipeline, each activation at its best
    learning rate, one line per seed, ReLU solid and tanh dashed as in Krizhevsky et al.'s
    Figure 1. A run that never reached the threshold ends in a triangle at the epoch cap, a
    diverged one in a cross."""
    variants = summary["variants"]
    fig, axes = subplots(len(variants), sharey=True, width=2.9, height=2.6)
    for ax, variant in zip(axes, variants):
        for act in ("relu", "tanh"):
            arm = summary["arms"][(variant, act, threshold)]
            lr = shown_lr(arm)
            for j, run in enumerate(summary["runs"][(variant, act, lr)]):
                err = run["train_error"]
                ax.plot(range(1, len(err) + 1), err, "-" if act == "relu" else "--",
                        color=COLORS[act], lw=1, alpha=0.8,
                        label=f"{act}, lr {lr:g}{'' if arm['lr'] else ' (not tuned)'}"
                        if j == 0 else None)
                if run["diverged"] or min(err, default=1.0) > threshold:
                    x, y = (len(err), err[-1]) if err else (0, 0.9)
                    ax.plot(x, y, "x" if run["diverged"] else "^", color=COLORS[act], ms=5)
        ax.axhline(threshold, color="grey", ls=":", lw=1)
        ax.set(xlabel="epoch", title=f"{variant} pipeline")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("running training error")
    return fig


def lr_sweep(summary: dict[str, Any], threshold: float) -> plt.Figure:
    """Epochs to the threshold against learning rate, one panel per pipeline: one dot per seed,
    the median as a line, the chosen rate ringed. Runs that never reached it (censored, or
    diverged) sit as triangles on the line above the epoch cap instead of being dropped."""
    variants, cap = summary["variants"], summary["epochs_cap"]
    top = cap * 1.15
    fig, axes = subplots(len(variants), sharey=True, width=2.9, height=2.6)
    for ax, variant in zip(axes, variants):
        for k, act in enumerate(("relu", "tanh")):
            arm = summary["arms"][(variant, act, threshold)]
            lrs = sorted(arm["grid"])
            shift = 1.06 ** (2 * k - 1)  # ReLU a little left, tanh a little right
            for lr in lrs:
                e = np.array(arm["grid"][lr]["epochs"])
                ok = np.isfinite(e)
                ax.plot(np.full(ok.sum(), lr * shift), e[ok], "o", ms=3, color=COLORS[act],
                        alpha=0.6)
                ax.plot(np.full((~ok).sum(), lr * shift), np.full((~ok).sum(), top), "^", ms=4,
                        color=COLORS[act], alpha=0.6)
            med = [min(arm["grid"][lr]["median"], top) for lr in lrs]
            ax.plot(np.array(lrs) * shift, med, "-", color=COLORS[act], lw=1, label=act)
            if arm["lr"] is not None:
                ax.plot(arm["lr"] * shift, arm["grid"][arm["lr"]]["median"], "o", ms=9,
                        mfc="none", color=COLORS[act])
        ax.axhline(cap, color="grey", ls=":", lw=1)
        ax.annotate(f"{NEVER} in {cap} epochs", (0.02, top), xycoords=("axes fraction", "data"),
                    fontsize=7, color="grey", va="bottom")
        grid = []
        for lr in sorted({lr for act in ("relu", "tanh")
                          for lr in summary["arms"][(variant, act, threshold)]["grid"]}):
            if not grid or lr > 1.3 * grid[-1]:  # one tick for near-equal rates of two arms
                grid.append(lr)
        ax.set(xscale="log", xlabel="learning rate", title=f"{variant} pipeline",
               ylim=(0, top * 1.12))
        ax.set_xticks(grid, [f"{lr:g}" for lr in grid], rotation=45, fontsize=7)
        ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
    axes[0].set_ylabel(f"epochs to {threshold:.0%} training error")
    axes[-1].legend(title=f"{summary['seeds']} seeds", fontsize=7)
    return fig


def ratio_vs_threshold(summary: dict[str, Any], thresholds: tuple[float, ...],
                       paper_ratio: float) -> plt.Figure:
    """Median over seeds of tanh's over ReLU's epochs to each threshold with its
    distribution-free interval, per pipeline. Ends that censoring leaves open (or that run off
    the plot) end in an arrowhead; a median known only as a lower (upper) bound is a hollow
    triangle up (down) at the bound, one censoring leaves unknown a cross at 1."""
    fig, (ax,) = subplots(width=4.6, height=3.0)
    floor, ceil = 1 / 8, 64.0
    for k, variant in enumerate(summary["variants"]):
        x = np.array(thresholds) + 0.006 * (k - 1)
        for xi, t in zip(x, thresholds):
            r = summary["ratios"][(variant, t)]
            lo, hi = (np.clip([r["low"], r["high"]], floor, ceil) if np.isfinite(r["coverage"])
                      else (np.nan, np.nan))
            color = f"C{k}"
            ax.plot([xi, xi], [lo, hi], color=color, lw=1.2)
            for end, raw, marker in ((lo, r["low"], "v"), (hi, r["high"], "^")):
                if np.isfinite(end) and not floor < raw < ceil:
                    ax.plot(xi, end, marker, color=color, ms=5)
            m_lo, m_hi = r["median_low"], r["median_high"]
            if m_lo == m_hi:  # known: a filled dot
                y, marker, mfc = m_lo, "o", color
            elif m_lo > 0 and np.isinf(m_hi):  # "at least": a hollow triangle up
                y, marker, mfc = m_lo, "^", "none"
            elif m_lo == 0 and np.isfinite(m_hi):  # "at most": a hollow triangle down
                y, marker, mfc = m_hi, "v", "none"
            else:  # between two finite bounds, or nothing known: a cross at the bounds' middle
                y = np.sqrt(m_lo * m_hi) if m_lo > 0 and np.isfinite(m_hi) else 1.0
                marker, mfc = "x", color
            ax.plot(xi, np.clip(y, floor, ceil), marker, ms=5, color=color, mfc=mfc,
                    label=f"{variant} pipeline" if t == thresholds[0] else None)
    ax.axhline(paper_ratio, color="k", ls="--", lw=0.8, label=f"paper: {paper_ratio:g}x")
    ax.axhline(1, color="grey", ls=":", lw=1)
    ax.set(yscale="log", ylim=(floor / 1.3, ceil * 1.3), xlabel="training-error threshold",
           ylabel="epochs tanh / epochs ReLU")
    ax.invert_xaxis()
    ax.legend(fontsize=7, title=f"{summary['seeds']} seeds")
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
        integer_ticks(ax.xaxis)
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


# --- Chapter "powers" ------------------------------------------------------------------------

LN10 = float(np.log(10))


def _plain_log(ax: plt.Axes, *which: str) -> None:
    """Plain numbers (0.5, 1, 2) rather than powers of ten on short log axes."""
    for axis in which:
        getattr(ax, f"{axis}axis").set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
        getattr(ax, f"{axis}axis").set_minor_formatter(mpl.ticker.FormatStrFormatter("%g"))


def _matrix_label(r: dict[str, Any]) -> str:
    return f"max|w| {r['max_entry']:.2f}, ρ {r['radius']:.2f}, ‖W‖ {r['norm']:.2f}"


def entries_vs_spectrum(summary: dict[str, Any]) -> plt.Figure:
    """Largest |(W^t)_ij| among the entries of W below 1 and among those at or above 1, for the
    constructed matrices; the dotted line is rho^t."""
    rows = [r for r in summary["rows"] if r["family"] == "constructed"]
    t = np.arange(1, summary["steps"] + 1)
    fig, axes = subplots(len(rows), width=2.6, sharey=True)
    for ax, r in zip(axes, rows):
        for key, style, label in (("below_1", "-", "entries |w| < 1"),
                                  ("above_1", "--", "entries |w| ≥ 1")):
            y = np.array(r["entries"][key], dtype=float)  # None (an empty group) -> nan
            if np.isfinite(y).any():
                ax.plot(t, y, style, color="#1b9e77" if key == "below_1" else "#d95f02", label=label)
        ax.plot(t, t * np.log10(r["radius"]), ":", color="grey", label="ρ^t")
        ax.set_title(f"{r['name']}\n" + _matrix_label(r).replace(", ρ", "\nρ", 1), fontsize=8)
        ax.set(xlabel="power t")
    axes[0].set_ylabel("log10 max |(W^t)_ij|")
    axes[1].legend()
    return fig


def power_norms(summary: dict[str, Any], seed: int = 0) -> plt.Figure:
    """log10 ||W^t|| against t for each random family (panels) and spectral radius (lines)."""
    rows = [r for r in summary["rows"]
            if r["seed"] == seed and r["family"] not in ("constructed", "non_normal")]
    families = list(dict.fromkeys(r["family"] for r in rows))
    fig, axes = subplots(len(families), width=3.0, sharey=True)
    cmap = plt.get_cmap("viridis")
    for ax, family in zip(axes, families):
        own = [r for r in rows if r["family"] == family]
        for j, r in enumerate(own):
            ax.plot(summary["t"], np.array(r["log_norms"]) / LN10, color=cmap(j / max(len(own) - 1, 1)),
                    label=f"ρ {r['radius']:.2f}, ‖W‖ {r['norm']:.2f}")
        ax.set(xlabel="power t", title=f"{family}, n = {summary['n']}", ylim=(-20, 20))
        ax.legend(fontsize=7)
    axes[0].set_ylabel("log10 ‖W^t‖")
    return fig


def transient_growth(summary: dict[str, Any], seed: int = 0) -> plt.Figure:
    """||W^t v|| for a few random unit v and ||W^t|| for the non-normal matrix, against
    rho^t and ||W||^t."""
    r = next(x for x in summary["rows"] if x["family"] == "non_normal" and x["seed"] == seed)
    t = np.arange(1, summary["steps"] + 1)
    fig, (ax,) = subplots(width=4.6, height=3.0)
    for j, v in enumerate(r["vector_log_norms"]):
        ax.plot(t, np.array(v) / LN10, color="#7570b3", lw=0.8, alpha=0.7,
                label="‖W^t v‖, random unit v" if j == 0 else None)
    ax.plot(summary["t"], np.array(r["log_norms"]) / LN10, color="black", lw=1.5, label="‖W^t‖")
    ax.plot(t, t * np.log10(r["radius"]), "--", color="grey", label=f"ρ^t, ρ = {r['radius']:.2f}")
    ax.plot(t, t * np.log10(r["norm"]), ":", color="grey", label=f"‖W‖^t, ‖W‖ = {r['norm']:.2f}")
    top = max(max(r["log_norms"]) / LN10 + 1, 1)
    ax.set(xlabel="power t", ylabel="log10 norm", ylim=(min(r["log_norms"][-1] / LN10 - 1, -1), top))
    ax.legend(fontsize=7)
    return fig


def pascanu_curves(summary: dict[str, Any]) -> plt.Figure:
    """Mean log10 ||dh_T/dh_{T-g}|| over sequences (first seed) against the gap g, one panel per
    activation and family, one colour per eta = gamma ||W_h||; dotted: the bound eta^g."""
    settings = summary["settings"]
    panels = list(dict.fromkeys(k[:2] for k in settings))
    etas = list(dict.fromkeys(k[2] for k in settings))
    g = np.array(summary["gaps"])
    cmap = plt.get_cmap("coolwarm")
    fig, axes = subplots(len(panels), width=2.8, sharey=True)
    for ax, (act, family) in zip(axes, panels):
        for j, eta in enumerate(etas):
            c = cmap(j / max(len(etas) - 1, 1))
            curve = np.array(settings[(act, family, eta)]["curves"][0]) / LN10
            ax.plot(g, curve, color=c, label=f"η = {eta:g}")
            ax.plot(g, g * np.log10(eta), ":", color=c, lw=0.8)
        ax.set(xlabel="gap T - t (steps)", title=f"{act}, {family} W_h", ylim=(-40, 15))
    axes[0].set_ylabel("log10 ‖dh_T/dh_t‖")
    axes[-1].legend(fontsize=7)
    return fig


def pascanu_rates(summary: dict[str, Any]) -> plt.Figure:
    """Measured per-step factor of ||dh_T/dh_{T-g}|| against eta = gamma ||W_h|| (mean and
    min-max over seeds); the bound is the diagonal, 1 the dotted line."""
    settings = summary["settings"]
    fig, (ax,) = subplots(width=4.6, height=3.2)
    markers = {"gaussian": "o", "orthogonal": "s"}
    etas = sorted({k[2] for k in settings})
    for act, family in dict.fromkeys(k[:2] for k in settings):
        own = [settings[(act, family, e)] for e in etas]
        rate = np.array([v["rate"] for v in own])
        err = [rate - [v["rate_min"] for v in own], np.array([v["rate_max"] for v in own]) - rate]
        ax.errorbar(etas, rate, yerr=err, marker=markers[family], ms=4, capsize=2, color=COLORS[act],
                    ls="-" if family == "gaussian" else "--", label=f"{act}, {family} W_h")
    ax.plot(etas, etas, color="grey", lw=1, label="bound: factor = η")
    ax.axhline(1, color="black", ls=":", lw=0.8)
    ax.axvline(1, color="black", ls=":", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="η = γ ‖W_h‖", ylabel="per-step factor of ‖dh_T/dh_t‖")
    _plain_log(ax, "x", "y")
    ax.legend(fontsize=7)
    return fig


def shared_curves(summary: dict[str, Any], scales: tuple[float, ...] = (0.5, 1.0, 2.0)) -> plt.Figure:
    """log10 ||dh_t/dh_0|| against t through one shared W (solid) and independent layers
    (dashed), one line per seed, one panel per activation."""
    settings = summary["settings"]
    acts = list(dict.fromkeys(k[0] for k in settings))
    cmap = plt.get_cmap("viridis")
    fig, axes = subplots(len(acts), width=3.0, sharey=True)
    for ax, act in zip(axes, acts):
        for j, scale in enumerate(scales):
            v, c = settings[(act, scale)], cmap(j / max(len(scales) - 1, 1))
            for i, (sh, ind) in enumerate(zip(v["shared_curves"], v["independent_curves"])):
                ax.plot(summary["t"], np.array(sh) / LN10, color=c, lw=0.8,
                        label=f"σ {scale:g}, shared W" if i == 0 else None)
                ax.plot(summary["t"], np.array(ind) / LN10, "--", color=c, lw=0.8,
                        label=f"σ {scale:g}, independent" if i == 0 else None)
        ax.set(xlabel="steps = layers t", title=act)
    axes[0].set_ylabel("log10 ‖dh_t/dh_0‖")
    axes[0].legend(fontsize=6)
    return fig


def shared_finals(summary: dict[str, Any]) -> plt.Figure:
    """log10 ||dh_T/dh_0|| of every seed against the weight scale, shared W (circles) and
    independent layers (crosses), one panel per activation."""
    settings = summary["settings"]
    acts = list(dict.fromkeys(k[0] for k in settings))
    fig, axes = subplots(len(acts), width=3.0, sharey=True)
    for ax, act in zip(axes, acts):
        scales = [k[1] for k in settings if k[0] == act]
        for scale in scales:
            v = settings[(act, scale)]
            ax.plot([scale * 0.97] * len(v["shared_final"]), v["shared_final"], "o", ms=3, mfc="none",
                    color=COLORS["tanh"], label="shared W" if scale == scales[0] else None)
            ax.plot([scale * 1.03] * len(v["independent_final"]), v["independent_final"], "x", ms=3,
                    color=COLORS["relu"], label="independent layers" if scale == scales[0] else None)
        ax.axhline(0, color="black", lw=0.6)
        ax.set(xscale="log", xlabel="weight scale σ", title=f"{act}, T = {summary['steps']}")
        _plain_log(ax, "x")
    axes[0].set_ylabel("log10 ‖dh_T/dh_0‖")
    axes[0].legend(fontsize=7)
    return fig


def shared_rates(summary: dict[str, Any], act: str = "linear") -> plt.Figure:
    """Per-seed growth factors of the linear products: shared W against its spectral radius,
    independent layers against the top Lyapunov exponent's exp(lambda)."""
    settings = {k: v for k, v in summary["settings"].items() if k[0] == act}
    fig, (ax,) = subplots(width=4.0, height=3.2)
    for i, ((_, scale), v) in enumerate(settings.items()):
        ax.plot(v["radius"], v["shared_rate"], "o", ms=3, mfc="none", color=COLORS["tanh"],
                label="shared W vs ρ(W)" if i == 0 else None)
        ax.plot([v["lyapunov"]] * len(v["independent_rate"]), v["independent_rate"], "x", ms=3,
                color=COLORS["relu"], label="independent vs exp(λ₁)" if i == 0 else None)
    radii = [r for v in settings.values() for r in v["radius"]]
    lims = [min(radii) * 0.9, max(radii) * 1.1]
    ax.plot(lims, lims, color="grey", lw=0.8, label="y = x")
    ax.set(xscale="log", yscale="log", xlabel="predicted factor: ρ(W) or exp(λ₁)",
           ylabel="measured per-step factor")
    _plain_log(ax, "x", "y")
    ax.legend(fontsize=7)
# --- Chapter "through_time" ------------------------------------------------------------------

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
    ax.legend(title=f"{summary['seeds']} seeds", ncols=2)
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
    axes[-1].legend(title=f"{summary['seeds']} seeds")
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
    cells[-1][0].legend(title=f"{summary['seeds']} seeds")
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
    cells[-1][0].legend(title=f"{summary['seeds']} seeds")
    return fig
# --- Chapter "gates" ---------------------------------------------------------------------------

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
    axes[0].legend()
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
        ax.scatter(before, after, s=10, color=COLORS["sigmoid"], alpha=0.7,
                   label=f"{len(after)} units")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.axhline(1 - near, color="black", lw=0.8, ls=":", label=f"1 - {near:g}")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=f"mean {name} gate at initialisation",
               ylabel=f"mean {name} gate after training", title=cell.upper())
        ax.legend(loc="lower right")
    return fig


def ablation_mse(summary: dict[str, Any], baseline: float, scale: str) -> plt.Figure:
    """Final test MSE of every seed at each arm's best learning rate, one panel per cell, on a log
    scale; diverged (or overflowed) runs drawn as crosses at the top; the baseline 1/6 and the
    solve threshold as lines."""
    arms = summary["arms"]
    cells = list(dict.fromkeys(c for c, _, _ in arms))
    fig, axes = subplots(len(cells), width=3.6, height=3.0, sharey=True)
    finite = [m for a in arms.values() for m in a["mse"] if np.isfinite(m)]
    top = max([baseline * 3, *finite])
    for ax, cell in zip(axes, cells):
        keys = [k for k in arms if k[0] == cell]
        for x, key in enumerate(keys):
            a, color = arms[key], ARM_COLORS.get(key[1:], "black")
            mse = np.array(a["mse"], dtype=float)
            jitter = np.linspace(-0.15, 0.15, len(mse)) if len(mse) > 1 else np.zeros(1)
            ok = np.isfinite(mse)
            ax.scatter(x + jitter[ok], mse[ok], s=14, color=color)
            ax.scatter(x + jitter[~ok], np.full((~ok).sum(), top), marker="x", s=20, color=color)
        ax.axhline(baseline, color="grey", ls="--", lw=0.8, label="predict 1 (MSE 1/6)")
        ax.axhline(summary["threshold"], color="black", ls=":", lw=0.8, label="solved below")
        ax.set(yscale="log", title=f"{cell.upper()}, {summary['seeds']} seeds, {scale} scale",
               xticks=range(len(keys)),
               xticklabels=[arm_label(g, s) + ("*" if arms[(cell, g, s)]["edge"] else "")
                            for _, g, s in keys])
        ax.tick_params(axis="x", labelrotation=60)
    axes[0].set_ylabel("test MSE at the best lr")
    axes[-1].legend(loc="lower right", fontsize=7)
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
               title=f"{cell.upper()}, {summary['seeds']} seeds, {scale} scale")
    axes[0].set_ylabel("median test MSE over seeds")
    axes[-1].legend(fontsize=7)
# --- debate chapter (ReLU RNN + clipping against LSTM/GRU, claim R6) ---------------------------

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
