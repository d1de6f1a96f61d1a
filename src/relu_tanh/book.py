"""Helpers the book pages share: glue verdicts and numbers, show stored runs and tables. (What
decides which pages re-execute is `book_cache`.)

`myst_nb` is imported inside the functions: it is part of the book's environment only.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from IPython.display import Markdown

from . import claims, experiments
from .experiments import krizhevsky_units
from .store import results
from .claims import fmt
from .claims.core import markdown_row


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


def verdict(claim_id: str, scale: str) -> Markdown:
    """Decide a claim, glue `<id>-status`, `<id>-reason` and `<id>-stability`, and return an
    admonition to show: the verdict with its scope, conditions and stability, and how it is
    decided (quantity, implied effect, regions, what the experiment can measure)."""
    c, v = claims.CLAIMS[claim_id], claims.verdict(claim_id, scale)
    glue(f"{claim_id}-status", v.status)
    glue(f"{claim_id}-reason", v.reason)
    glue(f"{claim_id}-stability", claims.core.stability_text(v))
    glue_numbers(claim_id, v.numbers)
    kind = {"holds": "tip", "holds with caveats": "warning", "does not hold": "danger",
            "inconclusive": "note"}[v.status]
    parts = [f"**Claim.** {c.claim}", f"**Measured.** {v.reason[0].upper() + v.reason[1:]}."]
    if v.conditions:
        parts.append(f"**Conditions.** {claims.core.conditions_text(v.conditions)}.")
    parts += [f"**Stability.** {stability_sentence(v)}",
              f"**Quantity.** {c.quantity}; the article implies {c.effect}.",
              f"**Regions.** {c.regions.text()[0].upper() + c.regions.text()[1:]}.",
              f"**Reach.** {c.reach_at(claims.core.decided_at(c, scale))}.",
              f"**Evidence.** {claims.core.evidence(c, scale)}.",
              f"**Literature.** {c.literature}", f"*Decided by:* {c.measurement}."]
    return Markdown(f":::{{admonition}} Verdict: {v.headline}\n:class: {kind}\n\n"
                    + "\n\n".join(parts) + "\n:::")


def stability_sentence(v: claims.Verdict) -> str:
    """What the stability says, in a sentence."""
    if v.stability is None:
        return "not applicable: there are no seeds to resample (an analytic or single-run measurement)."
    return (f"{v.stability:.0%} of {claims.stability.RESAMPLES} seed-bootstrap resamples give the "
            f"status decided on all seeds; below {claims.stability.STABLE:.0%} a verdict is "
            f"reported as inconclusive.")


def stored_note(name: str, scale: str = "paper") -> Markdown:
    """Provenance of the stored `scale` run of `name`, or how to make one."""
    res = experiments.load_stored(name, scale)
    if res is None and krizhevsky_units.raced(experiments.config_for(name, scale)):
        return Markdown(f"No {scale}-scale evaluation of `{name}` is complete in `results/` yet: "
                        "it runs on a CPU in background units (`scripts/cifar_units.sh start`; "
                        "on a GPU, `python -m relu_tanh paper --only krizhevsky --device cuda`), "
                        "and this page shows it beside the live run once its seeds are in.")
    if res is None:
        return Markdown(f"No {scale}-scale run of `{name}` is stored in `results/` yet. "
                        f"Make one on a GPU with `python -m relu_tanh run {name} --scale {scale} "
                        f"--device cuda`; this page then shows it beside the live run.")
    machines: dict[str, list[dict[str, Any]]] = {}  # one entry per machine and software
    for seed, p in sorted((res.seed_provenance or {0: res.provenance}).items()):
        machines.setdefault(_machine(p), []).append({**p, "seed": str(seed)})
    where = "; ".join(f"seed{'s' if len(ps) > 1 else ''} {', '.join(p['seed'] for p in ps)} on "
                      f"{m}, {_when(ps)}" for m, ps in machines.items())
    n = len(res.seeds)
    return Markdown(f"Stored {scale}-scale run of `{name}`, {n} seed{'s' if n > 1 else ''}: {where}.")


def _device(p: dict[str, Any]) -> str:
    """Device (with the CPU models of its spans, or its CPU's model, where the record names
    them) and its CUDA driver and runtime where there are any."""
    cuda = (f" (CUDA driver {p['cuda_driver']}, runtime {p['cuda_runtime']}, TF32 "
            f"{'on' if p.get('tf32_cudnn') else 'off'} for convolutions)" if "cuda_driver" in p else "")
    models = sorted({s["cpu_model"] for spans in p.get("spans", {}).values() for s in spans
                     if s.get("cpu_model")} | ({p["cpu_model"]} if p.get("cpu_model") else set()))
    cpu = f"{' and '.join(models)} ({p['device_name']})" if models else p["device_name"]
    return f"{cpu}{cuda}"


def _machine(p: dict[str, Any]) -> str:
    return f"{_device(p)}, torch {p['torch']}"


def _days(ps: list[dict[str, Any]]) -> str:
    """The day some seeds ran (and their spans, where they were trained in spans), or the range
    of days."""
    days = sorted({s["date"][:10] for p in ps  # the day: seeds of one machine run seconds apart
                   for s in [p, *(s for spans in p.get("spans", {}).values() for s in spans)]})
    return days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"


def _when(ps: list[dict[str, Any]]) -> str:
    """The commits and days of some seeds' provenance: "commit `abc`, 2026-12-07", or the
    commits and the range of days."""
    commits = list(dict.fromkeys(f"`{p['git_commit'][:12]}`" for p in ps))
    return f"commit{'s' if len(commits) > 1 else ''} {', '.join(commits)}, {_days(ps)}"


def table(header: list[str], rows: list[list[Any]]) -> Markdown:
    """A Markdown table from rows of cells: the numbers of each column in one format
    (`column_format`), `|` escaped so that a cell like ``|z| > 1.8`` stays one cell."""
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"every row needs {len(header)} cells (one per header), got "
                         f"{sorted({len(row) for row in rows})}")
    columns = [column_format([row[j] for row in rows]) for j in range(len(header))]
    body = [markdown_row([show(x) for show, x in zip(columns, row)]) for row in rows]
    return Markdown("\n".join([markdown_row(header), "|" + "---|" * len(header)] + body))


def column_format(values: list[Any]) -> Callable[[Any], Any]:
    """One format for the numbers of a table column: counts as integers when every number in
    it is whole; else two decimals, or two significant digits in scientific notation ("4.5×10⁻⁵")
    for all of them when some are tiny (below 0.01) or huge; NaN and inf as words
    (`claims.fmt`).
    Text cells pass through."""
    numbers = [float(x) for x in values if is_number(x) and math.isfinite(x)]
    if all(x.is_integer() for x in numbers):
        return lambda x: fmt(int(x)) if is_number(x) and math.isfinite(x) else x
    if any(0 < abs(x) < 0.01 or abs(x) >= 1e4 for x in numbers):
        shown = lambda x: "0" if x == 0 else claims.core.sci(float(x))
    else:
        shown = lambda x: format(float(x), ".2f")
    return lambda x: shown(x) if is_number(x) and math.isfinite(x) else x


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def tables(sections: dict[str, tuple[list[str], list[list[Any]]]]) -> Markdown:
    """Several `table`s under bold titles: {title: (header, rows)}."""
    return Markdown("\n\n".join(f"**{title}**\n\n{table(*parts).data}" for title, parts in sections.items()))


def overview(scale: str) -> Markdown:
    """The verdict table, decided live from the ledger: one short row per claim, its title linked
    to its chapter (whose verdict box has the whole reason, the evidence and the literature)."""
    return Markdown(claims.markdown_table(claims.ledger(scale), scale))


def rules(scale: str) -> Markdown:
    """How each claim is decided (`claims.rules_table`), in a section the reader opens."""
    return Markdown(f":::{{admonition}} Open the rules: quantity, implied effect, regions and "
                    f"reach of each claim\n:class: dropdown\n\n{claims.rules_table(scale)}\n:::")


def stored_runs() -> Markdown:
    """Every run stored in results/, with the hardware and library versions of its seeds, its
    latest commit and the days it ran."""
    rows = []
    for name in experiments.names():
        for scale in ("paper", "book", "smoke"):
            res = experiments.load_stored(name, scale)
            if res is not None:
                ps = list((res.seed_provenance or {0: res.provenance}).values())
                rows.append([f"`{name}`", scale, len(res.seeds),
                             "; ".join(dict.fromkeys(map(_device, ps))),
                             ", ".join(dict.fromkeys(p["torch"] for p in ps)),
                             f"`{res.provenance['git_commit'][:7]}`", _days(ps)])
    pending = figure1_pending()
    if not rows:
        return Markdown("No experiment has a complete record in `results/` yet: every number in "
                        f"this copy of the book was measured while it was built, on "
                        f"{results.device_name('cpu')}.{pending}")
    return Markdown(table(["experiment", "scale", "seeds", "hardware", "torch", "commit", "date"],
                          rows).data + (f"\n\n{pending.strip()}" if pending else ""))


def figure1_pending() -> str:
    """A sentence on Figure 1's paper-scale runs while some are stored and some are still to
    train (empty otherwise): how many evaluation and ladder runs are finished."""
    p = _figure1_progress()
    count = {k: sum(a[k] for a in p["arms"]) for k in
             ("eval_done", "eval_total", "ladder_done", "ladder_total")}
    if not p["spans"] or (count["eval_done"] == count["eval_total"]
                          and count["ladder_done"] == count["ladder_total"]):
        return ""
    return (f" Figure 1's paper-scale runs on CIFAR-10 are in progress ({fmt(p['spans'])} spans "
            f"of training stored; {count['eval_done']} of {count['eval_total']} evaluation runs "
            f"and {count['ladder_done']} of {count['ladder_total']} ladder runs finished; "
            "{doc}`krizhevsky` shows how far they are).")


def figure1_progress() -> Markdown:
    """The CPU units of Figure 1 at paper scale (`experiments.krizhevsky_units`) as they stand
    in `results/`: per arm its learning-rate race, its check, the rate it trains at and the
    evaluation and ladder runs finished, with the CPU-hours spent."""
    p = _figure1_progress()
    rows = [[a["variant"], a["activation"],
             ", ".join(f"{lr:.3g}: {fmt(e, 3)}" for lr, e in sorted(a["race"].items())) or "not started",
             _check_text(a["check"]), _rate_text(a), f"{a['eval_done']} of {a['eval_total']}",
             f"{a['ladder_done']} of {a['ladder_total']}"]
            for a in p["arms"]]
    where = ", ".join(f"{fmt(n)} on {cpu}" for cpu, n in sorted(p["machines"].items(), key=lambda m: -m[1]))
    head = (f"{fmt(p['spans'])} spans of training stored so far ({where}), "
            f"{fmt(p['cpu_hours'], 1)} CPU-hours.\n\n")
    return Markdown(head + table(["pipeline", "activation", "race (rate: running error)",
                                  "check (rate: epochs to 25%)", "rate", "evaluation runs done",
                                  "ladder runs done"], rows).data)


def _rate_text(a: dict[str, Any]) -> str:
    if a["racing"]:
        return "still racing"
    if a["check"] and None in a["check"].values():
        return "checking"
    return "at an edge" if a["rate"] is None else f"{a['rate']:.3g}"


def figure1_checks() -> str:
    """The checks of the raced rates in words: still running, ended at an edge, moved the arm to
    the rate that got to the threshold first, or kept the race's rate (those said once)."""
    parts, kept = [], []
    for a in (a for a in _figure1_progress()["arms"] if a["check"]):
        arm, winner = f"{a['variant']} {a['activation']}", f"{a['winner']:.3g}"
        if None in a["check"].values():
            parts.append(f"the check of the {arm} arm is still running, and its evaluation waits "
                         f"for it (the race chose {winner})")
        elif a["rate"] is None:
            parts.append(f"the check of the {arm} arm ({_check_text(a['check'])}) ends at an edge "
                         f"of its rates, so the arm has no evaluation")
        elif f"{a['rate']:.3g}" == winner:
            kept.append(arm)
        else:
            rate = f"{a['rate']:.3g}"
            epochs = {lr: fmt(e, 1, inf="not reached") for lr, e in a["check"].items()}
            parts.append(f"the check of the {arm} arm moves it from the race's {winner} to {rate}, "
                         f"which reached 25% in {epochs[rate]} epochs ({winner}: {epochs[winner]}); "
                         f"its evaluation runs at {rate}")
    if len(kept) == 1:
        parts.append(f"the check of the {kept[0]} arm keeps the race's rate")
    elif kept:
        parts.append(f"the checks of the {', '.join(kept[:-1])} and {kept[-1]} arms keep the "
                     "race's rates")
    return "; ".join(parts) or "no arm is checked"


def _figure1_progress() -> dict[str, Any]:
    """`krizhevsky_units.progress` of the paper-scale runs stored in results/."""
    config = experiments.config_for("krizhevsky", "paper")
    n_eval = experiments.get("krizhevsky").seeds["paper"]
    plan = krizhevsky_units.load_plan(config, n_eval, results.results_dir())
    return krizhevsky_units.progress(config, plan, n_eval)


def _check_text(check: dict[str, float | None] | None) -> str:
    """A check's epochs to the threshold by rate, for the progress table ("not checked")."""
    if check is None:
        return "not checked"
    return ", ".join(f"{lr}: {'not yet' if e is None else fmt(e, 1, inf='not reached')}"
                     for lr, e in check.items())

