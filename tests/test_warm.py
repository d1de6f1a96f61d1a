"""`warm` splits each experiment into units across its processes, and the units cover its seeds."""

from __future__ import annotations

from dataclasses import dataclass

from relu_tanh import experiments, warm


@dataclass(frozen=True)
class Config:
    value: int = 1


def echo(cfg: Config, *, seed: int, device: str, progress: bool) -> dict:
    return {"seed": seed}


def test_units_split_each_experiment_at_most_jobs_ways(register_experiment, monkeypatch):
    many = register_experiment("many", Config(), echo, 5)
    one = register_experiment("one", Config(), echo, 1)
    monkeypatch.setattr(warm, "warmable", lambda: [many, one])
    units = warm.units("smoke", jobs=2)
    assert units == [(many, "1/2"), (many, "2/2"), (one, "1/1")]
    covered = sorted(s for name, u in units if name == many for s in experiments.unit_seeds(u, 5))
    assert covered == list(range(5))  # every seed once


def test_units_of_a_run_fill_one_record(register_experiment, monkeypatch):
    """Running the units one after another leaves the same seeds as one plain run."""
    name = register_experiment("filled", Config(), echo, 3)
    monkeypatch.setattr(warm, "warmable", lambda: [name])
    for exp, unit in warm.units("smoke", jobs=2):
        experiments.run(exp, "smoke", unit=unit)
    assert sorted(experiments.run(name, "smoke").seeds) == [0, 1, 2]
