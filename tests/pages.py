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
# from the checkout this page sits in, else from the repository ($RELU_TANH_REPOSITORY; the
# published notebook has its URL written in).
import importlib.util, os, pathlib
if importlib.util.find_spec("relu_tanh") is None:
    _source = ".." if pathlib.Path("../pyproject.toml").exists() else "git+" + os.environ["RELU_TANH_REPOSITORY"]
    %pip install --quiet $_source'''


def run_install_cell(source: str) -> tuple[list, dict]:
    """Run an install cell as IPython would, in the current folder, with %pip recorded and not
    run: the (magic, line) calls, unexpanded, and the cell's namespace."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls = []

    class Shell:
        def run_line_magic(self, name, line, _stack_depth=None):
            calls.append((name, line))

        def var_expand(self, line, depth=0):
            return line

    namespace = {"get_ipython": Shell}
    exec(TransformerManager().transform_cell(source), namespace)  # noqa: S102 - the cell's own code
    return calls, namespace


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
