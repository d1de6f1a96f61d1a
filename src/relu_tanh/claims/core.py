"""The ledger's machinery: claims, verdicts and their statuses, the registry that lists every
claim in book order, and the number formatter for prose.

Every threshold a verdict uses is a named constant in its chapter's module, so a reader can see
(and change) the rule; the outcome itself always comes from the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from .. import experiments
from ..registry import Registry
from ..scale import check_scale, current_scale

Status = Literal["holds", "holds with caveats", "does not hold", "inconclusive"]
STATUSES: tuple[Status, ...] = ("holds", "holds with caveats", "does not hold", "inconclusive")

MATERIAL = 0.10  # a share of units (saturated, dead) at or above this is material
TRACE = 0.01  # below this share the effect is absent


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str  # one sentence, built from the numbers
    numbers: dict[str, float] = field(default_factory=dict)  # undefined (NaN/inf) ones are dropped

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown verdict status {self.status!r}; valid: {', '.join(STATUSES)}")
        finite = {k: float(v) for k, v in self.numbers.items() if math.isfinite(v)}
        object.__setattr__(self, "numbers", finite)


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str  # the article's claim, in our words
    chapter: str  # docname under book/
    experiments: tuple[str, ...]  # what is run to decide it
    measurement: str  # what decides it
    decide: Callable[..., Verdict]  # takes one summary per experiment, in order
    literature: str  # what the original papers report (or the analytic fact), for comparison


CLAIMS: Registry[Claim] = Registry("claim")


def claim(**kw: Any) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Decorator that files a verdict function in the ledger as `Claim(decide=fn, **kw)`."""
    def add(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        CLAIMS.add(kw["id"], Claim(decide=fn, **kw))
        return fn
    return add


def verdict(claim_id: str, scale: str | None = None) -> Verdict:
    """Run (or reuse) the claim's experiments at `scale` and decide it.

    At `smoke` scale (sized for CI, not for evidence) the verdict is "inconclusive", with what
    the rule would say and the measured reason kept, so no page or table reads a smoke run as
    a finding."""
    c = CLAIMS[claim_id]
    scale = check_scale(scale or current_scale())
    v = c.decide(*(experiments.run(name, scale).summary for name in c.experiments))
    if scale != "smoke":
        return v
    return Verdict("inconclusive", f"smoke scale is too small to judge (the rule gives "
                   f"'{v.status}'); measured: {v.reason}", v.numbers)


def fmt(x: float, digits: int = 2) -> str:
    """A number for prose: fixed-point when moderate, scientific when tiny or huge."""
    if x == 0:
        return "0"
    if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 1e4):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}f}"


def ledger(scale: str | None = None) -> list[tuple[Claim, Verdict]]:
    """Every claim with its verdict at `scale`."""
    return [(CLAIMS[cid], verdict(cid, scale)) for cid in CLAIMS]


def markdown_table(rows: list[tuple[Claim, Verdict]]) -> str:
    """The verdict table as Markdown, one row per claim, linking each to its chapter."""
    lines = ["| Claim | Verdict | Measured | Literature | Chapter |", "|---|---|---|---|---|"]
    for c, v in rows:
        lines.append(f"| {c.claim} | **{v.status}** | {v.reason} | {c.literature} | "
                     f"{{doc}}`{c.chapter}` |")
    return "\n".join(lines)


