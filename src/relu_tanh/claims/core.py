"""The ledger's machinery: claims, verdicts and their statuses, the registry that lists every
claim in book order, and the number formatter for prose.

Every threshold a verdict uses is a named constant in its chapter's module, so a reader can see
(and change) the rule; the outcome itself always comes from the numbers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal

from .. import experiments
from .stability import RESAMPLES, STABLE, agreement
from ..store.registry import Registry

Status = Literal["holds", "holds with caveats", "does not hold", "inconclusive"]
STATUSES: tuple[Status, ...] = ("holds", "holds with caveats", "does not hold", "inconclusive")

DECIDED: tuple[Status, ...] = ("holds", "does not hold")  # what a named condition can be

MATERIAL = 0.10  # a share of units (saturated, dead) at or above this is material
SIGNIFICANT = 3  # prose shows at most this many significant figures ("31.9", "2,538" whole)
LINE = 150  # the most characters of a verdict's one-line gist (the verdict table's "why")


@dataclass(frozen=True)
class Verdict:
    """A claim's status with its reason. "holds with caveats" means one thing only: the claim
    holds under one named condition and not under another, each decided by its own numbers
    (`conditions`, at least two, statuses differing). `scope` names the stand-in the evidence
    is, when it is other data or sizes than the claim's ("book-scale stand-in"); `stability` is
    the share of seed-bootstrap resamples that reproduce the status (None: not resampled).
    `gist` is the reason in one line for the verdict table; a short reason is its own gist."""

    status: Status
    reason: str  # one sentence, built from the numbers
    numbers: dict[str, float] = field(default_factory=dict)  # undefined (NaN/inf) ones are dropped
    conditions: dict[str, Status] = field(default_factory=dict)  # condition -> its own status;
    # kept with "holds with caveats" only (a rule may pass its map whatever the status)
    scope: str | None = None
    stability: float | None = None
    gist: str = ""  # at most LINE characters; empty: the reason, when that is short enough

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown verdict status {self.status!r}; valid: {', '.join(STATUSES)}")
        if bad := {k: s for k, s in self.conditions.items() if s not in STATUSES}:
            raise ValueError(f"unknown condition status {bad}; valid: {', '.join(STATUSES)}")
        if self.status == "holds with caveats":
            check_caveats(self.conditions)
        else:
            object.__setattr__(self, "conditions", {})
        finite = {k: float(v) for k, v in self.numbers.items() if math.isfinite(v)}
        object.__setattr__(self, "numbers", finite)
        gist = self.gist or self.reason
        if len(gist) > LINE:
            raise ValueError(f"a verdict's gist has at most {LINE} characters, got {len(gist)}: "
                             f"{gist[:60]!r}...; pass a shorter gist=")
        object.__setattr__(self, "gist", gist)

    @property
    def headline(self) -> str:
        """The status with its scope: "does not hold on the book-scale stand-in"."""
        return self.status + (f" on the {self.scope}" if self.scope else "")


def check_caveats(conditions: dict[str, Status]) -> None:
    """Raise unless `conditions` names at least two conditions, each decided (holds / does not
    hold), that differ: what "holds with caveats" needs."""
    if len(conditions) < 2 or any(s not in DECIDED for s in conditions.values()) \
            or len(set(conditions.values())) < 2:
        raise ValueError(f"'holds with caveats' needs at least two named conditions, each "
                         f"'holds' or 'does not hold', that differ; got {conditions or 'none'}")


def combine(conditions: dict[str, Status]) -> Status:
    """The status a map of decided conditions gives: theirs when they agree, "holds with
    caveats" when some hold and others do not."""
    statuses = set(conditions.values())
    if not statuses or not statuses <= set(DECIDED):
        raise ValueError(f"combine takes decided conditions ({', '.join(DECIDED)}), got {conditions}")
    return statuses.pop() if len(statuses) == 1 else "holds with caveats"


