"""Every figure the book draws is legible where the book shows it: each figure function, called as
its page calls it on smoke-scale results, is drawn and its text and legends are measured.

The checks, at the figure's size on the page (the SVG is shown at 96 px per inch and shrunk to
the content column, COLUMN_PX, when wider; its width is the tight box the notebook saves):
- text: every drawn text (ticks, labels, titles, legends, annotations) is at least MIN_PX tall
  (font size in px after that shrinking);
- overlap: no two drawn texts' boxes overlap by more than TOUCH_PX;
- legends: no legend covers plotted data (lines, markers, bars, bands, images) of any axes;
- lines: a panel labels at most MAX_LABELS series and draws at most MAX_BOLD prominent lines
  (not faint: alpha above 0.5); more go faint, unlabelled, behind a bold summary line.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from relu_tanh import experiments  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COLUMN_PX = 740  # Jupyter Book's content column at a 1280 px window (740-800 px)
CSS_DPI = 96  # an SVG's inches as the browser draws them
MIN_PX = 10.0
TOUCH_PX = 1.0
MAX_LABELS = 8  # about six series and two reference lines
MAX_BOLD = 12


# --- measuring a drawn figure ----------------------------------------------------------------


def drawn_texts(fig: plt.Figure) -> list[Text]:
    """The texts a draw actually renders (visible, non-empty, ticks in view), in draw order."""
    seen: dict[int, Text] = {}
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            seen.setdefault(id(self), self)
        return original(self, renderer)

    Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return list(seen.values())


def shown_scale(fig: plt.Figure) -> float:
    """Screen px per typographic point of the figure as the book shows it."""
    renderer = fig.canvas.get_renderer()
    width_in = max(fig.get_figwidth(), fig.get_tightbbox(renderer).width)
    return CSS_DPI / 72 * min(1.0, COLUMN_PX / (width_in * CSS_DPI))


def describe(t: Text) -> str:
    return repr(t.get_text()[:40])


def small_text(fig: plt.Figure, texts: list[Text]) -> list[str]:
    scale = shown_scale(fig)
    return [f"text {describe(t)} is {t.get_fontsize() * scale:.1f} px (< {MIN_PX:g})"
            for t in texts if t.get_fontsize() * scale < MIN_PX - 1e-9]


def overlapping_text(texts: list[Text]) -> list[str]:
    boxes = [t.get_window_extent() for t in texts]
    out = []
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if dx > TOUCH_PX and dy > TOUCH_PX:
                out.append(f"texts {describe(texts[i])} and {describe(texts[j])} overlap")
    return out


def finite_runs(points: np.ndarray) -> list[np.ndarray]:
    """Consecutive finite stretches of an (n, 2) array (a nan breaks a drawn line)."""
    ok = np.isfinite(points).all(axis=1)
    breaks = np.flatnonzero(np.diff(ok.astype(int)) != 0) + 1
    return [p for p, k in zip(np.split(points, breaks), np.split(ok, breaks)) if k.all() and len(p)]


def covers(region: Bbox, artist: Any) -> bool:
    """Whether `artist` draws anything inside the display-space box `region`."""
    if isinstance(artist, matplotlib.lines.Line2D):
        pts = artist.get_transform().transform(np.asarray(artist.get_xydata(), float))
        for run in finite_runs(pts):
            if artist.get_marker() not in (None, "None", "", " ") and region.count_contains(run):
                return True
            if artist.get_linestyle() not in ("None", "", " ") and len(run) > 1 and \
                    MplPath(run).intersects_bbox(region, filled=False):
                return True
        return False
    if isinstance(artist, PathCollection):
        pts = artist.get_offset_transform().transform(np.asarray(artist.get_offsets(), float))
        return bool(region.count_contains(pts[np.isfinite(pts).all(axis=1)]))
    if isinstance(artist, matplotlib.collections.Collection):
        filled = isinstance(artist, PolyCollection)
        return any(p.transformed(artist.get_transform()).intersects_bbox(region, filled=filled)
                   for p in artist.get_paths() if len(p.vertices))
    return region.overlaps(artist.get_window_extent())  # bars, spans, images


def legends_on_data(fig: plt.Figure) -> list[str]:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    out = []
    for legend in legends:
        box = legend.get_window_extent()
        for ax in fig.axes:
            inside = Bbox.intersection(box, ax.get_window_extent())
            if inside is None or inside.width < 1 or inside.height < 1:
                continue
            region = inside.padded(-1)
            artists = [*ax.lines, *ax.collections, *ax.patches, *ax.images]
            hit = [a for a in artists if a.get_visible() and covers(region, a)]
            if hit:
                out.append(f"legend {[t.get_text() for t in legend.get_texts()][:3]} covers "
                           f"{len(hit)} plotted artist(s) of panel {ax.get_title()!r}")
    return out


def crowded_panels(fig: plt.Figure) -> list[str]:
    out = []
    for ax in fig.axes:
        labels = set(ax.get_legend_handles_labels()[1])
        bold = [line for line in ax.lines if len(line.get_xydata()) > 2
                and line.get_linestyle() not in ("None", "", " ")
                and (line.get_alpha() is None or line.get_alpha() > 0.5)]
        if len(labels) > MAX_LABELS:
            out.append(f"panel {ax.get_title()!r} labels {len(labels)} series (> {MAX_LABELS})")
        if len(bold) > MAX_BOLD:
            out.append(f"panel {ax.get_title()!r} draws {len(bold)} prominent lines (> {MAX_BOLD})")
    return out


def legibility_problems(fig: plt.Figure) -> list[str]:
    texts = drawn_texts(fig)
    return [*small_text(fig, texts), *overlapping_text(texts), *legends_on_data(fig),
            *crowded_panels(fig)]


# --- the book's figures, called as the pages call them ----------------------------------------


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Callable[[str], Any]:
    """`smoke(name)`: the smoke-scale result of an experiment, run once per module."""
    root = tmp_path_factory.mktemp("legible_runs")
    return functools.cache(lambda name: experiments.run(name, "smoke", root=root))


def _derivatives(smoke):
    from relu_tanh.figures import derivatives as fig
    s = smoke("derivatives").summary
    return {"derivatives": fig.derivatives,
            "derivative_vs_input_scale": lambda: fig.derivative_vs_input_scale(s, ("sigmoid", "tanh", "relu"))}


def _saturation(smoke):
    from relu_tanh.figures import saturation as fig
    res = smoke("saturation")
    s = res.summary
    return {"saturation_mlp": lambda: fig.saturation_over_training(s, "mlp"),
            "saturation_cnn": lambda: fig.saturation_over_training(s, "cnn"),
            "preactivation_histograms": lambda: fig.preactivation_histograms(s, "cnn", "tanh",
                                                                             res.config.hist_range)}


def _sparsity(smoke):
    from relu_tanh.figures import sparsity as fig
    res = smoke("sparsity")
    return {"dead_units": lambda: fig.dead_units(res.summary),
            "generalisation_gaps": lambda: fig.generalisation_gaps(res.summary, res.config.activations)}


def _through_time(smoke):
    from relu_tanh.claims import through_time as rules
    from relu_tanh.figures import through_time as fig
    res = smoke("through_time")
    s = res.summary
    return {"gradient_map": lambda: fig.gradient_map(s),
            "norm_at_horizon": lambda: fig.norm_at_horizon(s, rules.VANISHED),
            "hidden_magnitude": lambda: fig.hidden_magnitude(
                s, tuple(g for g in res.config.map.scales if g >= 0.7)),
            "divergence_vs_lr": lambda: fig.divergence_vs_lr(s),
            "mse_vs_lr": lambda: fig.mse_vs_lr(s)}


def _powers(smoke):
    from relu_tanh.figures import powers as fig
    s = smoke("powers").summary
    spec, pasc, shared = s["spectra"], s["pascanu"], s["shared"]
    return {"entries_vs_spectrum": lambda: fig.entries_vs_spectrum(spec),
            "power_norms": lambda: fig.power_norms(spec),
            "transient_growth": lambda: fig.transient_growth(spec),
            "pascanu_curves": lambda: fig.pascanu_curves(pasc),
            "pascanu_rates": lambda: fig.pascanu_rates(pasc),
            "shared_curves": lambda: fig.shared_curves(shared),
            "shared_finals": lambda: fig.shared_finals(shared),
            "shared_rates": lambda: fig.shared_rates(shared)}


def _gates(smoke):
    from relu_tanh.experiments import gates
    from relu_tanh.figures import gates as fig
    from relu_tanh.training import sequences
    s = smoke("gates").summary
    base = sequences.ADDING_BASELINE_MSE
    return {"ablation_mse": lambda: fig.ablation_mse(s, base, "smoke"),
            "ablation_lr_grid": lambda: fig.ablation_lr_grid(s, base, "smoke"),
            "gate_histograms": lambda: fig.gate_histograms(s["traces"], gates.NEAR, gates.STATE_RANGE),
            "gate_unit_means": lambda: fig.gate_unit_means(s["traces"], gates.NEAR)}


def _debate(smoke):
    from relu_tanh.experiments import debate
    from relu_tanh.figures import debate as fig
    from relu_tanh.nets import recurrent
    res = smoke("debate")
    s, cfg, labels = res.summary, res.config, recurrent.LABELS
    opt = cfg.optimizers[-1]
    adding = next(t for t in cfg.tasks if t.startswith("adding"))
    return {"debate_success": lambda: fig.debate_success(s, "equal", opt, labels),
            "debate_curves": lambda: fig.debate_curves(s, adding, "equal", opt, cfg.kinds, labels,
                                                       target=debate.SOLVED_FRACTION / 6,
                                                       ylabel="test MSE")}


def _cost(smoke):
    from relu_tanh.figures import cost as fig
    return {"cost_per_element": lambda: fig.cost_per_element(smoke("cost_micro").summary),
            "step_share": lambda: fig.step_share(smoke("cost_step").summary)}


def _krizhevsky(smoke):
    from relu_tanh.claims import krizhevsky as rule
    from relu_tanh.figures import krizhevsky as fig
    res = smoke("krizhevsky")
    s, cfg = res.summary, res.config
    return {"lr_sweep": lambda: fig.lr_sweep(s, cfg.threshold),
            "training_curves": lambda: fig.training_curves(s, cfg.threshold),
            "ratio_vs_threshold": lambda: fig.ratio_vs_threshold(s, cfg.thresholds, rule.PAPER_RATIO),
            "pending": lambda: fig.pending("no evaluation seed has all of its runs finished yet"),
            # the stored paper-scale runs (results/), with this smoke run as the stand-in
            "paper_curves": lambda: fig.training_curves(_paper().summary, _paper().config.threshold),
            "ladder": lambda: fig.ladder(_paper().summary, rule.PAPER_RATIO, s, cfg.n_train)}


def _paper():
    """The repository's stored paper-scale Figure 1 record, read in place."""
    from relu_tanh import experiments
    from relu_tanh.store import results
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(results.RESULTS_ENV, str(Path(__file__).parents[1] / "results"))
        paper = experiments.load_stored("krizhevsky", "paper")
    if paper is None:
        pytest.skip("no paper-scale evaluation seed of Figure 1 is stored yet")
    return paper


