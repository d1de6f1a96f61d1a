"""What readers see, checked without a browser: numbers and tables as the library prints them,
the pages' hidden cells, and the execution cache that keeps a rebuild quick and correct."""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib
import pytest
from markdown_it import MarkdownIt

from pages import HIDDEN, INSTALL_CELL, PAGES, code_cells, is_plumbing, run_install_cell, tags
from relu_tanh import book, claims
from relu_tanh.figures import style
from relu_tanh.store import results
from relu_tanh.claims import fmt

GFM = MarkdownIt("commonmark").enable("table")


def cells_of(markdown: str) -> list[list[str]]:
    """The rendered table's cells, row by row (as a reader sees them)."""
    html = GFM.render(markdown)
    assert "<table>" in html, f"not a table:\n{markdown}"
    return [re.findall(r"<t[hd]>(.*?)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)]


# --- numbers ----------------------------------------------------------------------------------


def test_counts_print_as_integers():
    assert fmt(260) == "260" and fmt(260.0) == "260" and fmt(5000) == "5,000"
    assert fmt(2.0) + " of " + fmt(4.0) + " settings" == "2 of 4 settings"
    assert fmt(2.5) == "2.50" and fmt(0.004) == "4.0×10⁻³" and fmt(0.0) == "0"


def test_undefined_numbers_print_as_what_they_mean():
    never = "never reached in 10 epochs"
    assert fmt(math.inf, inf=never) == never
    assert fmt(-math.inf) == "minus unbounded"
    assert fmt(math.nan, nan="not defined: no seed reached it") == "not defined: no seed reached it"
    assert "nan" not in fmt(math.nan) and "inf" not in fmt(math.inf)
    with pytest.raises(TypeError, match="number"):
        fmt("0.5")  # type: ignore[arg-type]


# --- tables ----------------------------------------------------------------------------------


def test_table_escapes_pipes_and_words_undefined_values():
    md = book.table(["activation", "max |autograd - analytic|", "epochs"],
                    [["tanh", 1e-7, math.inf], ["relu", 0.0, 260.0]]).data
    rows = cells_of(md)
    assert rows[0] == ["activation", "max |autograd - analytic|", "epochs"]
    assert rows[1] == ["tanh", "1.0×10⁻⁷", "unbounded"] and rows[2] == ["relu", "0", "260"]
    with pytest.raises(ValueError, match="3 cells"):
        book.table(["a", "b", "c"], [[1, 2]])


def test_a_cell_with_pipes_and_newlines_stays_one_cell():
    md = book.table(["claim", "chapter"], [["tanh's slope vanishes for |z| > 1.82\nat the edges", "x"]]).data
    assert cells_of(md)[1] == ["tanh's slope vanishes for |z| &gt; 1.82 at the edges", "x"]


def test_titled_tables_each_keep_their_title_and_rows():
    md = book.tables({"adding-50": (["model", "success"], [["LSTM", 1.0]]),
                      "mnist1d": (["model", "success"], [["GRU", 0.5], ["IRNN", 0.0]])}).data
    blocks = md.split("\n\n")
    assert blocks[0] == "**adding-50**" and blocks[2] == "**mnist1d**"
    assert blocks[3].count("\n") == 3 and "| GRU | 0.50 |" in blocks[3]


def test_verdict_table_keeps_its_columns_when_a_reason_has_pipes():
    c = claims.CLAIMS["tanh-edge"]
    v = claims.Verdict("holds", "tanh' < 0.1 for |z| > 1.82, a share of 0.07", {"x": 1.0})
    rows = cells_of(claims.markdown_table([(c, v)], "smoke"))
    assert len(rows[1]) == len(rows[0]) == 4
    assert rows[1][0].endswith(f"&lt;{c.chapter}&gt;</code>") and "|z| &gt; 1.82" in rows[1][3]
    assert rows[1][2] == "n/a"


# --- figures ---------------------------------------------------------------------------------


def test_house_style_palette_is_colour_blind_safe_and_figures_stay_readable():
    assert set(style.COLORS.values()) <= set(style.OKABE_ITO)
    fig, axes = style.subplots(4)
    assert fig.get_figwidth() <= style.MAX_WIDTH and matplotlib.rcParams["font.size"] >= 10
    matplotlib.pyplot.close(fig)


def test_an_underflow_is_marked_not_drawn():
    fig, (ax,) = style.subplots()
    style.log_line(ax, [1, 2, 3], [1e-3, 0.0, 1e-5], color="k", label="seed 0")
    line, marks = ax.lines
    assert math.isnan(line.get_ydata()[1]) and list(marks.get_xdata()) == [2]
    assert ax.get_legend_handles_labels()[1] == ["seed 0", style.UNDERFLOW]
    matplotlib.pyplot.close(fig)


# --- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_first_cell_installs_the_library_and_is_hidden(page: Path):
    first = code_cells(page)[0]
    assert first.source == INSTALL_CELL and "remove-cell" in tags(first), page.name


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_plumbing_cells_are_hidden(page: Path):
    shown = [c.source for c in code_cells(page) if not tags(c) & HIDDEN and is_plumbing(c.source)]
    assert not shown, f"{page.name}: cells that only glue are shown:\n" + "\n---\n".join(shown)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_no_shown_cell_glues(page: Path):
    """Glue is plumbing even beside a figure or table: it goes in a hidden cell of its own."""
    shown = [c.source for c in code_cells(page) if not tags(c) & HIDDEN and "glue(" in c.source]
    assert not shown, f"{page.name}: shown cells that glue:\n" + "\n---\n".join(shown)


def test_the_intro_opens_with_the_verdicts_not_plumbing():
    intro = next(p for p in PAGES if p.stem == "intro")
    first = next(c for c in code_cells(intro) if not tags(c) & HIDDEN)
    assert "glue" not in first.source and "book.overview(" in first.source


def test_install_cell_installs_from_the_checkout_when_the_library_is_missing(monkeypatch, tmp_path):
    import importlib.util

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    calls, namespace = run_install_cell(INSTALL_CELL)
    assert calls == [("pip", "install --quiet $_source")] and namespace["_source"] == ".."


def test_each_table_column_has_one_number_format():
    md = book.table(["ratio", "mse", "count", "mixed"],
                    [[1.0, 9.5e-4, 3, "not solved"], [1.333, 0.17, 12.0, 2.5],
                     [math.nan, 0.0, 1000, 7]]).data
    rows = cells_of(md)[1:]
    assert [r[0] for r in rows] == ["1.00", "1.33", "not defined"]
    assert [r[1] for r in rows] == ["9.5×10⁻⁴", "1.7×10⁻¹", "0"]
    assert [r[2] for r in rows] == ["3", "12", "1,000"]
    assert [r[3] for r in rows] == ["not solved", "2.50", "7.00"]


def test_stored_runs_say_when_figure_1_is_in_progress(monkeypatch):
    def progress(spans: int, eval_done: int, ladder_done: int) -> dict:
        arm = {"eval_done": eval_done, "eval_total": 5, "ladder_done": ladder_done, "ladder_total": 15}
        return {"spans": spans, "arms": [arm, arm]}
    monkeypatch.setattr(book.experiments, "load_stored", lambda name, scale: None)
    monkeypatch.setattr(book, "_figure1_progress", lambda: progress(12, 5, 3))
    text = book.stored_runs().data
    assert text.startswith("No experiment has a complete record") and "(12 spans" in text
    assert "10 of 10 evaluation runs and 6 of 30 ladder runs finished" in text
    monkeypatch.setattr(book, "_figure1_progress", lambda: progress(0, 0, 0))
    assert "in progress" not in book.stored_runs().data
    monkeypatch.setattr(book, "_figure1_progress", lambda: progress(40, 5, 15))
    assert "in progress" not in book.stored_runs().data


def test_a_record_names_every_cpu_its_spans_ran_on():
    span = {"device_name": "CPU: x86_64, 2 cores", "torch": "2.13.0+cpu", "git_commit": "a" * 40,
            "date": "2026-12-08T01:00:00+00:00"}
    p = {**span, "cpu_model": "AMD EPYC",
         "spans": {"run-a": [{**span, "cpu_model": "Xeon"}], "run-b": [{**span, "cpu_model": "AMD EPYC"}]}}
    assert book._machine(p).startswith("AMD EPYC and Xeon (CPU: x86_64, 2 cores), torch 2.13.0+cpu")
    assert book._machine(span) == "CPU: x86_64, 2 cores, torch 2.13.0+cpu"
    p["spans"]["run-a"][0]["date"] = "2026-12-07T23:00:00+00:00"
    assert book._when([p, {**span, "git_commit": "b" * 40}]) == \
        f"commits `{'a' * 12}`, `{'b' * 12}`, 2026-12-07 to 2026-12-08"
    assert book._when([span]) == f"commit `{'a' * 12}`, 2026-12-08"
