"""The experiment registry and the one runner that every scale, the book and the CLI share.

An experiment is a config per scale plus `run_seed(config, seed, device, progress) -> dict`;
`summarize(config, seeds)` turns the per-seed outputs into what chapters plot and verdicts read.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from .. import results
from ..registry import Registry
from ..scale import SCALES, check_scale, current_scale, override

EXPERIMENTS: Registry["Experiment"] = Registry("experiment")
MODULES = ("derivatives", "vanishing", "krizhevsky", "saturation", "cost", "sparsity", "debate")  # one module per chapter; importing registers them


@dataclass(frozen=True)
class Experiment:
    name: str
    chapter: str  # the book page (docname under book/) that shows it
    description: str
    configs: dict[str, Any]  # scale -> frozen config dataclass
    seeds: dict[str, int]  # scale -> default number of seeds
    run_seed: Callable[..., dict[str, Any]]
    summarize: Callable[[Any, dict[int, dict[str, Any]]], Any]

    def __post_init__(self) -> None:
        missing = set(SCALES) - set(self.configs) | set(SCALES) - set(self.seeds)
        if missing:
            raise ValueError(f"experiment {self.name!r} lacks scales {sorted(missing)}")


@dataclass(frozen=True)
class Result:
    """Per-seed outputs of one experiment at one scale, with provenance and their summary."""

    experiment: str
    scale: str
    config: Any
    seeds: dict[int, dict[str, Any]]
    provenance: dict[str, Any]
    path: Path | None

    @property
    def summary(self) -> Any:
        return get(self.experiment).summarize(self.config, self.seeds)


def register(exp: Experiment) -> Experiment:
    return EXPERIMENTS.add(exp.name, exp)


def get(name: str) -> Experiment:
    _import_all()
    return EXPERIMENTS[name]


def names() -> list[str]:
    _import_all()
    return EXPERIMENTS.names()


def _import_all() -> None:
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")


def config_for(name: str, scale: str | None = None, **overrides: Any) -> Any:
    """The experiment's config at `scale` (default: $RELU_TANH_SCALE), with type-checked overrides."""
    return override(get(name).configs[check_scale(scale or current_scale())], **overrides)


def run(name: str, scale: str | None = None, *, seeds: int | None = None, device: str = "cpu",
        root: Path | None = None, progress: bool = False, **overrides: Any) -> Result:
    """Run (or resume, or reuse) `name` at `scale` for seeds 0..seeds-1, saving after each seed.

    Records live in `root` (default: the book's cache); the CLI passes `results.results_dir()`.
    """
    exp = get(name)
    scale = check_scale(scale or current_scale())
    config = config_for(name, scale, **overrides)
    n_seeds = exp.seeds[scale] if seeds is None else seeds
    if n_seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {n_seeds}")
    path = results.record_path(root or results.cache_dir(), name, scale)
    config_json = json.loads(json.dumps(dataclasses.asdict(config)))
    stored = results.load_record(path)
    done = results.reusable_seeds(stored, config_json)
    missing = [seed for seed in range(n_seeds) if str(seed) not in done]
    prov = results.provenance(device) if missing else stored["provenance"]
    for seed in missing:
        torch.set_flush_denormal(True)  # tiny CPU values otherwise slow runs down tenfold
        start = time.perf_counter()
        out = exp.run_seed(config, seed=seed, device=device, progress=progress)
        # kept in memory exactly as stored, so a reused run reads the same as a fresh one
        done[str(seed)] = results.strict_json({**out, "wall_s": time.perf_counter() - start})
        results.write_atomic(path, {"experiment": name, "scale": scale, "config": config_json,
                                    "provenance": prov, "seeds": done})
    kept = {int(s): v for s, v in done.items() if int(s) < n_seeds}
    return Result(name, scale, config, kept, prov, path)


def load_stored(name: str, scale: str = "paper") -> Result | None:
    """A run stored under results/ (by the CLI, typically on a GPU), whatever code made it."""
    exp = get(name)
    path = results.record_path(results.results_dir(), name, scale)
    record = results.load_record(path)
    if record is None:
        return None
    config = from_json(type(exp.configs[scale]), record["config"])
    seeds = {int(s): v for s, v in record["seeds"].items()}
    return Result(name, scale, config, seeds, record["provenance"], path)


def from_json(cls: type, d: dict[str, Any]) -> Any:
    """Rebuild a (nested) frozen config from its JSON form: lists back to tuples.

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
        kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)