def _vanishing(smoke):
    from relu_tanh.figures import vanishing as fig
    init, trained = smoke("vanishing_init"), smoke("vanishing_train")
    return {"layer_gradients": lambda: fig.layer_gradients(init.summary, "mlp", max(init.config.depths),
                                                           len(init.seeds)),
            "ratio_vs_depth_mlp": lambda: fig.ratio_vs_depth(init.summary, "mlp"),
            "ratio_vs_depth_cnn": lambda: fig.ratio_vs_depth(init.summary, "cnn"),
            "error_vs_depth": lambda: fig.error_vs_depth(trained.summary),
            "gradients_during_training": lambda: fig.gradients_during_training(
                trained.summary, "mlp", "xavier", max(trained.config.depths))}


CHAPTERS = {"derivatives": (_derivatives, ["derivatives", "derivative_vs_input_scale"]),
            "saturation": (_saturation, ["saturation_mlp", "saturation_cnn", "preactivation_histograms"]),
            "sparsity": (_sparsity, ["dead_units", "generalisation_gaps"]),
            "through_time": (_through_time, ["gradient_map", "norm_at_horizon", "hidden_magnitude",
                                             "divergence_vs_lr", "mse_vs_lr"]),
            "powers": (_powers, ["entries_vs_spectrum", "power_norms", "transient_growth",
                                 "pascanu_curves", "pascanu_rates", "shared_curves", "shared_finals",
                                 "shared_rates"]),
            "gates": (_gates, ["ablation_mse", "ablation_lr_grid", "gate_histograms", "gate_unit_means"]),
            "debate": (_debate, ["debate_success", "debate_curves"]),
            "cost": (_cost, ["cost_per_element", "step_share"]),
            "krizhevsky": (_krizhevsky, ["lr_sweep", "training_curves", "ratio_vs_threshold", "pending",
                                         "paper_curves", "ladder"]),
            "vanishing": (_vanishing, ["layer_gradients", "ratio_vs_depth_mlp", "ratio_vs_depth_cnn",
                                       "error_vs_depth", "gradients_during_training"])}
