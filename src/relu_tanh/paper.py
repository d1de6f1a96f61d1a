"""Paper scale in one command, within a time budget: ``python -m relu_tanh paper --budget 480``.

Experiments run in `PRIORITY` order (the GPU cost benchmark first, then Figure 1 on CIFAR-10,
then every other experiment in book order), one seed (unit) at a time, each saved as soon as it
finishes, so a run cut short keeps every finished unit and the same command resumes it. A unit
starts only if the time left is at least its expected time: the mean of the experiment's
finished units, or, before the first, the mean of every unit run so far in this call. A unit
that started runs to its end (the caller's own time-out is the hard stop). An experiment that
fails is reported and the next one runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from . import experiments
from .experiments import krizhevsky_units
from .store import results

PRIORITY = ("cost_micro", "krizhevsky")  # the headline comparisons first; then the book's order
SPANNED = {"krizhevsky": krizhevsky_units}  # experiments whose raced configs run in spans


@dataclass
class Progress:
    """What one experiment got done under the budget."""

    name: str
    seeds: int  # finished seeds, stored
    wanted: int
    seconds: float = 0.0  # spent in this call
    status: str = "done"  # done, partial (budget), failed: <why>


def order(only: tuple[str, ...] = ()) -> list[str]:
    """The experiments to run: `PRIORITY` first, then the rest in book order (or just `only`)."""
    names = experiments.names()
    for name in only:
        experiments.get(name)  # an unknown name lists the valid ones
    chosen = [n for n in (*PRIORITY, *names) if not only or n in only]
    return list(dict.fromkeys(chosen))


def spanned(name: str, scale: str):
    """The span protocol module of `name` at `scale`, or None if it runs seed by seed."""
    units = SPANNED.get(name)
    return units if units is not None and units.raced(experiments.config_for(name, scale)) else None


def describe(scale: str = "paper", only: tuple[str, ...] = (), root: Path | None = None,
             processes: int = 1) -> str:
    """What a paper run would do: per experiment its units (seeds or spans), what is done and
    the estimate."""
    root = root or results.results_dir()
    out = []
    for name in order(only):
        units = spanned(name, scale)
        if units is not None:
            config, n = experiments.config_for(name, scale), experiments.get(name).seeds[scale]
            out.append(f"== {name}\n" + units.describe(config, units.load_plan(config, n, root), n,
                                                        processes))
            continue
        job = experiments.plan(name, scale, device="cpu", root=root)
        out.append(f"== {name}: seeds done {job.n_seeds - len(job.missing)}/{job.n_seeds}")
    return "\n\n".join(out)


def run_paper(budget_s: float, *, root: Path | None = None, device: str = "cuda",
              scale: str = "paper", only: tuple[str, ...] = (), threads: int | None = None,
              clock=time.monotonic) -> list[Progress]:
    """Run `scale`'s configs within `budget_s` seconds; print a line per unit; return a summary."""
    if budget_s <= 0:
        raise ValueError(f"the budget must be positive, got {budget_s} s")
    root = root or results.results_dir()
    names = order(only)
    for name in names:  # everything is checked before the first unit runs
        experiments.plan(name, scale, device=device, root=root)
    start, summary, spent = clock(), [], []
    for name in names:
        if spanned(name, scale) is not None:
            summary.append(_run_spans(name, scale, device, root, start + budget_s - clock(),
                                      threads, clock))
            continue
        summary.append(_run_experiment(name, scale, device, root, start + budget_s, start, clock,
                                       spent))
    return summary


def _run_spans(name: str, scale: str, device: str, root: Path, budget_s: float,
               threads: int | None, clock) -> Progress:
    units, config = SPANNED[name], experiments.config_for(name, scale)
    n, t0 = experiments.get(name).seeds[scale], clock()
    try:
        units.work(config, n, root, device=device, budget_s=budget_s, threads=threads, clock=clock)
    except Exception as err:  # as `_run_experiment`: the others still get their turn
        return Progress(name, 0, n, clock() - t0, f"failed: {type(err).__name__}: {err}")
    plan = units.load_plan(config, n, root)
    done = units.assemble(config, plan, root, scale)
    return Progress(name, done, n, clock() - t0, "partial (budget)" if plan.spans(config) else "done")


def _run_experiment(name: str, scale: str, device: str, root: Path, deadline: float,
                    start: float, clock, spent: list[float]) -> Progress:
    """Run `name`'s missing seeds while they fit; `spent` collects every unit's seconds."""
    job = experiments.plan(name, scale, device=device, root=root)
    walls = [s["wall_s"] for s in job.done["seeds"].values() if "wall_s" in s]
    p = Progress(name, job.n_seeds - len(job.missing), job.n_seeds)
    for seed in job.missing:
        left, prior = deadline - clock(), walls or spent
        if left <= 0 or (prior and left < sum(prior) / len(prior)):
            p.status = "partial (budget)"
            break
        t0 = clock()
        try:
            experiments.run(name, scale, seeds=seed + 1, device=device, root=root)
        except Exception as err:  # one experiment's failure must not cost the others their turn
            p.status = f"failed: {type(err).__name__}: {err}"
            print(f"[{clock() - start:7.1f} s] {name} seed {seed}: FAILED ({p.status})", flush=True)
            break
        walls.append(clock() - t0)
        spent.append(walls[-1])
        p.seeds, p.seconds = p.seeds + 1, p.seconds + walls[-1]
        print(f"[{clock() - start:7.1f} s] {name} seed {seed + 1}/{job.n_seeds}: "
              f"{walls[-1]:.1f} s", flush=True)
    return p


def format_summary(summary: list[Progress]) -> str:
    """The final table: seeds stored of those wanted, time spent, status."""
    lines = [f"{'experiment':18} {'seeds':>7} {'seconds':>9}  status"]
    lines += [f"{p.name:18} {p.seeds:>3}/{p.wanted:<3} {p.seconds:9.1f}  {p.status}" for p in summary]
    return "\n".join(lines)
