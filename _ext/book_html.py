"""A Sphinx extension for the book's HTML pages: no JavaScript errors from the theme.

- Under Jupyter Book 1.0.4 with Sphinx 7.4, sphinx-thebe and sphinx-togglebutton register their
  inline configuration scripts twice, and the second `const THEBE_JS_URL = ...` is an error
  ("Identifier has already been declared") on every page: exact repeats are dropped.
- sphinx-book-theme leaves the colour mode empty on a reader's first visit, which
  pydata-sphinx-theme reports as a console error ("Got invalid theme mode"): it starts as "auto".
"""

from __future__ import annotations

from typing import Any


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


def setup(app: Any) -> dict[str, Any]:
    app.add_js_file(None, body=DEFAULT_MODE, priority=100)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
