"""Chapter "krizhevsky": training curves, the learning-rate sweep and the tanh/ReLU epoch ratio of
Figure 1 (Krizhevsky et al. 2012)."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, integer_ticks, legend, pending, subplots  # noqa: F401 (pending: for pages)


NEVER = "never reached"
PIPELINE_STYLE = (("#000000", "o"), ("#CC79A7", "s"), ("#009E73", "D"))  # not the activations' colours


def shown_lr(arm: dict[str, Any]) -> float:
    """An arm's tuned learning rate, or (untuned) its rate with the fewest median epochs."""
    if arm["lr"] is not None:
        return arm["lr"]
    grid = arm["grid"]
    return min(grid, key=lambda lr: (grid[lr]["median"], -grid[lr]["reached"], lr))


def median_curve(runs: list[dict[str, Any]], threshold: float) -> np.ndarray:
    """The median over runs of the running training error per epoch, up to the first epoch it
    is below `threshold`. A run that stopped there keeps its last error (it was already below),
    a diverged one counts as error 1 from its end."""
    n = max(len(r["train_error"]) for r in runs)
    padded = [np.pad(np.nan_to_num(r["train_error"], nan=1.0), (0, n - len(r["train_error"])),
                     constant_values=1.0 if r["diverged"] or not r["train_error"] else r["train_error"][-1])
              for r in runs]
    med = np.median(padded, axis=0)
    below = np.flatnonzero(med < threshold)
    return med[:below[0] + 1] if below.size else med


def training_curves(summary: dict[str, Any], threshold: float) -> plt.Figure:
    """Running training error per epoch, one panel per pipeline, each activation at its chosen
    learning rate: every seed faint, the median over seeds bold (until it crosses the
    threshold), ReLU solid and tanh dashed as in Krizhevsky et al.'s Figure 1, the rates in
    the panel's title (* not tuned). A run that never reached the threshold ends in a
    triangle, a diverged one in a cross. The panels share the epoch axis, so that pipelines
    compare at a glance (runs stop at the threshold, so curves end where they reach it)."""
    variants = summary["variants"]
    fig, axes = subplots(len(variants), sharex=True, sharey=True, width=3.4, height=2.8)
    for ax, variant in zip(axes, variants):
        rates = []
        for act in ("relu", "tanh"):
            arm = summary["arms"][(variant, act, threshold)]
            lr = shown_lr(arm)
            rates.append(f"{act} {lr:g}{'' if arm['lr'] is not None else '*'}")
            runs, style = summary["runs"][(variant, act, lr)], "-" if act == "relu" else "--"
            for run in runs:
                err = run["train_error"]
                ax.plot(range(1, len(err) + 1), err, style, color=COLORS[act], lw=0.8, alpha=0.35)
                if run["diverged"] or min(err, default=1.0) > threshold:
                    x, y = (len(err), err[-1]) if err else (0, 0.9)
                    ax.plot(x, y, "x" if run["diverged"] else "^", color=COLORS[act], ms=5)
            med = median_curve(runs, threshold)
            ax.plot(range(1, len(med) + 1), med, style, color=COLORS[act], lw=2.2,
                    label=f"{act}, median over seeds")
        ax.axhline(threshold, color="grey", ls=":", lw=1)
        ax.set(xlabel="epoch", title=f"{variant} pipeline\nlr: {', '.join(rates)}", ylim=(0, 1))
        integer_ticks(ax.xaxis)
    axes[0].set_ylabel("running training error")
    untuned = any(summary["arms"][(v, a, threshold)]["lr"] is None for v in variants for a in ("relu", "tanh"))
    legend(fig, title="* rate not tuned: the fewest median epochs" if untuned else None)
    return fig


