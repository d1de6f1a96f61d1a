"""Chapter "powers": powers of W against entries and spectrum (R1), Pascanu et al.'s bound, one
shared W against independent layers (R2)."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .style import COLORS, faint, legend, log_ticks, subplots


LN10 = float(np.log(10))


def _plain_log(ax: plt.Axes, *which: str) -> None:
    """Plain numbers (0.5, 1, 2) rather than powers of ten on short log axes, never crowded."""
    for axis in which:
        log_ticks(getattr(ax, f"{axis}axis"))


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
    legend(fig)
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
                    label=f"ρ = {r['radius']:.2f}")
        norms = ", ".join(f"{r['norm']:.2f}" for r in own)
        ax.set(xlabel="power t", title=f"{family}, n = {summary['n']}\n‖W‖ = {norms}", ylim=(-20, 20))
    legend(fig)
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
    legend(fig, ncols=2)
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
        ax.set(xlabel="gap T - t (steps)", title=f"{act},\n{family} W_h", ylim=(-40, 15))
    axes[0].set_ylabel("log10 ‖dh_T/dh_t‖")
    legend(fig)
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
    legend(fig, ncols=2)
    return fig


def shared_curves(summary: dict[str, Any], scales: tuple[float, ...] = (0.5, 1.0, 2.0)) -> plt.Figure:
    """log10 ||dh_t/dh_0|| against t through one shared W (solid) and independent layers
    (dashed), one panel per activation: the median over seeds bold, each seed faint."""
    settings = summary["settings"]
    acts = list(dict.fromkeys(k[0] for k in settings))
    cmap = plt.get_cmap("viridis")
    fig, axes = subplots(len(acts), width=3.0, sharey=True)
    for ax, act in zip(axes, acts):
        for j, scale in enumerate(scales):
            v, c = settings[(act, scale)], cmap(j / max(len(scales) - 1, 1))
            for key, ls, what in (("shared_curves", "-", "shared W"), ("independent_curves", "--", "independent")):
                curves = np.array(v[key], dtype=float) / LN10  # (seeds, t)
                for curve in curves:
                    faint(ax, summary["t"], curve, ls=ls, color=c)
                ax.plot(summary["t"], np.median(curves, axis=0), ls, color=c, lw=1.8,
                        label=f"σ {scale:g}, {what}")
        ax.set(xlabel="steps = layers t", title=act)
    axes[0].set_ylabel("log10 ‖dh_t/dh_0‖")
    legend(fig, title=f"median over {len(v['shared_curves'])} seeds (bold), each seed (faint)")
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
    legend(fig)
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
    legend(fig, ncols=2)
    return fig
