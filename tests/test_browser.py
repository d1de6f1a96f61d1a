"""The rendered book in a real browser: headless Chromium loads every page of the smoke-scale
build from 127.0.0.1 and fails on anything a reader would see broken (see tests/browser.py).
The same checks are shown to catch each defect on a tiny broken site (tests/fixtures), and to
find no TeX in a search summary made as the book's search page makes it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import sphinx

import book_html
from browser import Browser, Site, broken_redirects, chromium_binary, html_pages, problems
from fixtures import broken_site

REQUIRED = bool(os.environ.get("RELU_TANH_REQUIRE_BROWSER"))  # set by .ci/run


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if chromium_binary() is None:
        if REQUIRED:
            pytest.fail("chromium is required here (apt-get install chromium)")
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory):
    with Site(broken_site.write(tmp_path_factory.mktemp("broken_site"))) as site:
        yield site


def kinds(site: Site, browser: Browser, page: str) -> set[str]:
    url = site.url + page
    return {p.kind for p in problems(site, url, browser.visit(url))}


def test_clean_fixture_page_passes(broken: Site, browser: Browser) -> None:
    url = broken.url + "index.html"
    assert problems(broken, url, browser.visit(url)) == []


@pytest.mark.parametrize("page", broken_site.DEFECTS)
def test_each_defect_is_caught(page: str, broken: Site, browser: Browser) -> None:
    expected = broken_site.DEFECTS[page][1]
    found = kinds(broken, browser, f"{page}.html")
    assert expected in found, f"{page}: expected {expected!r}, found {sorted(found)}"
    if page != "external_request":  # a refused request also logs a console error
        assert found == {expected} or page == "missing_image", found


# A result's page as the search fetches it: its math is still TeX, MathJax has not run.
RESULT = ('<div role="main"><p>The slope <span class="math notranslate nohighlight">\\(\\tanh\'(0) = 1\\)</span> '
          'of tanh.</p><div class="math notranslate nohighlight">\\[x^2\\]</div></div>')
SEARCH_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script>{patch}</script>
<script>const DOCUMENTATION_OPTIONS = {{}};</script>
<script src="doctools.js"></script><script src="searchtools.js"></script>
<script>document.addEventListener("DOMContentLoaded", () =>
  document.body.append(Search.makeSearchSummary({result}, ["tanh"], "")));</script></head><body></body></html>"""


def test_search_summaries_leave_out_math(browser: Browser, tmp_path: Path) -> None:
    """Sphinx's searchtools.js, patched as the book's search page is (_ext/book_html.py), summarises
    a result without its TeX: the summary is the page's words only."""
    for script in ("doctools.js", "searchtools.js"):
        shutil.copy(Path(sphinx.__file__).parent / "themes" / "basic" / "static" / script, tmp_path)
    (tmp_path / "index.html").write_text(SEARCH_PAGE.format(patch=book_html.SEARCH_SUMMARY, result=json.dumps(RESULT)))
    with Site(tmp_path) as site:
        found = browser.visit(site.url + "index.html")
        assert problems(site, site.url + "index.html", found) == []
    assert [t.strip() for t in found["text"]] == ["The slope  of tanh."]


@pytest.mark.slow
def test_the_smoke_books_search_page_is_patched(smoke_book) -> None:
    assert book_html.SEARCH_SUMMARY in (smoke_book.html / "search.html").read_text()


@pytest.mark.slow
def test_every_page_of_the_smoke_book(smoke_book, browser: Browser) -> None:
    html = smoke_book.html
    pages = html_pages(html)
    assert len(pages) >= 8, pages
    report = {}
    with Site(html) as site:
        for page in pages:
            rel = page.relative_to(html).as_posix()
            url = site.url + rel
            found = problems(site, url, browser.visit(url, screenshot=html / "_screenshots" /
                                                       rel.replace("/", "__").replace(".html", ".png")))
            if found:
                report[rel] = found
    if broken_redirects(html):
        report["redirects"] = broken_redirects(html)
    assert not report, "\n".join(f"{page}: {p.kind}: {p.detail}" for page, ps in report.items() for p in ps)