def ladder(summary: dict[str, Any], paper_ratio: float, stand_in: dict[str, Any] | None = None,
           stand_in_images: int | None = None) -> plt.Figure:
    """The scale ladder: median over paired seeds of tanh's over ReLU's epochs to the threshold
    against the number of training images, per pipeline, with its distribution-free interval
    (arrowheads: ends that censoring leaves open; a hollow triangle: a median known only as a
    lower bound). With `stand_in` (a live summary on `stand_in_images` images), its median ratio
    per pipeline as a star, for comparison with the CIFAR-10 point of about that size."""
    fig, (ax,) = subplots(width=5.2, height=3.2)
    floor, ceil = 1 / 4, 16.0
    variants = sorted({v for v, _ in summary["ladder"]}, key=list(summary["variants"]).index)
    for k, variant in enumerate(variants):
        color, shape = PIPELINE_STYLE[k % len(PIPELINE_STYLE)]
        points = sorted((n, x) for (v, n), x in summary["ladder"].items() if v == variant)
        xs = np.array([n for n, _ in points]) * 1.08 ** (k - 0.5)
        meds = [ratio_point(ax, xi, point["ratio"], color, shape, floor, ceil)
                for xi, (_, point) in zip(xs, points)]
        ax.plot(xs, meds, "-", color=color, lw=1, alpha=0.6, label=f"{variant} pipeline, CIFAR-10")
        if stand_in is not None and variant in stand_in["variants"]:
            r = stand_in["ratios"][(variant, stand_in["threshold"])]
            ax.plot(stand_in_images * 1.08 ** (k - 0.5), np.clip(shown_median(r), floor, ceil), "*",
                    color=color, mfc="white", mew=1.2, ms=11, zorder=3,
                    label=f"{variant} pipeline, stand-in ({stand_in['setting'].split(',')[0]})")
    ax.axhline(paper_ratio, color="k", ls="--", lw=0.8, label=f"paper: {paper_ratio:g}x")
    ax.axhline(1, color="grey", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", ylim=(floor / 1.2, ceil * 1.2),
           xlabel="training images", ylabel="epochs, tanh / ReLU")
    sizes = sorted({n for _, n in summary["ladder"]})
    ax.set_xlim(min(sizes[0], stand_in_images or sizes[0]) / 1.6, sizes[-1] * 1.6)
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
    ax.set_yticks([0.25, 0.5, 1, 2, 4, 8, 16], ["1/4", "1/2", "1", "2", "4", "8", "16"])
    ax.yaxis.set_minor_locator(mpl.ticker.NullLocator())
    legend(fig)
    return fig


def ratio_point(ax: plt.Axes, x: float, r: dict[str, float], color: str, shape: str,
                floor: float, ceil: float) -> float:
    """One ladder point at `x`: the interval of `r` (`stats.paired_ratio`) clipped to the axis,
    arrowheads on ends beyond it, and the median (a hollow triangle when known only as a
    bound). Returns the median as drawn."""
    lo, hi = (np.clip([r["low"], r["high"]], floor, ceil) if np.isfinite(r["coverage"])
              else (np.nan, np.nan))
    ax.plot([x, x], [lo, hi], color=color, lw=1.2)
    for end, raw, marker in ((lo, r["low"], "v"), (hi, r["high"], "^")):
        if np.isfinite(end) and not floor < raw < ceil:
            ax.plot(x, end, marker, color=color, ms=5)
    exact = r["median_low"] == r["median_high"]
    median = np.clip(shown_median(r), floor, ceil)
    ax.plot(x, median, shape if exact else "^", color=color, mfc=color if exact else "none", ms=5)
    return median


def shown_median(r: dict[str, float]) -> float:
    """Where a ratio's median is drawn: its lower bound, or its upper one when censoring leaves
    no lower bound."""
    lo = r["median_low"]
    return lo if np.isfinite(lo) and lo > 0 else r["median_high"]


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
                    xytext=(0, 4), textcoords="offset points", fontsize="small", color="grey",
                    va="bottom")  # above the triangles
        grid = []
        for lr in sorted({lr for act in ("relu", "tanh")
                          for lr in summary["arms"][(variant, act, threshold)]["grid"]}):
            if not grid or lr > 1.3 * grid[-1]:  # one tick for near-equal rates of two arms
                grid.append(lr)
        ax.set(xscale="log", xlabel="learning rate", title=f"{variant} pipeline",
               ylim=(0, top * 1.3))
        shown = grid[::-(-len(grid) // 3)]  # at most three labels; every rate keeps a tick
        ax.set_xticks(shown, [f"{lr:g}" for lr in shown])
        ax.set_xticks(grid, minor=True)
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    axes[0].set_ylabel(f"epochs to {threshold:.0%} training error")
    legend(fig, title=f"{summary['seeds']} seeds")
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
    legend(fig, title=f"{summary['seeds']} seeds")
    return fig
