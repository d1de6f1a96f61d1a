"""The tree reads as the architecture: layers import only downward, one module per chapter in
experiments/, claims/ and figures/, and the chapter order is read from `_toc.yml` alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from relu_tanh import claims, experiments
from relu_tanh.store import chapters, results

PACKAGE = results.PACKAGE_DIR
ROOT = PACKAGE.parents[1]
LAYERS = ("store", "data", "nets", "measure", "training", "experiments", "claims", "figures", "entry")
CHAPTER_PACKAGES = {"experiments": {"configs", "costs"}, "claims": {"core", "stability"}, "figures": {"style"}}


def layer(parts: tuple[str, ...]) -> str | None:
    """The layer of module relu_tanh.<parts>; None for the package's own __init__ (metadata)."""
    if not parts or parts == ("__init__",):
        return None
    return parts[0] if parts[0] in LAYERS else "entry"


def is_module(parts: tuple[str, ...]) -> bool:
    return PACKAGE.joinpath(*parts).with_suffix(".py").exists() or PACKAGE.joinpath(*parts).is_dir()


def imports(path: Path) -> list[tuple[str, ...]]:
    """Every module of this package that `path` imports, as parts below relu_tanh."""
    own = path.relative_to(PACKAGE).with_suffix("").parts
    base = own[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            parent = base[:len(base) - node.level + 1]
            mod = (*parent, *node.module.split(".")) if node.module else parent
            out += [mod] if node.module else [(*mod, a.name) if is_module((*mod, a.name)) else mod
                                              for a in node.names]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            out += [tuple(n.split(".")[1:]) for n in names if n.split(".")[0] == PACKAGE.name]
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_imports_run_only_downward(path):
    mine = layer(path.relative_to(PACKAGE).with_suffix("").parts)
    for target in imports(path):
        theirs = layer(target)
        if mine is None or theirs is None:
            continue
        assert LAYERS.index(theirs) <= LAYERS.index(mine), f"{path.name} ({mine}) imports {target} ({theirs})"


def test_a_chapter_figure_module_uses_only_the_style_beside_it():
    for path in (PACKAGE / "figures").glob("*.py"):
        siblings = {t[1] for t in imports(path) if t[:1] == ("figures",) and len(t) > 1}
        assert siblings <= {"style"}, f"figures/{path.name} imports {siblings}"


def test_every_chapter_module_is_named_after_a_page_of_the_toc():
    """`PAGE.py`, or `PAGE_PART.py` for a second module of one chapter (krizhevsky_units)."""
    pages = set(chapters.order())
    of_a_page = lambda name: any(name == p or name.startswith(f"{p}_") for p in pages)
    for package, infrastructure in CHAPTER_PACKAGES.items():
        names = {p.stem for p in (PACKAGE / package).glob("*.py")} - infrastructure - {"__init__"}
        orphans = sorted(n for n in names if not of_a_page(n))
        assert names and not orphans, f"{package}/: {orphans} have no page"


def test_the_toc_lists_every_page_once_in_parts():
    order = chapters.order()
    assert order[0] == "intro" and order[-1] == "references" and "verdicts" in order
    assert sorted(order) == sorted(p.stem for p in (ROOT / "book").glob("*.md"))
    assert len(set(order)) == len(order)
    assert (ROOT / "_toc.yml").read_text().count("- caption:") == 3


def test_experiments_and_claims_follow_the_toc():
    where = [chapters.position(experiments.get(n).chapter) for n in experiments.names()]
    assert where == sorted(where) and where[-1][0] < len(chapters.order())
    ledger = [chapters.position(c.chapter) for c in (claims.CLAIMS[i] for i in claims.CLAIMS)]
    assert ledger == sorted(ledger) and ledger[-1][0] < len(chapters.order())


def test_without_a_toc_every_experiment_is_still_found(monkeypatch, tmp_path):
    """An installed copy without the repository: the same registry, listed by chapter name."""
    assert chapters.order(tmp_path / "_toc.yml") == ()
    monkeypatch.setattr(chapters, "order", lambda toc=None: ())
    names = experiments.names()
    assert sorted(names) == sorted(experiments.EXPERIMENTS.names())
    assert [experiments.get(n).chapter for n in names] == sorted(experiments.get(n).chapter for n in names)
