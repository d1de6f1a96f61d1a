"""The experiment registry and the one runner that every scale, the book and the CLI share.

An experiment is a config per scale plus `run_seed(config, seed, device, progress) -> dict`;
`summarize(config, seeds)` turns the per-seed outputs into what chapters plot and verdicts read.
Every module of this package registers its chapter's experiments when imported (`get` and
`names` import them all), so a new one needs no list here. Functions below take the scale as
given: the entry points resolve it (`store.scales.resolve`).

Its declared `version` says which computation made a stored seed: bump it by hand when the
numbers `run_seed` returns change on purpose (tests/test_pinned.py fails until it is bumped).
A change in `summarize` needs no bump: summaries are recomputed from the stored seeds.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ..store import inflight, results
from ..store.registry import Registry
from ..store import chapters
from ..store.scales import SCALES
from .configs import check_type, override, validate

EXPERIMENTS: Registry["Experiment"] = Registry("experiment")
NOT_CHAPTERS = ("configs", "costs")  # modules of this package that register no experiment


Strata = dict[str, list[dict[str, Any]]]  # independent replicates, resampled within each stratum


def by_seed(seeds: dict[int, dict[str, Any]]) -> Strata:
    """The independent replicates of a run: by default each stored seed is one, in one stratum."""
    return {"seeds": [seeds[k] for k in sorted(seeds)]}


def as_seeds(strata: Strata) -> dict[int, dict[str, Any]]:
    """Replicates back into what `summarize` takes, seeds 0..n-1 (a repeat is a seed of its own)."""
    return dict(enumerate(strata["seeds"]))


@dataclass(frozen=True)
class Experiment:
    name: str
    chapter: str  # the book page (docname under book/) that shows it
    description: str
    version: int  # of what run_seed computes; a stored record is reused only at this version
    configs: dict[str, Any]  # scale -> frozen config dataclass
    seeds: dict[str, int]  # scale -> default number of seeds
    run_seed: Callable[..., dict[str, Any]]
    summarize: Callable[[Any, dict[int, dict[str, Any]]], Any]
    # what a seed bootstrap resamples (claims.stability): the stored seeds split into independent
    # replicates, and replicates put back together as seeds, relabelled where outputs name them
    replicates: Callable[[dict[int, dict[str, Any]]], Strata] = by_seed
    as_seeds: Callable[[Strata], dict[int, dict[str, Any]]] = as_seeds

    def __post_init__(self) -> None:
        missing = set(SCALES) - set(self.configs) | set(SCALES) - set(self.seeds)
        if missing:
            raise ValueError(f"experiment {self.name!r} lacks scales {sorted(missing)}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValueError(f"experiment {self.name!r}: version must be a positive integer, "
                             f"got {self.version!r}")
        for config in self.configs.values():  # a config it cannot run fails on import
            validate(config)

    def config(self, scale: str) -> Any:
        if scale not in self.configs:
            raise ValueError(f"unknown scale {scale!r}; valid choices: {', '.join(SCALES)}")
        return self.configs[scale]


@dataclass(frozen=True)
class Result:
    """Per-seed outputs of one experiment at one scale, with provenance and their summary."""

    experiment: str
    scale: str
    config: Any
    seeds: dict[int, dict[str, Any]]
    provenance: dict[str, Any]  # of the latest seed; per seed in `seed_provenance`
    path: Path | None
    seed_provenance: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def summary(self) -> Any:
        return get(self.experiment).summarize(self.config, self.seeds)


def register(exp: Experiment) -> Experiment:
    return EXPERIMENTS.add(exp.name, exp)


def get(name: str) -> Experiment:
    _import_all()
    return EXPERIMENTS[name]


def names() -> list[str]:
    """Every experiment, in the book's chapter order (`store.chapters`)."""
    _import_all()
    return sorted(EXPERIMENTS.names(), key=lambda n: chapters.position(EXPERIMENTS[n].chapter))


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in NOT_CHAPTERS:
            importlib.import_module(f"{__name__}.{module.name}")


def config_for(name: str, scale: str, **overrides: Any) -> Any:
    """The experiment's config at `scale`, with type-checked and validated overrides
    (`configs.override`)."""
    return override(get(name).config(scale), **overrides)


