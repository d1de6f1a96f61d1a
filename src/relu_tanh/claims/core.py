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
from ..store.registry import Registry

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


def verdict(claim_id: str, scale: str) -> Verdict:
    """Run (or reuse) the claim's experiments at `scale` and decide it.

    At `smoke` scale (sized for CI, not for evidence) the verdict is "inconclusive", with what
    the rule would say and the measured reason kept, so no page or table reads a smoke run as
    a finding."""
    c = CLAIMS[claim_id]
    v = c.decide(*(experiments.run(name, scale).summary for name in c.experiments))
    if scale != "smoke":
        return v
    return Verdict("inconclusive", f"smoke scale is too small to judge (the rule gives "
                   f"'{v.status}'); measured: {v.reason}", v.numbers)


def fmt(x: float, digits: int = 2, *, nan: str = "not defined", inf: str = "unbounded") -> str:
    """A number for prose: a count as an integer ("260", "5,000"), a measurement fixed-point when
    moderate and scientific when tiny or huge, and an undefined value as words.

    NaN becomes `nan` and an infinity `inf` (with a minus sign for -inf): callers pass what the
    value means there, e.g. ``fmt(epochs, inf="never reached in 10 epochs")``. A float with an
    integral value (a count that went through a float, like a step number) prints as a count.
    """
    x = x.item() if hasattr(x, "item") else x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"fmt takes a number, got {type(x).__name__}: {x!r}")
    if isinstance(x, int):
        return f"{x:,}"
    if math.isnan(x):
        return nan
    if math.isinf(x):
        return inf if x > 0 else f"minus {inf}"
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e4:
        return f"{int(x):,}"
    if abs(x) < 10 ** -digits or abs(x) >= 1e4:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}f}"


def cell(x: Any) -> str:
    """Text for one Markdown table cell: numbers through `fmt`, pipes escaped, one line."""
    text = fmt(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)
    return " ".join(text.replace("|", "\\|").split())


def markdown_row(cells: list[Any]) -> str:
    return "| " + " | ".join(cell(x) for x in cells) + " |"


def ledger(scale: str) -> list[tuple[Claim, Verdict]]:
    """Every claim with its verdict at `scale`."""
    return [(CLAIMS[cid], verdict(cid, scale)) for cid in CLAIMS]


DATA_NAMES = {"fashion-mnist-small": "Fashion-MNIST subset", "fashion-mnist": "Fashion-MNIST",
              "cifar10": "CIFAR-10"}


def evidence(c: Claim, scale: str) -> str:
    """Where a verdict's numbers come from: the scale, the experiments, and the tasks and
    dataset their configs name (e.g. 'book scale: krizhevsky on the Fashion-MNIST subset')."""
    data = []
    for name in c.experiments:
        cfg = experiments.config_for(name, scale)
        dataset = getattr(cfg, "dataset", None)
        data += [*getattr(cfg, "tasks", ()), DATA_NAMES.get(dataset, dataset)]
    names = ", ".join(f"`{name}`" for name in c.experiments)
    known = ", ".join(dict.fromkeys(d for d in data if d))
    return f"{scale} scale: {names}" + (f" on {known}" if known else "")


def markdown_table(rows: list[tuple[Claim, Verdict]], scale: str) -> str:
    """The verdict table as Markdown, one row per claim, with the data and scale its numbers
    came from, linking each to its chapter."""
    lines = [markdown_row(["Claim", "Verdict", "Measured", "From", "Literature", "Chapter"]),
             "|---|---|---|---|---|---|"]
    for c, v in rows:
        lines.append(markdown_row([c.claim, f"**{v.status}**", v.reason, evidence(c, scale), c.literature,
                                   f"{{doc}}`{c.chapter}`"]))
    return "\n".join(lines)
