"""What every book page must look like to a reader, checked on the MyST source: the first code
cell is the hidden install cell, and plumbing cells (glue only, nothing shown) are hidden."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in (ROOT / "book").glob("*.md") if "format_name: myst" in p.read_text())
HIDDEN = {"remove-input", "remove-cell"}

INSTALL_CELL = '''\
# Opened outside the book's environment (Binder, Colab, a fresh kernel)? Install the library:
# from the checkout this page sits in, else from the repository (set its URL in _config.yml).
import importlib.util, pathlib
if importlib.util.find_spec("relu_tanh") is None:
    _source = ".." if pathlib.Path("../pyproject.toml").exists() else "git+https://github.com/PLACEHOLDER-set-repository-url/relu-tanh"
    %pip install --quiet $_source'''


def code_cells(page: Path) -> list:
    return [c for c in jupytext.read(page).cells if c.cell_type == "code"]


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def is_plumbing(source: str) -> bool:
    """A cell that glues values and shows nothing: it calls glue, runs no experiment (a setup
    cell that runs one shows the reader how), and its last statement is not an expression that
    displays something (a glue call displays nothing)."""
    if "experiments.run(" in source:
        return False
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics: not plumbing by this rule
        return False
    glues = any(isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) == "glue"
                for n in ast.walk(ast.Module(body=body, type_ignores=[])))
    last = body[-1] if body else None
    shows = isinstance(last, ast.Expr) and not (
        isinstance(last.value, ast.Call) and getattr(last.value.func, "attr", "") == "glue")
    return glues and not shows
