"""The book's chapter order, read from `_toc.yml`: the one place it is written down.

Experiments and claims are found by importing every module of their packages (one per chapter,
named after its page), so nothing else lists the chapters; this module only orders them. A copy
of the package installed without the repository has no `_toc.yml`: every experiment and claim is
still there, listed alphabetically instead of in reading order.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

TOC = Path(__file__).resolve().parents[3] / "_toc.yml"  # the repository root (editable install)
# `root: book/intro` and every `- file: book/NAME` entry, in order, whether under parts or not:
# the subset of YAML the toc uses, so the package needs no YAML parser.
ENTRY = re.compile(r"^\s*(?:-\s*)?(?:root|file):\s*book/([\w-]+)\s*$", re.MULTILINE)


@functools.cache
def order(toc: Path = TOC) -> tuple[str, ...]:
    """Every page (its name under book/) in reading order; empty without a `_toc.yml`."""
    return tuple(ENTRY.findall(toc.read_text())) if toc.exists() else ()


def position(chapter: str) -> tuple[int, str]:
    """A sort key: a chapter's place in the book; one the toc lacks goes after all, by name."""
    pages = order()
    return (pages.index(chapter) if chapter in pages else len(pages), chapter)
