"""The rendered book in a real browser: headless Chromium loads every page of the smoke-scale
build from 127.0.0.1 and fails on anything a reader would see broken (see tests/browser.py).
The same checks are shown to catch each defect on a tiny broken site (tests/fixtures)."""

from __future__ import annotations

import os

import pytest

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
