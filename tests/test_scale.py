"""Scale selection and type-checked config overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from relu_tanh.store import scales as scale
from relu_tanh.experiments.vanishing import SMOKE, TrainSweepConfig
from relu_tanh.store.scales import resolve
from relu_tanh.experiments.configs import override
from relu_tanh.training.loop import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass(frozen=True)
class Cfg:
    n: int = 1
    lr: float = 0.1
    names: tuple[str, ...] = ("a",)
    maybe: Optional[float] = None
    pep604: int | None = None
    mode: Literal["x", "y"] = "x"


def test_default_scale_is_book(monkeypatch):
    monkeypatch.delenv(scale.ENV_VAR, raising=False)
    assert resolve() == "book"


@pytest.mark.parametrize("s", ["smoke", "book", "paper"])
def test_scale_from_environment(monkeypatch, s):
    monkeypatch.setenv("RELU_TANH_SCALE", s)
    assert resolve() == s == resolve(None)


def test_a_given_scale_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("RELU_TANH_SCALE", "paper")
    assert resolve("smoke") == "smoke"


@pytest.mark.parametrize("given,env", [(None, "huge"), ("huge", "book"), ("Smoke", "book")])
def test_invalid_scale_lists_choices(monkeypatch, given, env):
    monkeypatch.setenv("RELU_TANH_SCALE", env)
    with pytest.raises(ValueError) as err:
        resolve(given)
    msg = str(err.value)
    assert (given or env) in msg and all(s in msg for s in ("smoke", "book", "paper"))


def test_override_returns_a_changed_copy():
    cfg = Cfg()
    new = override(cfg, n=3, names=("a", "b"), mode="y")
    assert (new.n, new.names, new.mode) == (3, ("a", "b"), "y")
    assert cfg == Cfg()  # the original is untouched
    assert override(cfg) == cfg


def test_override_rejects_unknown_keys_listing_fields():
    with pytest.raises(KeyError) as err:
        override(Cfg(), nn=3)
    msg = err.value.args[0]
    assert "nn" in msg and all(f.name in msg for f in dataclasses.fields(Cfg))


@pytest.mark.parametrize("key,value", [
    ("n", "3"), ("n", 2.5), ("lr", "0.1"), ("lr", True), ("names", ["a"]), ("names", ("a", 1)),
    ("maybe", "x"), ("pep604", 1.5), ("pep604", "1"), ("mode", "z"),
])
def test_override_rejects_wrong_types(key, value):
    with pytest.raises(TypeError, match=key):
        override(Cfg(), **{key: value})


@pytest.mark.parametrize("key,value", [
    ("lr", 1), ("lr", 1.5), ("names", ("a",)), ("names", ("a", "b")), ("maybe", None), ("maybe", 2),
    ("maybe", 0.5), ("pep604", None), ("pep604", 7), ("mode", "y"),
])
def test_override_accepts_matching_types(key, value):
    assert getattr(override(Cfg(), **{key: value}), key) == value


@pytest.mark.parametrize("key,value", [("names", ()), ("lr", 0), ("lr", -0.1), ("n", 0)])
def test_override_rejects_values_that_cannot_work(key, value):
    """Types are right, values are not: an empty grid, a learning rate or count not positive."""
    @dataclass(frozen=True)
    class Counts:
        n_train: int = 1
        lr: float = 0.1
        names: tuple[str, ...] = ("a",)

    with pytest.raises(ValueError, match="n_train" if key == "n" else key):
        override(Counts(), **{"n_train" if key == "n" else key: value})


def test_override_on_library_configs():
    """The real configs use `X | None`, tuples, Literal and a nested dataclass."""
    assert override(SMOKE, n_train=100).n_train == 100
    assert override(SMOKE, n_train=None).n_train is None
    assert override(SMOKE, depths=(2, 3)).depths == (2, 3)
    assert override(TrainConfig(), lr=1, clip=5, optimizer="adam").clip == 5
    assert override(TrainConfig(), clip=None).clip is None
    with pytest.raises(TypeError):
        override(TrainConfig(), optimizer="rmsprop")
    sweep = TrainSweepConfig()
    assert override(sweep, train=TrainConfig(epochs=1)).train.epochs == 1
    with pytest.raises(TypeError):
        override(sweep, train={"epochs": 1})
