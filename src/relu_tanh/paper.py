"""Paper scale in one command, within a time budget: ``python -m relu_tanh paper --budget 480``.

Experiments run in `PRIORITY` order (the GPU cost benchmark first, then Figure 1 on CIFAR-10,
then every other experiment in book order), one seed (unit) at a time, each saved as soon as it
finishes, so a run cut short keeps every finished unit and the same command resumes it. A unit
starts only if the time left is at least its expected time: the mean of its units timed in this
call, and before the first, `estimate` (the cost declared in `experiments.costs`, or the stored
seeds' mean `wall_s` from this device class if larger). An experiment whose unit has no estimate, is sized for another device,
or takes longer than the whole budget is refused with its reason, unless `untimed_first`:
then an experiment with no estimate gets its first unit, to time it (for a caller whose own
time-out is the hard stop, such as the lent-GPU script, where no cost is declared yet). A unit
that started runs to its end. Seeds are claimed as `experiments.run` claims them, so two paper processes split the
work. An experiment that fails is reported and the next one runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from . import experiments
from .experiments import costs, krizhevsky_units
from .store import inflight, results

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
              untimed_first: bool = False, clock=time.monotonic) -> list[Progress]:
    """Run `scale`'s configs within `budget_s` seconds; print a line per unit; return a summary."""
    if budget_s <= 0:
        raise ValueError(f"the budget must be positive, got {budget_s} s")
    root = root or results.results_dir()
    names = order(only)
    for name in names:  # everything is checked before the first unit runs
        units = spanned(name, scale)
        if units is None:
            experiments.plan(name, scale, device=device, root=root)
        else:  # its record is derived from the stored runs (`assemble`): those are checked
            units.load_plan(experiments.config_for(name, scale), experiments.get(name).seeds[scale], root)
    start, summary = clock(), []
    for name in names:
        if spanned(name, scale) is not None:
            summary.append(_run_spans(name, scale, device, root, start + budget_s - clock(),
                                      threads, clock))
            continue
        summary.append(_run_experiment(name, scale, device, root, start + budget_s, start, clock,
                                       untimed_first))
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
                    start: float, clock, untimed_first: bool = False) -> Progress:
    """Run `name`'s missing seeds while each one's estimate fits the time left."""
    job = experiments.plan(name, scale, device=device, root=root)
    p = Progress(name, job.n_seeds - len(job.missing), job.n_seeds)
    expected, why = estimate(name, scale, device, job.done)
    if job.missing and expected is None and not untimed_first:
        return _refused(p, why, start, clock)
    if job.missing and expected is not None and expected > deadline - start:
        return _refused(p, f"a unit takes ~{expected:.0f} s on {costs.device_class(device)} "
                           f"({why}), more than the whole budget", start, clock)
    walls: list[float] = []
    while True:
        if deadline - clock() < (sum(walls) / len(walls) if walls else expected or 0.0):
            p.status = "partial (budget)" if job.n_seeds > p.seeds else p.status
            return p
        step = inflight.claim_next(job.path, job.head, list(range(job.n_seeds)))
        p.seeds = len([s for s in step.done["seeds"] if int(s) < job.n_seeds])
        if step.seed is None:
            p.status = "done" if not step.held else f"partial (seeds {list(step.held)} running elsewhere)"
            return p
        t0 = clock()
        try:
            experiments.run_claimed(job, step.seed, device, progress=False)
        except Exception as err:  # one experiment's failure must not cost the others their turn
            p.status = f"failed: {type(err).__name__}: {err}"
            print(f"[{clock() - start:7.1f} s] {name} seed {step.seed}: FAILED ({p.status})", flush=True)
            return p
        walls.append(clock() - t0)
        p.seeds, p.seconds = p.seeds + 1, p.seconds + walls[-1]
        print(f"[{clock() - start:7.1f} s] {name} seed {step.seed + 1}/{job.n_seeds}: "
              f"{walls[-1]:.1f} s", flush=True)


def estimate(name: str, scale: str, device: str, done: dict) -> tuple[float | None, str]:
    """Expected seconds of one unit of `name` on `device`, and where the number comes from:
    the larger of its declared cost and the mean `wall_s` of its stored seeds from this device
    class; None (with the reason) if neither exists or the config is sized for another device."""
    kind = costs.device_class(device)
    sized_for = getattr(experiments.config_for(name, scale), "device", None)
    if isinstance(sized_for, str) and costs.device_class(sized_for) != kind:
        return None, f"its {scale}-scale config is sized for {sized_for}, not {kind}"
    walls = [out["wall_s"] for s, out in done["seeds"].items()
             if isinstance(out.get("wall_s"), (int, float))
             and costs.device_class(done["seed_provenance"].get(s, {}).get("device", "cpu")) == kind]
    stored = sum(walls) / len(walls) if walls else None
    declared = costs.declared(name, scale, device)
    if stored is not None and (declared is None or stored > declared):
        return stored, f"the mean of {len(walls)} stored seed(s)"
    if declared is not None:
        return declared, "declared in experiments/costs.py"
    return None, (f"no cost of a {scale}-scale unit on {kind} is declared or stored; time one "
                  f"with `python -m relu_tanh run {name} --scale {scale} --device {device} --seeds 1`")


def _refused(p: Progress, why: str, start: float, clock) -> Progress:
    p.status = f"refused: {why}"
    print(f"[{clock() - start:7.1f} s] {p.name}: refused: {why}", flush=True)
    return p


def format_summary(summary: list[Progress]) -> str:
    """The final table: seeds stored of those wanted, time spent, status."""
    lines = [f"{'experiment':18} {'seeds':>7} {'seconds':>9}  status"]
    lines += [f"{p.name:18} {p.seeds:>3}/{p.wanted:<3} {p.seconds:9.1f}  {p.status}" for p in summary]
    return "\n".join(lines)