def record_header(name: str, scale: str, config: Any) -> dict[str, Any]:
    """What identifies the record of `name` at `scale` with `config`: those and the version."""
    config_json = json.loads(json.dumps(dataclasses.asdict(config)))
    return results.header(name, scale, config_json, get(name).version)


def module_of(name: str) -> str:
    """The module whose imports the provenance's code fingerprint covers (its run_seed's)."""
    return getattr(get(name).run_seed, "__module__", None) or results.PACKAGE_DIR.name


def run(name: str, scale: str, *, seeds: int | None = None, device: str = "cpu",
        root: Path | None = None, progress: bool = False, force: bool = False,
        unit: str | None = None, **overrides: Any) -> Result:
    """Run (or resume, or reuse) `name` at `scale` for seeds 0..seeds-1, saving after each seed.

    Records live in `root` (default: the book's cache); the CLI passes `results.results_dir()`.
    Everything is checked before the first seed runs: scale, overrides, device, seed count and
    that the folder is writable. A stored record of another config or version is moved aside,
    a paper-scale one only with `force` (see `results`). Seeds another process has finished
    meanwhile are skipped, and a seed another live process is computing is left to it
    (`store.inflight`): two runs of the same command split the seeds, each waits for the
    other's, and both return the whole record. Each seed keeps its own provenance. With
    `unit="K/N"` only the K-th of N interleaved shares of the seeds runs (`unit_seeds`), so N
    processes or machines can fill one record; the result then holds that share's seeds and
    whatever others are finished.
    """
    job = plan(name, scale, seeds=seeds, device=device, root=root, force=force, **overrides)
    todo, waiting = unit_seeds(unit, job.n_seeds), False
    while True:
        step = inflight.claim_next(job.path, job.head, todo)
        done = step.done
        if step.seed is None and not step.held:
            return job.result(done)
        if step.seed is None:  # the rest are being computed by other processes: wait for them
            if not waiting:
                results.notice(f"waiting for seed(s) {list(step.held)} of {job.path}, which "
                               f"another process is computing (claims in "
                               f"{inflight.claims_path(job.path)}; a claim from another host "
                               f"whose process is gone must be deleted there)")
            waiting = True
            time.sleep(WAIT_S)
            continue
        done = run_claimed(job, step.seed, device, progress, **overrides)


WAIT_S = 1.0  # how often a run whose remaining seeds other processes hold looks again


def run_claimed(job: "Job", seed: int, device: str, progress: bool = False,
                **overrides: Any) -> dict[str, Any]:
    """Compute a seed this process has claimed, store it, drop the claim (also on failure)."""
    try:
        out, prov = run_unit(job.name, job.scale, seed, device, progress=progress, **overrides)
        return results.add_seed(job.path, job.head, seed, out, prov)
    finally:
        inflight.release(job.path, seed)


@dataclass(frozen=True)
class Job:
    """One experiment at one scale, checked and ready: where its record is, what identifies it,
    and what was already stored when it was planned."""

    name: str
    scale: str
    config: Any
    n_seeds: int
    path: Path
    head: dict[str, Any]
    done: dict[str, Any]  # as `results.current_seeds` returns it

    @property
    def missing(self) -> list[int]:
        return [s for s in range(self.n_seeds) if str(s) not in self.done["seeds"]]

    def result(self, done: dict[str, Any]) -> Result:
        kept = {int(s): v for s, v in done["seeds"].items() if int(s) < self.n_seeds}
        prov = {int(s): v for s, v in done["seed_provenance"].items() if int(s) < self.n_seeds}
        latest = prov[max(prov)] if prov else {}
        return Result(self.name, self.scale, self.config, kept, latest, self.path, prov)


def plan(name: str, scale: str, *, seeds: int | None = None, device: str = "cpu",
         root: Path | None = None, force: bool = False, **overrides: Any) -> Job:
    """Check everything a run needs before any work (see `run`) and read what is stored."""
    exp = get(name)
    config = config_for(name, scale, **overrides)
    results.check_device(device)
    n_seeds = exp.seeds[scale] if seeds is None else seeds
    if n_seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {n_seeds}")
    env = results.RESULTS_ENV if root is not None else results.CACHE_ENV
    path = results.record_path(results.check_writable(root or results.cache_dir(), env), name, scale)
    results.check_record_writable(path, env)
    head = record_header(name, scale, config)
    return Job(name, scale, config, n_seeds, path, head, results.stored_seeds(path, head, force))


