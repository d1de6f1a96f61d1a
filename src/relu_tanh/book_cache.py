"""The book's execution cache, kept per page (`python -m relu_tanh.book_cache BUILD_DIR`, run by `make book`).

jupyter-cache (`execute_notebooks: cache`) re-executes a page when its code cells change. What
else a page's outputs depend on is its key (`page_key`), and `refresh` removes from the
jupyter-cache the records of exactly the pages whose key changed since the last build (the keys
are kept in BUILD_DIR/.page-keys.json). A page's key covers:

- the scale;
- each experiment it shows (`shown`) by what identifies its runs: name, scale, config and
  declared version, and its stored records in results/;
- the library source it shows them with: the modules its cells import and those of the claims
  it decides, followed through their imports, but not into `relu_tanh.experiments`, whose
  computations the versions cover; of those only the shown experiments' own modules count,
  without what they import, because their `summarize` (which no version covers: summaries are
  recomputed from stored seeds) and the page's helpers live there.

So a comment in a module no page imports (a trainer, say) re-executes nothing, one in a figure
module re-executes the pages that draw with it, and a version bump the pages that show that
experiment. A summary that changes through a helper it imports from below (a statistic in
`measure`) is not seen here; the pinned summaries (tests/test_pinned.py) fail on it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import sys
from pathlib import Path

from . import claims, experiments
from .store import results, sources
from .store.scales import resolve

BOOK_DIR = results.REPO_DIR / "book"
KEYS_FILE = ".page-keys.json"
NOT_FOLLOWED = ("relu_tanh.experiments",)  # computations: covered by declared versions


def pages(book_dir: Path = BOOK_DIR) -> dict[str, Path]:
    """The executable pages (MyST notebooks) by name: {"krizhevsky": book/krizhevsky.md, ...}."""
    return {p.stem: p for p in sorted(book_dir.glob("*.md")) if "format_name: myst" in p.read_text()}


def page_code(path: Path) -> ast.Module:
    """The page's code cells as one parsed module (an IPython magic or shell line read as `pass`)."""
    import jupytext

    lines = [line for c in jupytext.read(path).cells if c.cell_type == "code" for line in c.source.splitlines()]
    return ast.parse("\n".join(_pass_if_magic(line) for line in lines))


def _pass_if_magic(line: str) -> str:
    code = line.lstrip()
    return line[:len(line) - len(code)] + "pass" if code.startswith(("%", "!")) else line


def shown(name: str, code: ast.Module) -> tuple[list[str], list[str]]:
    """The experiments and claims page `name` shows: those whose chapter it is, those its code
    names in a string, and the experiments of those claims. A page that imports the library but
    names none (the opening page, the verdicts) shows the whole ledger."""
    strings = {n.value for n in ast.walk(code) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    exps = [e for e in experiments.names() if experiments.get(e).chapter == name or e in strings]
    claim_ids = [c for c in claims.CLAIMS if claims.CLAIMS[c].chapter == name or c in strings]
    exps += [e for c in claim_ids for e in claims.CLAIMS[c].experiments if e not in exps]
    if not exps and _library_imports(code):
        return experiments.names(), claims.CLAIMS.names()
    return exps, claim_ids


def _library_imports(code: ast.Module) -> list[str]:
    return [n for n in sources.imports(code) if sources.module_file(n) is not None]


def page_sources(name: str, code: ast.Module) -> list[Path]:
    """The library files page `name` shows its results with (see the module docstring)."""
    exps, claim_ids = shown(name, code)
    roots = _library_imports(code) + [claims.CLAIMS[c].decide.__module__ for c in claim_ids]
    files = sources.source_files(*roots, skip=NOT_FOLLOWED) if roots else []
    own = {f for e in exps if (f := sources.module_file(experiments.get(e).summarize.__module__))}
    return sorted({*files, *own})


def page_key(name: str, path: Path, scale: str) -> str:
    """sha256 over what page `name` shows beyond its own cells (see the module docstring)."""
    code = page_code(path)
    h = hashlib.sha256(f"{scale}\n".encode())
    for exp in shown(name, code)[0]:
        head = experiments.record_header(exp, scale, experiments.config_for(exp, scale))
        h.update(json.dumps(head, sort_keys=True).encode())
        folder = results.results_dir() / exp  # its records, and Figure 1's spans in paper-runs/
        for stored in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
            h.update(stored.relative_to(folder).as_posix().encode() + stored.read_bytes())
    h.update(sources.files_digest(page_sources(name, code)).encode())
    return h.hexdigest()[:16]


def page_keys(scale: str | None = None, book_dir: Path = BOOK_DIR) -> dict[str, str]:
    scale = resolve(scale)
    return {name: page_key(name, path, scale) for name, path in pages(book_dir).items()}


def refresh(build_dir: Path, scale: str | None = None, book_dir: Path = BOOK_DIR) -> list[str]:
    """Remove from `build_dir`'s jupyter-cache the executed copies of every page whose key
    changed since the last build, so those pages (and only those) re-execute; return their
    names. The Sphinx environment goes too when any page is stale, since Sphinx would otherwise
    not read an unchanged page again (it re-reads the rest from the cache in seconds)."""
    keys_file, now = build_dir / KEYS_FILE, page_keys(scale, book_dir)
    before = json.loads(keys_file.read_text()) if keys_file.is_file() else {}
    stale = [name for name, key in now.items() if before.get(name) != key]
    if stale:
        jupyter_cache = build_dir / ".jupyter_cache"
        if jupyter_cache.is_dir():
            from jupyter_cache import get_cache

            cache = get_cache(jupyter_cache)
            for record in cache.list_cache_records():
                if Path(record.uri).stem in stale:
                    cache.remove_cache(record.pk)
        shutil.rmtree(build_dir / ".doctrees", ignore_errors=True)
    build_dir.mkdir(parents=True, exist_ok=True)
    with results.atomic_file(keys_file) as f:
        f.write(json.dumps(now, indent=1).encode())
    return stale


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m relu_tanh.book_cache BUILD_DIR (the book's _build folder)")
    stale = refresh(Path(sys.argv[1]))
    print(f"execution cache: {'re-executing ' + ', '.join(stale) if stale else 'every page reused'}")
