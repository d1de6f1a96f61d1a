"""The claims ledger: each claim of the article in our words, the chapter that tests it, the
measurement that decides it, and a function from measured results to a verdict.

One module per chapter holds that chapter's verdict functions and their thresholds; importing
them in `CHAPTERS` order files every claim in `CLAIMS` in the order the book reads them.
"""

from __future__ import annotations

import importlib

from .core import (CLAIMS, MATERIAL, STATUSES, TRACE, Claim, Status, Verdict, claim, fmt, ledger,
    markdown_table, verdict)

CHAPTERS = ("derivatives", "vanishing", "krizhevsky", "saturation", "sparsity", "cost", "powers", "through_time", "gates", "debate")
for _chapter in CHAPTERS:
    importlib.import_module(f"{__name__}.{_chapter}")

__all__ = ["CHAPTERS", "CLAIMS", "MATERIAL", "STATUSES", "TRACE", "Claim", "Status", "Verdict",
           "claim", "fmt", "ledger", "markdown_table", "verdict"]