def unit_seeds(unit: str | None, n_seeds: int) -> list[int]:
    """The seeds that unit "K/N" (1 <= K <= N) runs: every N-th of 0..n_seeds-1 from K-1."""
    if unit is None:
        return list(range(n_seeds))
    try:
        k, n = (int(part) for part in unit.split("/"))
    except ValueError:
        raise ValueError(f"a unit is written K/N, e.g. 2/5 (the second of five), not {unit!r}") from None
    if not 1 <= k <= n:
        valid = f"1/{n} to {n}/{n}" if n >= 1 else "1/1 (N is at least 1)"
        raise ValueError(f"unit {unit!r}: K/N needs 1 <= K <= N; valid choices: {valid}")
    return list(range(k - 1, n_seeds, n))


def run_unit(name: str, scale: str, seed: int, device: str, *, progress: bool = False,
             **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one seed of `name` (a unit of work) and return its output, as stored, and its
    provenance. It reads and writes no record, so a remote worker can run it."""
    config = config_for(name, scale, **overrides)
    torch.set_flush_denormal(True)  # tiny CPU values otherwise slow runs down tenfold
    allocations, start = results.cuda_allocations(device), time.perf_counter()
    out = get(name).run_seed(config, seed=seed, device=device, progress=progress)
    out = results.strict_json({**out, "wall_s": time.perf_counter() - start})
    return out, seed_provenance(name, device, allocations)


def seed_provenance(name: str, device: str, allocations_before: int) -> dict[str, Any]:
    """Provenance of a seed just run; a CUDA run that allocated nothing there ran on the CPU."""
    if torch.device(device).type == "cuda" and results.cuda_allocations(device) == allocations_before:
        results.notice(f"{name} allocated nothing on {device}: it ran on the CPU and is recorded so")
        device = "cpu"
    return results.provenance(device, module_of(name))


def load_stored(name: str, scale: str = "paper") -> Result | None:
    """A run stored under results/ (by the CLI, typically on a GPU), whatever code made it.

    A file that cannot be read raises `results.RecordError` naming it and saying what to do."""
    exp = get(name)
    exp.config(scale)  # an unknown scale lists the valid ones
    path = results.record_path(results.results_dir(), name, scale)
    record = results.load_record(path)
    if record is None:
        return None
    try:
        config = from_json(type(exp.configs[scale]), record["config"])
    except (TypeError, ValueError) as err:
        raise results.RecordError(f"{path} holds a config that {name} cannot use ({err}); move "
                                  f"it aside (mv {path} {path}.bad)") from None
    seeds = {int(s): v for s, v in record["seeds"].items()}
    shared = record.get("provenance", {})
    per_seed = record.get("seed_provenance", {})
    prov = {int(s): per_seed.get(s, shared) for s in record["seeds"]}
    return Result(name, scale, config, seeds, shared, path, prov)


def from_json(cls: type, d: dict[str, Any]) -> Any:
    """Rebuild a (nested) frozen config from its JSON form (a tuple of configs too): lists back
    to tuples, each value type-checked against its field (TypeError naming the field).

    Keys the class no longer has are dropped, so an older stored run still loads; its record
    on disk keeps them."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        value, hint = d[f.name], hints[f.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_json(hint, value)
        elif dataclasses.is_dataclass(item := _item(hint)) and isinstance(value, list):
            value = [from_json(item, v) if isinstance(v, dict) else v for v in value]
        kwargs[f.name] = _tuples(value)
        if not dataclasses.is_dataclass(kwargs[f.name]):
            check_type(f.name, kwargs[f.name], hint)
    return cls(**kwargs)


def _item(hint: Any) -> Any:
    """The item type of a `tuple[X, ...]` hint, else None."""
    args = typing.get_args(hint)
    return args[0] if typing.get_origin(hint) is tuple and args else None


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