def conditions_text(conditions: dict[str, Status]) -> str:
    """The map compactly, grouped by status: "holds: LSTM / GRU; does not hold: IRNN" (a slash
    between names, since a name may hold a comma)."""
    by: dict[str, list[str]] = {}
    for name, status in conditions.items():
        by.setdefault(status, []).append(name)
    return "; ".join(f"{status}: {factored(names)}" for status, names in by.items())


def factored(names: list[str]) -> str:
    """Names joined by slashes, their common leading words said once: "scale 0.5 / 1 / 2"."""
    common = os.path.commonprefix(names) if len(names) > 1 else ""
    common = common[:common.rfind(" ") + 1]
    return common + " / ".join(n[len(common):] for n in names)


@dataclass(frozen=True)
class Regions:
    """Where on the claim's quantity each status lies, in words."""

    holds: str
    does_not_hold: str
    inconclusive: str

    def text(self) -> str:
        return (f"holds: {self.holds}; does not hold: {self.does_not_hold}; "
                f"inconclusive: {self.inconclusive}")


@dataclass(frozen=True)
class Claim:
    id: str
    title: str  # the claim in a few words, for the verdict table
    claim: str  # the article's claim, in our words
    chapter: str  # docname under book/
    experiments: tuple[str, ...]  # what is run to decide it
    measurement: str  # what decides it
    decide: Callable[..., Verdict]  # takes one summary per experiment, in order
    literature: str  # what the original papers report (or the analytic fact), for comparison
    quantity: str  # what is measured, the axis the regions lie on
    effect: str  # the effect the article implies, as a size on that quantity
    regions: Regions
    reach: str | Callable[[str], str]  # the smallest and largest effect measurable (or, per scale, a function)
    # the scale whose stored records in results/ decide the claim once they hold every seed
    # (its experiments' data are what the claim is about); until then, the scale asked for
    stored: str | None = None

    def reach_at(self, scale: str) -> str:
        return self.reach(scale) if callable(self.reach) else self.reach


CLAIMS: Registry[Claim] = Registry("claim")


