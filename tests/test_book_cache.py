"""The book's execution cache is kept per page (relu_tanh.book_cache): a page loses its executed
copy in the jupyter-cache only when what it shows changed, never for an edit elsewhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

from relu_tanh import book_cache, experiments
from relu_tanh.store import results, sources

PAGES = book_cache.pages()


def ledger_pages() -> set[str]:
    """The pages that show every experiment (the opening page's table, the verdicts)."""
    everything = set(experiments.names())
    return {n for n, p in PAGES.items() if set(book_cache.shown(n, book_cache.page_code(p))[0]) == everything}


@pytest.fixture
def build(tmp_path) -> Path:
    """A smoke-scale build folder as after a build: keys written, and an executed copy of every
    page in its jupyter-cache (a one-cell stand-in: what is kept or removed is what counts)."""
    build = tmp_path / "_build"
    assert sorted(book_cache.refresh(build, "smoke")) == sorted(PAGES)  # a first build runs every page
    cache = get_cache(build / ".jupyter_cache")
    for name, path in PAGES.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"page = {name!r}")])
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(path)), check_validity=False)
    (build / ".doctrees").mkdir()
    return build


def cached(build: Path) -> set[str]:
    return {Path(r.uri).stem for r in get_cache(build / ".jupyter_cache").list_cache_records()}


def test_an_unchanged_book_keeps_every_page(build):
    assert book_cache.refresh(build, "smoke") == []
    assert cached(build) == set(PAGES) and (build / ".doctrees").is_dir()
    assert json.loads((build / book_cache.KEYS_FILE).read_text()) == book_cache.page_keys("smoke")


def test_another_scale_re_executes_every_page(build):
    assert sorted(book_cache.refresh(build, "book")) == sorted(PAGES)
    assert cached(build) == set() and not (build / ".doctrees").exists()  # Sphinx reads all again


def test_a_version_bump_re_executes_only_the_pages_that_show_it(build, set_version):
    ledger = ledger_pages()
    assert ledger and len(ledger) < len(PAGES) // 2
    set_version("powers", experiments.get("powers").version + 1)
    stale = set(book_cache.refresh(build, "smoke"))
    assert stale == {"powers"} | ledger
    assert cached(build) == set(PAGES) - stale


def test_a_stored_run_re_executes_only_the_pages_that_show_it(build):
    stored = results.record_path(results.results_dir(), "gates", "paper")
    stored.parent.mkdir(parents=True)
    stored.write_text("{}")
    assert set(book_cache.refresh(build, "smoke")) == {"gates"} | ledger_pages()


def test_a_new_figure1_span_re_executes_its_page(build):
    """The Figure 1 page shows the CPU units' progress, read from results/krizhevsky/paper-runs/."""
    span = results.results_dir() / "krizhevsky" / "paper-runs" / "2012-relu-lr0.001-seed1000.json"
    span.parent.mkdir(parents=True)
    span.write_text("{}")
    assert set(book_cache.refresh(build, "smoke")) == {"krizhevsky"} | ledger_pages()


def test_a_comment_re_executes_only_the_pages_whose_key_covers_the_module(build, tmp_path, monkeypatch):
    """With the package read from a copy: a comment in a module no page's key covers (one only
    experiments run) re-executes nothing; one in a module some pages show their results with
    re-executes exactly those."""
    copy = tmp_path / "relu_tanh"
    shutil.copytree(sources.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    monkeypatch.setattr(sources, "PACKAGE_DIR", copy)
    assert book_cache.refresh(build, "smoke") == []  # the same source, read elsewhere
    covers = {name: set(book_cache.page_sources(name, book_cache.page_code(path))) for name, path in PAGES.items()}
    nobody = sorted(set(copy.rglob("*.py")) - set.union(*covers.values()))
    some = sorted(f for f in set.union(*covers.values()) if 0 < sum(f in c for c in covers.values()) < len(PAGES) // 2)
    assert nobody and some, "expected modules that no page, and that a few pages, show results with"
    for module, expected in [(nobody[0], set()), (some[0], {n for n, c in covers.items() if some[0] in c})]:
        module.write_text(module.read_text() + "\n# a comment\n")
        assert set(book_cache.refresh(build, "smoke")) == expected, module.relative_to(copy)
    assert cached(build) == set(PAGES) - expected
