"""Which source files of this package a module runs, and a hash over them.

A stored record is identified by its experiment's declared version, not by these files
(`results`); the hash goes into each seed's provenance for information, and the book's
execution cache (`relu_tanh.book_cache`) uses `source_files` to find the library code a page
shows its results with.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/relu_tanh


def source_files(*modules: str, skip: tuple[str, ...] = ()) -> list[Path]:
    """The modules' files and every file of this package they import, transitively (found by
    reading the import statements, including those inside functions), with their packages'
    __init__ files. Modules named in `skip`, or inside a package named there, are neither
    counted nor followed. A module outside the package (a test double) counts with what it
    imports; one without a file (defined in a notebook) counts as the whole package."""
    todo = []
    for module in modules:
        start = module_file(module) or Path(getattr(sys.modules.get(module), "__file__", None) or "")
        if not start.is_file():
            return sorted(PACKAGE_DIR.rglob("*.py"))
        todo.append((start, module))
    seen: dict[Path, str] = {}
    while todo:
        path, name = todo.pop()
        if path in seen or not path.is_file() or _skipped(name, skip):
            continue
        seen[path] = name
        names = [*_package_parents(name), *_file_imports(path.read_bytes(), name, path.name == "__init__.py")]
        todo += [(f, n) for n in names if not _skipped(n, skip) and (f := module_file(n)) is not None]
    return sorted(seen)


def _skipped(name: str, skip: tuple[str, ...]) -> bool:
    return any(name == s or name.startswith(f"{s}.") for s in skip)


def module_file(name: str) -> Path | None:
    """The source file of `name` if it is a module of this package."""
    parts = name.split(".")
    if parts[0] != PACKAGE_DIR.name:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@lru_cache(maxsize=None)
def _file_imports(source: bytes, name: str, is_package: bool) -> tuple[str, ...]:
    """`imports`, parsed once per content of a file (the book's cache walks each file many times)."""
    return tuple(imports(source, name, is_package))


def imports(source: str | bytes | ast.AST, name: str = "", is_package: bool = False) -> list[str]:
    """Absolute names of what `source` (the module `name`, as text or parsed) imports: modules,
    or a module's names."""
    package = name if is_package else name.rpartition(".")[0]
    tree = source if isinstance(source, ast.AST) else ast.parse(source)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            out += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return out


def files_digest(files: list[Path]) -> str:
    """sha256 over the files' package-relative names and contents (16 hex digits)."""
    h = hashlib.sha256()
    for path in files:
        name = path.relative_to(PACKAGE_DIR) if path.is_relative_to(PACKAGE_DIR) else path.name
        h.update(Path(name).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=None)
def code_fingerprint(module: str = PACKAGE_DIR.name) -> str:
    """sha256 over the source the module runs (`source_files`; the whole package by default).
    Provenance only: whether a record is reused is decided by the experiment's version."""
    files = source_files(module) if module != PACKAGE_DIR.name else sorted(PACKAGE_DIR.rglob("*.py"))
    return files_digest(files)
