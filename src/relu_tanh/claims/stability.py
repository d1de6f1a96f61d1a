"""Verdict stability: the share of seed-bootstrap resamples that give a claim the status it got
on all seeds (issue 20).

Each experiment's independent replicates (its seeds; `Experiment.replicates` says what they
are where a stored seed is not one) are drawn with replacement, every drawn copy a distinct
seed (`Experiment.as_seeds`), so whatever is paired within a seed stays paired; the
experiment's own `summarize` turns them into a summary and the claim's rule decides it again.
The draws are fixed (one generator per experiment, seeded by its name), so the share is
reproducible and the claims that share an experiment see the same resamples.
"""

from __future__ import annotations

import zlib
from typing import Any, Callable, Sequence

import numpy as np

from .. import experiments

RESAMPLES = 200  # bootstrap resamples per experiment: the share's standard error is at most 3.5 points
STABLE = 0.8  # a verdict reproduced by fewer of them is reported as inconclusive
KEEP = 4  # experiments whose resamples stay in memory: claims that share one are neighbours

_DRAWS: dict[tuple, tuple[Any, ...] | None] = {}


def agreement(decide: Callable[..., Any], status: str, runs: list[experiments.Result]) -> float | None:
    """The share of resamples on which `decide` gives `status`; None when no experiment has two
    replicates to resample (an analytic or single-run measurement)."""
    draws = [resampled(r) for r in runs]
    if all(d is None for d in draws):
        return None
    summaries = [d if d is not None else (r.summary,) * RESAMPLES for d, r in zip(draws, runs)]
    return float(np.mean([decide(*parts).status == status for parts in zip(*summaries)]))


def resampled(r: experiments.Result) -> tuple[Any, ...] | None:
    """`RESAMPLES` summaries of `r` on bootstrap resamples of its replicates, each stratum
    resampled on its own (None when no stratum has two), kept for the next claim that reads
    the same record."""
    if r.path is None:  # not read from a record: nothing identifies it for the next claim
        return _draw(r)
    key = (r.experiment, r.scale, str(r.path), r.path.stat().st_mtime_ns if r.path.exists() else 0,
           tuple(sorted(r.seeds)))
    if key not in _DRAWS:
        if len(_DRAWS) >= KEEP:
            _DRAWS.pop(next(iter(_DRAWS)))
        _DRAWS[key] = _draw(r)
    return _DRAWS[key]


def _draw(r: experiments.Result) -> tuple[Any, ...] | None:
    strata = replicates(r)
    sizes = {name: len(reps) for name, reps in strata.items()}
    if max(sizes.values(), default=0) < 2:
        return None
    rng = np.random.default_rng(zlib.crc32(r.experiment.encode()))
    return tuple(summary_of(r, {name: rng.integers(n, size=n).tolist() for name, n in sizes.items()},
                            strata) for _ in range(RESAMPLES))


def replicates(r: experiments.Result) -> experiments.Strata:
    return experiments.get(r.experiment).replicates(r.seeds)


def summary_of(r: experiments.Result, draw: dict[str, Sequence[int]],
               strata: experiments.Strata | None = None) -> Any:
    """The summary of `r` over the replicates at positions `draw[stratum]` of each stratum
    (repeats allowed, each copy a seed of its own), by the experiment's own `summarize`."""
    exp, strata = experiments.get(r.experiment), strata or replicates(r)
    return exp.summarize(r.config, exp.as_seeds({name: [reps[j] for j in draw[name]]
                                                 for name, reps in strata.items()}))