CASES = [(chapter, name) for chapter, (_, names) in CHAPTERS.items() for name in names]


@pytest.mark.parametrize("chapter,name", CASES, ids=[f"{c}-{n}" for c, n in CASES])
def test_book_figure_is_legible(smoke, chapter, name):
    figures = CHAPTERS[chapter][0](smoke)
    assert list(figures) == CHAPTERS[chapter][1]
    fig = figures[name]()
    try:
        problems = legibility_problems(fig)
    finally:
        plt.close(fig)
    assert not problems, f"{chapter}.{name}:\n" + "\n".join(problems)


# --- the checks themselves catch what they should ---------------------------------------------


def test_checks_catch_small_overlapping_text_and_a_legend_on_data():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(range(10), range(10), label="a")
    ax.legend(loc="center", fontsize=6)
    ax.text(0.1, 0.9, "first", transform=ax.transAxes)
    ax.text(0.12, 0.9, "second", transform=ax.transAxes)
    problems = "\n".join(legibility_problems(fig))
    plt.close(fig)
    assert "px (<" in problems and "overlap" in problems and "covers" in problems


def test_checks_pass_a_clean_figure_and_count_crowded_panels():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    for k in range(MAX_LABELS + 2):
        ax.plot(range(5), np.arange(5) + k, label=f"line {k}")
    fig.legend(loc="outside right upper")
    problems = legibility_problems(fig)
    plt.close(fig)
    assert problems == [f"panel '' labels {MAX_LABELS + 2} series (> {MAX_LABELS})"]
