"""Helpers the book pages share: glue verdicts and numbers, show stored runs and tables.

`myst_nb` is imported inside the functions: it is part of the book's environment only.
"""

from __future__ import annotations

from typing import Any

from IPython.display import Markdown

from . import claims, experiments
from .claims import fmt


def glue(name: str, value: Any) -> None:
    """Glue a plain Python value (never a numpy or torch scalar) without displaying it."""
    from myst_nb import glue as nb_glue

    if hasattr(value, "item"):
        value = value.item()
    nb_glue(name, value, display=False)


def glue_numbers(prefix: str, numbers: dict[str, float], digits: int = 2) -> None:
    """Glue each number formatted for prose as `prefix-key`."""
    for key, value in numbers.items():
        glue(f"{prefix}-{key}", fmt(float(value), digits))


def verdict(claim_id: str, scale: str | None = None) -> Markdown:
    """Decide a claim, glue `<id>-status` and `<id>-reason`, and return an admonition to show."""
    c, v = claims.CLAIMS[claim_id], claims.verdict(claim_id, scale)
    glue(f"{claim_id}-status", v.status)
    glue(f"{claim_id}-reason", v.reason)
    glue_numbers(claim_id, v.numbers)
    kind = {"holds": "tip", "holds with caveats": "warning", "does not hold": "danger",
            "inconclusive": "note"}[v.status]
    return Markdown(f":::{{admonition}} Verdict: {v.status}\n:class: {kind}\n\n**Claim.** {c.claim}\n\n"
                    f"**Measured.** {v.reason[0].upper() + v.reason[1:]}.\n\n"
                    f"**Literature.** {c.literature}\n\n*Decided by:* {c.measurement}.\n:::")


def stored_note(name: str, scale: str = "paper") -> Markdown:
    """Provenance of the stored `scale` run of `name`, or how to make one."""
    res = experiments.load_stored(name, scale)
    if res is None:
        return Markdown(f"No {scale}-scale run of `{name}` is stored in `results/` yet. "
                        f"Make one on a GPU with `python -m relu_tanh run {name} --scale {scale} "
                        f"--device cuda`; this page then shows it beside the live run.")
    p = res.provenance
    return Markdown(f"Stored {scale}-scale run of `{name}`: {len(res.seeds)} seeds on "
                    f"{p['device_name']}, torch {p['torch']}, commit `{p['git_commit'][:12]}`, "
                    f"{p['date']}.")


def table(header: list[str], rows: list[list[Any]]) -> Markdown:
    """A Markdown table from rows of cells (floats formatted for prose)."""
    cell = lambda x: fmt(x) if isinstance(x, float) else str(x)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return Markdown("\n".join(lines))
