"""Fill the book's run cache before a build, several experiments at once.

`jupyter-book build` executes the pages one after another, and most experiments here train
small models on one CPU thread, so a 2-core machine would sit half idle. `warm` runs every
experiment at the scale the build will use, each in its own process on one thread, `jobs` at a
time, longest first, into the same cache the pages read (`experiments.run` reuses a record
only for the same config and code). An experiment of several seeds is split into up to `jobs`
units (`run --unit K/N`), which fill its one record side by side. Timing benchmarks (the cost
chapter) are left to their page, which runs them on a quiet machine.
Run: ``python -m relu_tanh warm --jobs 2``.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from . import experiments

TIMED_CHAPTERS = ("cost",)  # their measurements are times: never run beside other work
LONGEST_FIRST = ("debate", "sparsity", "krizhevsky", "gates", "vanishing_train", "saturation",
                 "through_time")  # by measured CPU time at book scale


def warmable() -> list[str]:
    """The experiments to pre-run, longest first; the timing benchmarks are left out."""
    names = [n for n in experiments.names() if experiments.get(n).chapter not in TIMED_CHAPTERS]
    return sorted(names, key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else len(names))


def units(scale: str, jobs: int) -> list[tuple[str, str]]:
    """(experiment, unit) pairs to submit, longest experiment first: each split into as many
    units as it has seeds, at most `jobs`."""
    out = []
    for name in warmable():
        n = min(jobs, experiments.plan(name, scale).n_seeds)
        out += [(name, f"{k}/{n}") for k in range(1, n + 1)]
    return out


def _run_one(name: str, scale: str, unit: str) -> tuple[str, str, float]:
    import torch

    torch.set_num_threads(1)  # one core per process: `jobs` processes share the machine
    start = time.perf_counter()
    experiments.run(name, scale, unit=unit)
    return name, unit, time.perf_counter() - start


def warm(scale: str, jobs: int = 2) -> dict[tuple[str, str], float]:
    """Run `warmable()` at `scale` into the run cache, `jobs` processes at a time; returns the
    seconds each unit took (a cached one takes about none), keyed by (experiment, unit)."""
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    todo = units(scale, jobs)  # every input is checked (`plan`) before any work
    took: dict[tuple[str, str], float] = {}
    context = multiprocessing.get_context("spawn")  # no inherited torch threads or locks
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = [pool.submit(_run_one, name, scale, unit) for name, unit in todo]
        for done in as_completed(futures):
            name, unit, seconds = done.result()
            took[name, unit] = seconds
            print(f"warm: {name} (unit {unit}) at {scale} scale, {seconds:.1f} s", flush=True)
    return took
