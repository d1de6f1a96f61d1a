"""A Sphinx extension for the book's HTML pages: launch buttons, search summaries, no JavaScript
errors from the theme.

- Launch buttons (Binder, Colab) open a page from the repository named by $RELU_TANH_REPOSITORY
  (its branch: $RELU_TANH_BRANCH, default main); unset, pages have no launch buttons and no
  repository link. Binder opens the page's MyST source on that branch (through jupytext); Colab
  opens the executed notebook the build writes to _sources/, from the branch the built site is
  published on (gh-pages), and in that copy the hidden install cell names the repository.
- Glued values read in the weight of the prose around them (static/book.css).
- Search summaries are the text of each result's page, fetched as HTML before MathJax typesets
  it: its math (raw TeX) is left out, as Sphinx leaves out scripts and styles.
- Under Jupyter Book 1.0.4 with Sphinx 7.4, sphinx-thebe and sphinx-togglebutton register their
  inline configuration scripts twice, and the second `const THEBE_JS_URL = ...` is an error
  ("Identifier has already been declared") on every page: exact repeats are dropped.
- sphinx-book-theme leaves the colour mode empty on a reader's first visit, which
  pydata-sphinx-theme reports as a console error ("Got invalid theme mode"): it starts as "auto".
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

REPOSITORY_ENV, BRANCH_ENV = "RELU_TANH_REPOSITORY", "RELU_TANH_BRANCH"
GITHUB = re.compile(r"https://github\.com/[\w-]+/[\w.-]+(?<!\.git)")
PAGES_BRANCH = "gh-pages"  # where the built site (_build/html) is pushed, _sources/ included
COLAB = "https://colab.research.google.com"
REPOSITORY_OPTIONS = ("repository_url", "repository_branch", "path_to_docs", "launch_buttons")
# What every page's install cell (tests/pages.py) installs from outside a checkout; the published
# notebook names the repository instead, since a reader in Colab has no such variable.
INSTALL_FROM_ENV = f'"git+" + os.environ["{REPOSITORY_ENV}"]'


def repository() -> tuple[str, str] | None:
    """The repository's URL and branch from the environment, or None when it names none."""
    url = os.environ.get(REPOSITORY_ENV, "")
    if not url:
        return None
    if not GITHUB.fullmatch(url):  # SystemExit: Jupyter Book follows a ConfigError with tracebacks
        sys.exit(f"error: {REPOSITORY_ENV} must be https://github.com/<owner>/<repo> "
                 f"(Colab opens only GitHub), not {url!r}")
    return url, os.environ.get(BRANCH_ENV) or "main"


def set_launch_buttons(app: Any, config: Any) -> None:
    """The theme's repository and launch-button options, from the environment only (Jupyter
    Book's defaults name its own repository)."""
    options = {k: v for k, v in config.html_theme_options.items() if k not in REPOSITORY_OPTIONS}
    if found := repository():
        url, branch = found
        options.update(repository_url=url, repository_branch=branch, path_to_docs="", launch_buttons={
            "notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org", "colab_url": COLAB})
    config.html_theme_options = options


def publish_notebook(notebook: Path, url: str, branch: str) -> None:
    """Write the repository into the notebook's install cell (its first code cell)."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.source = cell.source.replace(INSTALL_FROM_ENV, repr(f"git+{url}@{branch}"))
    nbformat.write(nb, notebook)


def launch_published_notebook(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Colab opens the page's executed notebook, which the theme copied to _sources/, from the
    pages branch; that copy's install cell names the repository."""
    notebook = context.get("ipynb_source")  # set by the theme's launch buttons: only with a repository
    if notebook is None:
        return
    options = app.config.html_theme_options
    repo = options["repository_url"].removeprefix("https://github.com/")
    for group in context["header_buttons"]:
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = f"{COLAB}/github/{repo}/blob/{PAGES_BRANCH}/_sources/{notebook}"
    publish_notebook(Path(app.outdir, "_sources", notebook), options["repository_url"], options["repository_branch"])


# Runs before searchtools.js's Search.init: both wait for DOMContentLoaded, this one registered first.
SEARCH_SUMMARY = """document.addEventListener("DOMContentLoaded", () => {
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (html, anchor) => {
    const page = new DOMParser().parseFromString(html, "text/html");
    page.querySelectorAll(".math").forEach((el) => el.remove());
    return htmlToText(page.documentElement.outerHTML, anchor);
  };
});"""


def add_search_summary(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if pagename == "search":
        app.add_js_file(None, body=SEARCH_SUMMARY)


def _key(js: Any) -> tuple:
    """An inline script's filename is None or '' depending on who added it: both mean none."""
    return (getattr(js, "filename", str(js)) or None, tuple(sorted(getattr(js, "attributes", {}).items())))


def drop_repeated_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    seen: set[tuple] = set()
    kept = []
    for js in context.get("script_files", []):
        key = _key(js)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


DEFAULT_MODE = 'document.documentElement.dataset.mode ||= "auto";'


def add_static(app: Any, config: Any) -> None:
    """The book's own style sheet (static/book.css): glued values in the prose's weight."""
    config.html_static_path.append(str(Path(__file__).parent / "static"))
    app.add_css_file("book.css")


def setup(app: Any) -> dict[str, Any]:
    app.add_js_file(None, body=DEFAULT_MODE, priority=100)
    app.connect("config-inited", add_static)
    app.connect("config-inited", set_launch_buttons)
    app.connect("html-page-context", launch_published_notebook, priority=600)  # after the theme's (501)
    app.connect("html-page-context", add_search_summary)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # `make book` checks the variable before any work
    repository()
