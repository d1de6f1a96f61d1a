"""The house style every figure shares: Okabe and Ito's colours (one per activation), rcParams,
`subplots` that keeps figures within the page's width, `legend` (one per figure, outside the
panels), tick helpers for counts and log axes, `faint` for the seeds behind a bold summary line,
and `band` (a centre line over seeds with its min-max band). Captions live in the book (cell
metadata), not in plot titles. One module per chapter beside this one draws that chapter's
figures; each imports only this module and the layers below."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

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


def legend(fig: plt.Figure, axes: Any = None, **kw: Any) -> mpl.legend.Legend:
    """The figure's one legend, below the panels so that it never covers data: each label of
    `axes` (default: every panel) once, in as many columns as fit the figure's width."""
    entries: dict[str, Any] = {}
    for ax in fig.axes if axes is None else axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    size = mpl.font_manager.FontProperties(size=mpl.rcParams["legend.fontsize"]).get_size_in_points()
    column = 0.55 * size / 72 * max(map(len, entries), default=1) + 0.6  # inches: text + handle
    ncols = max(1, min(len(entries), int(fig.get_figwidth() / column)))
    return fig.legend(list(entries.values()), list(entries), loc="outside lower center",
                      ncols=kw.pop("ncols", ncols), **kw)


def integer_ticks(axis: mpl.axis.Axis) -> None:
    """Ticks only at whole numbers, for counts such as depth, layer, epoch or step; at most
    five intervals, so that wide labels ("150", "1,000") never run together in a narrow panel."""
    axis.set_major_locator(mpl.ticker.MaxNLocator(nbins=5, integer=True))


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


def faint(ax: plt.Axes, x: Any, y: Any, **kw: Any) -> None:
    """One seed's line behind its bold summary: thin, light and unlabelled."""
    ax.plot(x, y, lw=0.7, alpha=0.3, label=None, **kw)


def pending(text: str, width: float = 6.0, height: float = 1.2) -> plt.Figure:
    """A placeholder figure that says in words what is not there yet (keeps a numbered figure
    in its place while its data is still being computed)."""
    fig, (ax,) = subplots(width=width, height=height)
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, color="grey")
    return fig
