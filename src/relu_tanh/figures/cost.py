"""Chapter "cost": time per element against tensor size, and the activation's share of a training
step."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from ..measure.bench import DTYPES, ELEMENTS_MOVED
from .style import COLORS, legend, subplots


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
    legend(fig, axes[:1])
    return fig


def step_share(summary: dict[str, Any], models: tuple[str, ...] = ("cnn", "rnn")) -> plt.Figure:
    """Per model: the share of a training step that each activation accounts for (its step time
    minus the step time without an activation, over its step time), median and interquartile
    range over rounds (horizontal bars), with the median step time beside each name."""
    models = tuple(m for m in models if m in summary)
    fig, axes = subplots(len(models), height=2.8)
    for ax, model in zip(axes, models):
        s = summary[model]
        names = list(s["share"])
        med = np.array([100 * s["share"][a]["median"] for a in names])
        lo = med - [100 * s["share"][a]["p25"] for a in names]
        hi = [100 * s["share"][a]["p75"] for a in names] - med
        y = np.arange(len(names))
        ax.barh(y, med, color=[COLORS.get(a, "grey") for a in names], xerr=[lo, hi],
                capsize=2, error_kw={"lw": 0.8})
        ax.set_yticks(y, [f"{a}, {1e3 * s['step_s'][a]['median']:.3g} ms" for a in names])
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.6)
        ax.set(title=f"{model.upper()}, batch {s['batch']}", xlabel="share of the step (%)")
    return fig
