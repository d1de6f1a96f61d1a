"""The verdict framework of issue 20: a caveat needs a named condition map, and the seed
bootstrap says how stable a verdict is (`claims.stability`), on constructed experiments."""

from __future__ import annotations

import dataclasses
import statistics

import pytest

from relu_tanh import experiments
from relu_tanh.claims import Verdict, combine, core, stability


@pytest.mark.parametrize("conditions", [
    {}, {"LSTM": "holds"}, {"LSTM": "holds", "GRU": "holds"},
    {"LSTM": "holds", "GRU": "inconclusive"}, {"LSTM": "holds with caveats", "GRU": "does not hold"},
])
def test_a_caveat_without_a_valid_condition_map_raises(conditions):
    with pytest.raises(ValueError, match="named conditions"):
        Verdict("holds with caveats", "some reason", conditions=conditions)


def test_a_caveat_with_two_differing_decided_conditions_is_kept():
    v = Verdict("holds with caveats", "r", conditions={"2012 pipeline": "holds",
                                                      "modern pipeline": "does not hold"})
    assert core.verdict_cell(v) == ("**holds with caveats** (holds: 2012 pipeline; "
                                    "does not hold: modern pipeline)")
    with pytest.raises(ValueError, match="valid"):
        Verdict("holds", "r", conditions={"a": "probably"})


def test_combine_and_scope():
    assert combine({"a": "holds", "b": "holds"}) == "holds"
    assert combine({"a": "holds", "b": "does not hold"}) == "holds with caveats"
    with pytest.raises(ValueError, match="decided"):
        combine({"a": "inconclusive"})
    v = Verdict("does not hold", "r", scope="book-scale stand-in")
    assert core.verdict_cell(v) == "**does not hold on the book-scale stand-in**"


# --- stability on a constructed experiment --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CoinConfig:
    pass


def fake(monkeypatch, values: list[float]) -> experiments.Result:
    """A stand-in experiment, found by `experiments.get` only, whose summary is the mean of its
    seeds' `x`."""
    scales = ("smoke", "book", "paper")
    exp = experiments.Experiment(
        name="coin", chapter="coin", description="", version=1,
        configs={s: CoinConfig() for s in scales}, seeds={s: 1 for s in scales},
        run_seed=lambda *a, **k: {}, summarize=lambda cfg, seeds: statistics.mean(s["x"] for s in seeds.values()))
    monkeypatch.setattr(experiments, "get", lambda name: exp)
    return experiments.Result("coin", "book", CoinConfig(), {i: {"x": x} for i, x in enumerate(values)},
                              {}, None)


def rule(mean: float) -> Verdict:
    return Verdict("holds" if mean >= 0.5 else "does not hold", "r")


def test_stability_of_a_clear_case_is_one(monkeypatch):
    r = fake(monkeypatch, [0.9, 0.8, 1.0, 0.95, 0.85])
    assert stability.agreement(rule, "holds", [r]) == 1.0


def test_stability_of_a_coin_flip_is_near_a_half(monkeypatch):
    r = fake(monkeypatch, [0.0, 1.0] * 100)
    share = stability.agreement(rule, "holds", [r])
    assert 0.4 <= share <= 0.65


def test_stability_is_deterministic_and_not_applicable_without_seeds(monkeypatch):
    r = fake(monkeypatch, [0.0, 1.0] * 100)
    first = stability.agreement(rule, "holds", [r])
    assert stability.agreement(rule, "holds", [r]) == first
    assert stability.agreement(rule, "holds", [fake(monkeypatch, [0.7])]) is None


def test_an_unstable_verdict_is_inconclusive_and_says_why():
    v = Verdict("holds with caveats", "r", conditions={"a": "holds", "b": "does not hold"})
    low = core.steady(v, 0.6)
    assert low.status == "inconclusive" and "60%" in low.reason and low.stability == 0.6
    assert core.steady(v, stability.STABLE) == dataclasses.replace(v, stability=stability.STABLE)
    assert core.steady(v, None).stability is None and core.stability_text(core.steady(v, None)) == "n/a"
