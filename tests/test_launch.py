"""Launch buttons (_ext/book_html.py): the repository comes from $RELU_TANH_REPOSITORY alone, and
Colab opens the executed notebook the build publishes, whose install cell names the repository."""

from __future__ import annotations

import re
from types import SimpleNamespace

import nbformat
import pytest

import book_html
from conftest import SMOKE_REPOSITORY
from pages import INSTALL_CELL, PAGES, run_install_cell

URL = "https://github.com/someone/relu-tanh"
# Jupyter Book's own defaults for these options, which name its repository.
JUPYTER_BOOK_OPTIONS = {
    "search_bar_text": "Search this book...",
    "launch_buttons": {"notebook_interface": "classic", "binderhub_url": "", "colab_url": ""},
    "repository_url": "https://github.com/executablebooks/jupyter-book", "repository_branch": "master",
    "path_to_docs": "",
}


def theme_options(monkeypatch, **env: str) -> dict:
    """The theme options the extension sets from jupyter-book's, with only `env` set."""
    for name in (book_html.REPOSITORY_ENV, book_html.BRANCH_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = SimpleNamespace(html_theme_options=dict(JUPYTER_BOOK_OPTIONS))
    book_html.set_launch_buttons(None, config)
    return config.html_theme_options


def test_the_repository_and_its_branch_come_from_the_environment(monkeypatch):
    options = theme_options(monkeypatch, RELU_TANH_REPOSITORY=URL, RELU_TANH_BRANCH="publish")
    assert (options["repository_url"], options["repository_branch"]) == (URL, "publish")
    assert options["launch_buttons"]["binderhub_url"] and options["launch_buttons"]["colab_url"]
    assert options["search_bar_text"] == JUPYTER_BOOK_OPTIONS["search_bar_text"]
    assert theme_options(monkeypatch, RELU_TANH_REPOSITORY=URL)["repository_branch"] == "main"


def test_without_the_variable_there_are_no_launch_buttons_and_no_repository(monkeypatch):
    options = theme_options(monkeypatch)
    assert not set(options) & set(book_html.REPOSITORY_OPTIONS), options


@pytest.mark.parametrize("bad", ["github.com/someone/relu-tanh", "http://github.com/someone/relu-tanh",
                                 "https://gitlab.com/someone/relu-tanh", "https://github.com/someone",
                                 "https://github.com/someone/relu-tanh/tree/main",
                                 "https://github.com/someone/relu-tanh.git"])
def test_a_repository_that_is_not_on_github_is_refused_in_one_line(monkeypatch, bad):
    with pytest.raises(SystemExit, match=re.escape("must be https://github.com/<owner>/<repo>")) as err:
        theme_options(monkeypatch, RELU_TANH_REPOSITORY=bad)
    assert "\n" not in str(err.value)


def test_colab_opens_the_published_notebook_which_installs_from_the_repository(monkeypatch, tmp_path):
    notebook = tmp_path / "html" / "_sources" / "book" / "intro.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Intro"),
                                                   nbformat.v4.new_code_cell(INSTALL_CELL)]), notebook)
    app = SimpleNamespace(outdir=str(tmp_path / "html"), config=SimpleNamespace(
        html_theme_options={"repository_url": URL, "repository_branch": "main"}))
    binder = {"text": "Binder", "url": "https://mybinder.org/v2/gh/someone/relu-tanh/main?urlpath=lab/tree/book/intro.md"}
    colab = {"text": "Colab", "url": f"{book_html.COLAB}/github/someone/relu-tanh/blob/main/book/intro.md"}
    context = {"ipynb_source": "book/intro.ipynb", "header_buttons": [{"type": "group", "buttons": [binder, colab]}]}
    book_html.launch_published_notebook(app, "book/intro", "page.html", context, None)
    assert colab["url"] == f"{book_html.COLAB}/github/someone/relu-tanh/blob/gh-pages/_sources/book/intro.ipynb"
    assert binder["url"].endswith("/main?urlpath=lab/tree/book/intro.md")

    monkeypatch.delenv(book_html.REPOSITORY_ENV, raising=False)  # as in Colab: no variable, no checkout
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    _, namespace = run_install_cell(nbformat.read(notebook, as_version=4).cells[1].source)
    assert namespace["_source"] == f"git+{URL}@main"


@pytest.mark.slow
def test_the_smoke_build_launches_every_page_from_the_repository(smoke_book):
    """The smoke book is built with RELU_TANH_REPOSITORY set (conftest.smoke_env)."""
    assert smoke_book.proc.returncode == 0, smoke_book.failure()
    html = smoke_book.html
    repo = SMOKE_REPOSITORY.removeprefix("https://github.com/")
    for page in PAGES:
        links = set(re.findall(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)/[^"]*)"',
                               (html / "book" / f"{page.stem}.html").read_text()))
        colab = f"{book_html.COLAB}/github/{repo}/blob/gh-pages/_sources/book/{page.stem}.ipynb"
        binder = f"https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/book/{page.stem}.md"
        assert links == {binder, colab}, page.stem
        published = nbformat.read(html / "_sources" / "book" / f"{page.stem}.ipynb", as_version=4)
        assert repr(f"git+{SMOKE_REPOSITORY}@main") in next(c for c in published.cells if c.cell_type == "code").source
    assert not [p.name for p in html.rglob("*.html") if "PLACEHOLDER" in p.read_text()]