def claim(**kw: Any) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Decorator that files a verdict function in the ledger as `Claim(decide=fn, **kw)`."""
    def add(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        CLAIMS.add(kw["id"], Claim(decide=fn, **kw))
        return fn
    return add


def verdict(claim_id: str, scale: str) -> Verdict:
    """Run (or reuse) the claim's experiments at `scale`, decide it, and resample its seeds for
    the verdict's stability (`stability.agreement`): below `stability.STABLE` it is
    "inconclusive", with the share named.

    At `smoke` scale (sized for CI, not for evidence) the verdict is "inconclusive", with what
    the rule would say and the measured reason kept, so no page or table reads a smoke run as
    a finding."""
    c = CLAIMS[claim_id]
    at = decided_at(c, scale)
    runs = [experiments.run(name, scale) if at == scale else experiments.load_stored(name, at)
            for name in c.experiments]
    v = c.decide(*(r.summary for r in runs))
    v = steady(v, agreement(c.decide, v.status, runs))
    if scale != "smoke":
        return v
    return replace(v, status="inconclusive", reason=f"smoke scale is too small to judge (the rule "
                   f"gives '{v.status}'); measured: {v.reason}")


def decided_at(c: Claim, scale: str) -> str:
    """The scale whose runs decide `c` when asked at `scale`: `c.stored` once every experiment
    of the claim has all of that scale's seeds stored in results/, else `scale` itself (smoke
    is always itself: CI never reads a finding)."""
    if c.stored is None or scale == "smoke":
        return scale
    for name in c.experiments:
        res = experiments.load_stored(name, c.stored)
        if res is None or len(res.seeds) < experiments.get(name).seeds[c.stored]:
            return scale
    return c.stored


def steady(v: Verdict, share: float | None) -> Verdict:
    """`v` with its stability; "inconclusive" when fewer than `STABLE` of the resamples agree."""
    if share is None or share >= STABLE or v.status == "inconclusive":
        return replace(v, stability=share)
    return replace(v, status="inconclusive", stability=share,
                   reason=f"the seeds do not settle it: only {share:.0%} of "
                          f"{RESAMPLES} seed-bootstrap resamples give '{v.status}' "
                          f"(stable from {STABLE:.0%}); on all seeds {v.reason}",
                   gist=shortest(f"{v.gist} ('{v.status}' in only {share:.0%} of resamples)",
                                 f"'{v.status}' on all seeds, in only {share:.0%} of resamples"))


def shortest(line: str, fallback: str) -> str:
    """`line` when it fits a gist (`LINE` characters), else `fallback`."""
    return line if len(line) <= LINE else fallback


def stability_text(v: Verdict) -> str:
    """"87%" or "n/a" (nothing to resample: an analytic or single-run measurement)."""
    return "n/a" if v.stability is None else f"{v.stability:.0%}"


def fmt(x: float, digits: int = 2, *, nan: str = "not defined", inf: str = "unbounded") -> str:
    """A number for prose: a count as an integer ("260", "5,000"), a measurement fixed-point when
    moderate (`digits` decimals, at most `SIGNIFICANT` significant figures before the point
    allows none: "0.73", "31.9", "2,538") and scientific when tiny or huge, and an undefined
    value as words.

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
        return sci(x, max(digits, 1))
    decimals = min(digits, max(0, SIGNIFICANT - 1 - math.floor(math.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float, digits: int = 2) -> str:
    """`x` in scientific notation as printed in a textbook, "4.5×10⁻⁵": one token that a browser
    never wraps (it may break "4.5e-05" after the hyphen)."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}×10{str(int(exponent)).translate(SUPERSCRIPT)}"


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
    data, scale = [], decided_at(c, scale)
    for name in c.experiments:
        cfg = experiments.config_for(name, scale)
        read = cfg.datasets() if hasattr(cfg, "datasets") else (getattr(cfg, "dataset", None),)
        data += [*getattr(cfg, "tasks", ()), *(DATA_NAMES.get(d, d) for d in read)]
    names = ", ".join(f"`{name}`" for name in c.experiments)
    known = ", ".join(dict.fromkeys(d for d in data if d))
    return f"{scale} scale: {names}" + (f" on {known}" if known else "")


def verdict_cell(v: Verdict) -> str:
    """The status with its scope in bold, and the condition map when there is one."""
    return f"**{v.headline}**" + (f" ({conditions_text(v.conditions)})" if v.conditions else "")


def markdown_table(rows: list[tuple[Claim, Verdict]], scale: str) -> str:
    """The verdict table as Markdown, one short row per claim: its title linked to its chapter,
    the verdict with its scope and conditions, its stability and the reason in one line (the
    whole reason, its evidence and the literature are in each chapter's verdict box)."""
    lines = [markdown_row(["Claim", "Verdict", "Stable", "Why"]), "|---|---|---|---|"]
    for c, v in rows:
        lines.append(markdown_row([f"{{doc}}`{link_text(c.title)} <{c.chapter}>`", verdict_cell(v),
                                   stability_text(v), v.gist]))
    return "\n".join(lines)


def link_text(text: str) -> str:
    """`text` safe inside a {doc} role's title: no backticks or angle brackets."""
    return text.replace("`", "'").replace("<", "&lt;").replace(">", "&gt;")


def rules_table(scale: str) -> str:
    """How each claim is decided, compactly: the quantity, the effect the article implies, the
    regions on that quantity and what the experiment at `scale` can measure."""
    lines = [markdown_row(["Claim", "Quantity", "Effect implied", "Regions", "Reach"]),
             "|---|---|---|---|---|"]
    for cid in CLAIMS:
        c = CLAIMS[cid]
        lines.append(markdown_row([f"{{doc}}`{cid} <{c.chapter}>`", c.quantity, c.effect,
                                   c.regions.text(), c.reach_at(scale)]))
    return "\n".join(lines)
