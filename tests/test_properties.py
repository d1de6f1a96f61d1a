"""Property tests (Hypothesis, issue 21): the store fed records of random shapes, and the config
checks fed random field values, answer with a valid result or a one-line error, never a
traceback, and never lose a finished seed."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from relu_tanh import experiments
from relu_tanh.store import results, schema

pytestmark = pytest.mark.usefixtures("one_torch_thread")
# no subnormal floats: run_unit flushes them to zero (torch.set_flush_denormal), as Hypothesis notices
SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)


@dataclass(frozen=True)
class TinyConfig:
    value: int = 1


def valid_record(name: str, seeds: tuple[int, ...], value: int = 1) -> dict:
    return {"experiment": name, "scale": "smoke", "config": {"value": value}, "version": 1,
            "provenance": {"torch_threads": 1},
            "seeds": {str(s): {"value": 10 * value + s} for s in seeds},
            "seed_provenance": {str(s): {"torch_threads": 1} for s in seeds}}


@st.composite
def records(draw, name: str) -> dict:
    """A valid record of `name` with some of its fields replaced by random JSON, or deleted,
    or of another config; sometimes random JSON altogether."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(JSON)
    record = valid_record(name, tuple(draw(st.sets(st.integers(0, 2), max_size=3))),
                          value=draw(st.sampled_from([1, 2])))
    for key in draw(st.sets(st.sampled_from(sorted(record)), max_size=3)):
        if draw(st.booleans()):
            del record[key]
        else:
            record[key] = draw(JSON)
    return record


@pytest.fixture
def tiny(register_experiment):
    def run_seed(cfg, *, seed, device, progress):
        return {"value": 10 * cfg.value + seed}

    return register_experiment("prop", TinyConfig(), run_seed, 2)


@SETTINGS
@given(data=st.data())
def test_the_store_answers_any_record_shape_and_loses_no_finished_seed(tiny, data):
    stored = data.draw(records(tiny))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / tiny / "smoke.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(stored))
        try:
            res = experiments.run(tiny, "smoke", root=Path(tmp))
        except results.RecordError as err:
            assert "\n" not in str(err)
            return
        assert sorted(res.seeds) == [0, 1] and schema.problem(json.loads(path.read_text())) is None
        kept = [json.loads(p.read_text()) for p in path.parent.iterdir()
                if p.name != "smoke.json" and not p.name.startswith(".")]
        if schema.problem(stored) is not None:
            assert stored in kept  # set aside whole, not half-processed
        elif stored["config"] != {"value": 1} or stored.get("version", 0) != 1:
            assert any(stored["seeds"].items() <= k.get("seeds", {}).items() for k in kept)
        else:
            assert stored["seeds"].items() <= json.loads(path.read_text())["seeds"].items()


def numeric_fields() -> list[tuple[str, str, str]]:
    """(experiment, scale, field) of every top-level field of every registered config."""
    return [(name, scale, f.name) for name in experiments.names()
            for scale, cfg in experiments.get(name).configs.items() for f in dataclasses.fields(cfg)]


VALUES = (st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_subnormal=False) | st.text(max_size=6)
          | st.tuples() | st.lists(st.integers(-2, 40) | st.floats(-2, 40, allow_subnormal=False), min_size=1, max_size=3).map(tuple)
          | st.lists(st.text(max_size=6), min_size=1, max_size=2).map(tuple))


@SETTINGS
@given(target=st.sampled_from(numeric_fields()), value=VALUES)
def test_config_checks_answer_any_field_value_in_one_line(target, value):
    name, scale, field = target
    try:
        config = experiments.config_for(name, scale, **{field: value})
    except (KeyError, TypeError, ValueError) as err:
        message = err.args[0] if err.args else str(err)
        assert isinstance(message, str) and message and "\n" not in message
        return
    experiments.configs.validate(config)  # what was accepted is valid as a whole
