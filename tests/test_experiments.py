"""The experiment runner: records with provenance, resuming, reuse rules and stored runs."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field

import pytest
import torch

from relu_tanh import experiments
from relu_tanh.experiments import saturation, sparsity
from relu_tanh.nets import models
from relu_tanh.store import results
from relu_tanh.experiments import Experiment, Result

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROVENANCE_KEYS = ("git_commit", "code_fingerprint", "torch", "device_name", "date")


def test_registered_experiments():
    names = experiments.names()
    assert {"derivatives", "vanishing_init", "vanishing_train"} <= set(names)
    for name in names:
        exp = experiments.get(name)
        assert set(exp.configs) >= {"smoke", "book", "paper"}
        assert all(n >= 1 for n in exp.seeds.values())


def test_unknown_experiment_lists_choices():
    with pytest.raises(KeyError) as err:
        experiments.get("nope")
    assert "nope" in err.value.args[0] and "derivatives" in err.value.args[0]


def test_config_for_scale_and_overrides():
    assert experiments.config_for("derivatives", "smoke") == experiments.get("derivatives").configs["smoke"]
    cfg = experiments.config_for("derivatives", "smoke", grid_points=11)
    assert cfg.grid_points == 11
    with pytest.raises(KeyError):
        experiments.config_for("derivatives", "smoke", gridpoints=11)
    with pytest.raises(ValueError):
        experiments.config_for("derivatives", "tiny")


def test_derivatives_smoke_writes_a_record_with_provenance(tmp_path):
    res = experiments.run("derivatives", "smoke", root=tmp_path)
    path = tmp_path / "derivatives" / "smoke.json"
    assert res.path == path and path.exists()
    rec = json.loads(path.read_text())
    assert rec["experiment"] == "derivatives" and rec["scale"] == "smoke"
    assert rec["config"]["grid_points"] == experiments.get("derivatives").configs["smoke"].grid_points
    assert all(rec["provenance"][k] for k in PROVENANCE_KEYS)
    assert rec["provenance"]["code_fingerprint"] == results.code_fingerprint(
        "relu_tanh.experiments.derivatives")  # the files the experiment imports
    assert list(rec["seeds"]) == ["0"] and rec["seeds"]["0"]["wall_s"] >= 0
    assert set(res.seeds) == {0} and res.provenance == rec["provenance"]
    s = res.summary
    assert s["sigmoid"]["max"] == 0.25 and s["tanh"]["max"] == 1.0
    assert s["relu"]["distinct"] == [0.0, 1.0]
    assert all(s[a]["max_abs_error"] < 1e-9 for a in res.config.activations)
    assert not any(tmp_path.rglob("*.tmp"))


def test_default_root_is_the_cache(isolated_dirs):
    res = experiments.run("derivatives", "smoke")
    assert res.path == isolated_dirs["cache"] / "derivatives" / "smoke.json" and res.path.exists()


# --- a tiny fake experiment to watch seeds being run, skipped and redone -------------------------


@dataclass(frozen=True)
class FakeConfig:
    value: int = 1
    sizes: tuple[int, ...] = (1, 2)


@dataclass(frozen=True)
class NestedConfig:
    inner: FakeConfig = field(default_factory=FakeConfig)
    tag: str = "x"


class Fake:
    """Registers an Experiment whose run_seed counts calls and can be told to crash once."""

    def __init__(self, config=None, seeds: int = 4, crash_on: int | None = None):
        self.name = f"fake_{uuid.uuid4().hex[:8]}"
        self.calls: list[tuple[int, object]] = []
        self.crash_on = crash_on
        config = config if config is not None else FakeConfig()
        experiments.register(Experiment(
            name=self.name, chapter="nowhere", description="test double", version=1,
            configs={"smoke": config, "book": config, "paper": config},
            seeds={"smoke": seeds, "book": seeds, "paper": seeds},
            run_seed=self.run_seed, summarize=lambda cfg, seeds: sorted(seeds),
        ))

    def run_seed(self, cfg, *, seed, device, progress):
        self.calls.append((seed, cfg))
        if seed == self.crash_on:
            self.crash_on = None  # only the first time
            raise KeyboardInterrupt
        return {"value": cfg.value * 10 + seed if hasattr(cfg, "value") else seed}

    @property
    def seeds_run(self) -> list[int]:
        return [s for s, _ in self.calls]


@pytest.fixture
def fake():
    made: list[Fake] = []

    def make(**kw) -> Fake:
        made.append(Fake(**kw))
        return made[-1]

    yield make
    for f in made:  # keep the global registry as it was
        experiments.EXPERIMENTS._entries.pop(f.name, None)


def test_experiment_needs_every_scale():
    with pytest.raises(ValueError, match="lacks scales"):
        Experiment("x", "c", "d", 1, {"smoke": 1}, {"smoke": 1, "book": 1, "paper": 1},
                   lambda *a, **k: {}, lambda c, s: None)


@pytest.mark.parametrize("version", [0, -1, 1.5, "1", True])
def test_experiment_needs_a_positive_integer_version(version):
    scales = {"smoke": 1, "book": 1, "paper": 1}
    with pytest.raises(ValueError, match="version must be a positive integer"):
        Experiment("x", "c", "d", version, scales, scales, lambda *a, **k: {}, lambda c, s: None)


def test_every_experiment_declares_its_version():
    assert all(type(experiments.get(n).version) is int for n in experiments.names())


def test_duplicate_experiment_name_raises(fake):
    f = fake()
    with pytest.raises(ValueError, match="already registered"):
        experiments.register(experiments.get(f.name))


def test_interrupted_run_resumes_without_redoing_finished_seeds(tmp_path, fake):
    f = fake(seeds=4, crash_on=2)
    with pytest.raises(KeyboardInterrupt):
        experiments.run(f.name, "smoke", root=tmp_path)
    assert f.seeds_run == [0, 1, 2]
    saved = results.load_record(tmp_path / f.name / "smoke.json")
    assert sorted(saved["seeds"]) == ["0", "1"]  # finished seeds were saved one by one

    res = experiments.run(f.name, "smoke", root=tmp_path)
    assert f.seeds_run == [0, 1, 2, 2, 3]  # resumed at seed 2
    assert sorted(res.seeds) == [0, 1, 2, 3]
    assert res.seeds[1]["value"] == 11 and res.seeds[3]["value"] == 13
    assert res.summary == [0, 1, 2, 3]

    again = experiments.run(f.name, "smoke", root=tmp_path)  # everything reused
    assert f.seeds_run == [0, 1, 2, 2, 3]
    assert again.seeds == res.seeds


def test_more_seeds_extend_and_fewer_seeds_select(tmp_path, fake):
    f = fake(seeds=2)
    experiments.run(f.name, "smoke", root=tmp_path)
    more = experiments.run(f.name, "smoke", seeds=3, root=tmp_path)
    assert f.seeds_run == [0, 1, 2] and sorted(more.seeds) == [0, 1, 2]
    fewer = experiments.run(f.name, "smoke", seeds=1, root=tmp_path)
    assert f.seeds_run == [0, 1, 2] and sorted(fewer.seeds) == [0]


def test_override_is_not_served_a_stale_record(tmp_path, fake):
    f = fake(seeds=2)
    experiments.run(f.name, "smoke", root=tmp_path)
    res = experiments.run(f.name, "smoke", root=tmp_path, value=5)
    assert f.seeds_run == [0, 1, 0, 1]  # all redone
    assert [c.value for _, c in f.calls[2:]] == [5, 5]
    assert res.config.value == 5 and res.seeds[1]["value"] == 51
    rec = results.load_record(tmp_path / f.name / "smoke.json")
    assert rec["config"] == {"value": 5, "sizes": [1, 2]}
    experiments.run(f.name, "smoke", root=tmp_path, value=5)  # same override: reused
    assert len(f.calls) == 4


def test_another_version_is_not_served_a_stale_record(tmp_path, fake, set_version):
    f = fake(seeds=1)
    experiments.run(f.name, "smoke", root=tmp_path)
    set_version(f.name, 2)
    res = experiments.run(f.name, "smoke", root=tmp_path)
    assert f.seeds_run == [0, 0]
    assert results.load_record(res.path)["version"] == 2


def test_other_code_alone_is_served_the_stored_record(tmp_path, fake, monkeypatch):
    """Source files do not identify a record: with another code fingerprint (any edit, a
    comment say) the stored seeds are reused; provenance still records the fingerprint."""
    f = fake(seeds=2)
    first = experiments.run(f.name, "smoke", root=tmp_path)
    monkeypatch.setattr(results, "code_fingerprint", lambda *modules: "f" * 16)
    again = experiments.run(f.name, "smoke", root=tmp_path)
    assert f.seeds_run == [0, 1] and again.seeds == first.seeds
    assert again.provenance["code_fingerprint"] == first.provenance["code_fingerprint"] != "f" * 16


def test_scales_are_stored_apart(tmp_path, fake):
    f = fake(seeds=1)
    experiments.run(f.name, "smoke", root=tmp_path)
    experiments.run(f.name, "book", root=tmp_path)
    assert f.seeds_run == [0, 0]
    assert sorted(p.name for p in (tmp_path / f.name).glob("*.json")) == ["book.json", "smoke.json"]


def test_load_stored_reads_from_the_results_dir(isolated_dirs, fake):
    f = fake(seeds=2, config=FakeConfig(value=3, sizes=(4, 5)))
    assert experiments.load_stored(f.name, "paper") is None
    experiments.run(f.name, "paper", root=results.results_dir())
    assert (isolated_dirs["results"] / f.name / "paper.json").exists()
    stored = experiments.load_stored(f.name, "paper")
    assert isinstance(stored, Result) and stored.scale == "paper"
    assert stored.config == FakeConfig(value=3, sizes=(4, 5))  # tuples restored from JSON lists
    assert sorted(stored.seeds) == [0, 1] and stored.seeds[1]["value"] == 31
    assert all(stored.provenance[k] for k in PROVENANCE_KEYS)
    assert stored.summary == [0, 1]
    assert experiments.load_stored(f.name, "smoke") is None  # in the cache root only if run there


def test_load_stored_ignores_the_version(isolated_dirs, fake, set_version):
    """Stored (paper) runs are shown whatever version made them; the record says which."""
    f = fake(seeds=1)
    experiments.run(f.name, "paper", root=results.results_dir())
    set_version(f.name, 2)
    assert experiments.load_stored(f.name, "paper") is not None


def test_load_stored_rebuilds_nested_configs(isolated_dirs, fake):
    f = fake(seeds=1, config=NestedConfig())
    experiments.run(f.name, "paper", root=results.results_dir())
    assert experiments.load_stored(f.name, "paper").config == NestedConfig()


# --- helpers of the sparsity and saturation experiments -------------------------------------


def test_dead_channel_is_off_at_every_position_of_every_example():
    net = models.cnn(models.CNNConfig(1, 2, 1, channels=3, depth=1, kernel_size=1, activation="relu"))
    with torch.no_grad():
        net.hidden[0].weight.copy_(torch.tensor([[[1.0]], [[-1.0]], [[0.0]]]))
        net.hidden[0].bias.copy_(torch.tensor([0.0, 0.0, -1.0]))
    # channel 1 is on where x > 0, channel 2 where x < 0, channel 3 never: one of three dead,
    # although every (channel, position) pair of channels 1 and 2 is off somewhere
    x = torch.tensor([[[1.0, -1.0, 2.0]], [[-1.0, 1.0, -2.0]]])
    (layer,) = sparsity.unit_activity(net, x)
    assert layer["dead"] == pytest.approx(1 / 3)
    assert layer["zero"] == pytest.approx(12 / 18)  # 3 + 3 + 6 zeros of 18 outputs


def test_top_layer_course_reads_one_run():
    stat = lambda share: [{"frac_saturated": 0.0}, {"frac_saturated": share}]
    row = {"steps": [0, 10, 20, 30, 40], "stats": [stat(v) for v in (0.1, 0.8, 0.7, 0.5, 0.3)]}
    c = saturation.top_layer_course(row)
    assert c["peak"] == 0.8 and c["peak_at"] == pytest.approx(0.25)
    assert c["rise_steps"] == 10 and c["fall_steps"] == 30 and c["end"] == 0.3
    never = {"steps": [0, 10, 20], "stats": [stat(v) for v in (0.1, 0.8, 0.7)]}
    assert saturation.top_layer_course(never)["fall_steps"] == math.inf


def test_vanishing_train_scores_each_seed_at_the_rate_chosen_on_the_others():
    """A rate that is lucky on one seed only is not reported on that seed."""
    from relu_tanh.experiments import vanishing
    cfg = vanishing.TrainSweepConfig(archs=("mlp",), activations=("sigmoid",), inits=("default",),
                                     depths=(2,), lrs=(0.1, 1.0), cnn_activations=("sigmoid",),
                                     cnn_depths=(2,),
                                     tunings=(vanishing.Tuning("sigmoid", (0.1, 1.0, 10.0), 2),))
    errors = {0.1: [0.8, 0.8, 0.8], 1.0: [0.6, 0.5, 0.5], 10.0: [0.1, 0.9, 0.9]}
    seeds = {s: {"rows": [{"arch": "mlp", "activation": "sigmoid", "init": "default", "depth": 2,
                           "lr": lr, "train_error": [0.9, e[s]], "test_error": [0.9, e[s]],
                           "diverged": False} for lr, e in errors.items()]} for s in range(3)}
    v = vanishing.summarize_train(cfg, seeds)[("mlp", "sigmoid", "default", 2)]
    assert v["lrs"] == [1.0, 10.0, 10.0] and not v["interior"]
    assert v["train_error"]["centre"] == pytest.approx(0.8)
    assert v["error_per_lr"][1.0] == pytest.approx(1.6 / 3) and v["runs"][0]["lr"] == 1.0
