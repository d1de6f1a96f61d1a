"""The claims ledger: each claim of the article in our words, the chapter that tests it, the
measurement that decides it, and a function from measured results to a verdict.

`core` holds the machinery (statuses, verdicts, the ledger) and `stability` the seed bootstrap
that says how stable each verdict is. One module per chapter, named after its page, holds that chapter's verdict functions and their
thresholds; every module found here is imported in the book's order (`store.chapters`, read
from `_toc.yml`), which files every claim in `CLAIMS` in the order the book reads them.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..store import chapters
from . import stability
from .core import (CLAIMS, DECIDED, MATERIAL, STATUSES, Claim, Regions, Status, Verdict,
    claim, combine, fmt, ledger, markdown_table, rules_table, verdict)

MACHINERY = ("core", "stability")  # modules that are not a chapter's claims

for _name in sorted((m.name for m in pkgutil.iter_modules(__path__) if m.name not in MACHINERY),
                    key=chapters.position):
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["CLAIMS", "DECIDED", "MATERIAL", "STATUSES", "Claim", "Regions", "Status",
           "Verdict", "claim", "combine", "fmt", "ledger", "markdown_table", "rules_table",
           "stability", "verdict"]
