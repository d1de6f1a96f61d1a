"""Units of work, the Ray launcher and the paper-scale runner (issue 12)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import pytest

from relu_tanh import experiments, launch, paper
from relu_tanh.experiments import costs
from relu_tanh.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass(frozen=True)
class StepConfig:
    value: int = 1


class Clocked:
    """A registered test experiment: each seed 'takes' `cost` seconds on a fake clock."""

    def __init__(self, register, clock: list[float], cost: float = 5.0, seeds: int = 3,
                 fail: bool = False):
        self.clock, self.cost, self.fail = clock, cost, fail
        self.name = register("clocked", StepConfig(), self.run_seed, seeds)

    def run_seed(self, cfg, *, seed, device, progress):
        if self.fail:
            raise RuntimeError("out of memory")
        self.clock[0] += self.cost
        return {"value": 10 * cfg.value + seed}


@pytest.fixture
def clocked(register_experiment, monkeypatch):
    """`clocked(clock, cost=...)`: a Clocked experiment whose declared smoke-scale CPU cost per
    unit is its `cost` (`experiments.costs`)."""
    def make(*args, **kw):
        c = Clocked(register_experiment, *args, **kw)
        key = ("smoke", "cpu")
        monkeypatch.setitem(costs.UNIT_SECONDS, key, {**costs.UNIT_SECONDS[key], c.name: c.cost})
        return c
    return make


@pytest.mark.parametrize("n_seeds, parts", [(5, 1), (5, 2), (5, 3), (2, 4)])
def test_units_partition_the_seeds(n_seeds, parts):
    shares = [experiments.unit_seeds(f"{k}/{parts}", n_seeds) for k in range(1, parts + 1)]
    flat = list(itertools.chain(*shares))
    assert sorted(flat) == list(range(n_seeds)) and len(flat) == len(set(flat))


@pytest.mark.parametrize("unit", ["0/3", "4/3", "a/b", "2", "1/0"])
def test_a_bad_unit_says_how_units_are_written(unit):
    with pytest.raises(ValueError, match="K/N"):
        experiments.unit_seeds(unit, 5)


def test_units_run_apart_fill_the_same_record_as_one_run(tmp_path, clocked):
    c = clocked([0.0])
    for k in (2, 1, 3):
        part = experiments.run(c.name, "smoke", root=tmp_path / "units", unit=f"{k}/3")
    whole = experiments.run(c.name, "smoke", root=tmp_path / "whole")
    assert without_timings(part.seeds) == without_timings(whole.seeds)
    assert sorted(part.seeds) == [0, 1, 2]
    record = json.loads(part.path.read_text())
    assert sorted(record["seed_provenance"]) == ["0", "1", "2"]


def test_the_cli_rejects_launcher_options_that_do_not_fit(isolated_dirs, capsys):
    assert main(["run", "derivatives", "--scale", "smoke", "--address", "auto"]) == 2
    assert "--launcher ray" in capsys.readouterr().err
    assert main(["run", "derivatives", "--scale", "smoke", "--launcher", "ray", "--unit", "1/2"]) == 2
    assert "splits" in capsys.readouterr().err
    with pytest.raises(ValueError, match="valid choices: local, ray"):
        launch.runner("slurm")


def test_paper_order_puts_the_headlines_first_and_keeps_book_order():
    names = paper.order()
    assert names[:len(paper.PRIORITY)] == list(paper.PRIORITY)
    rest = [n for n in experiments.names() if n not in paper.PRIORITY]
    assert names[len(paper.PRIORITY):] == rest
    assert paper.order(("derivatives", "krizhevsky")) == ["krizhevsky", "derivatives"]
    with pytest.raises(KeyError, match="valid choices"):
        paper.order(("nope",))


def test_the_budget_decides_which_units_start_and_finished_ones_are_kept(tmp_path, clocked, capsys):
    clock = [0.0]
    a, b = clocked(clock, cost=5.0), clocked(clock, cost=5.0)
    summary = paper.run_paper(12, root=tmp_path, device="cpu", scale="smoke", only=(a.name, b.name),
                              clock=lambda: clock[0])
    # a: seeds at t=0 and t=5 fit; at t=10 only 2 s are left, less than a seed's 5 s
    assert [(p.name, p.seeds, p.status) for p in summary] == [
        (a.name, 2, "partial (budget)"), (b.name, 0, "partial (budget)")]
    assert sorted(json.loads((tmp_path / a.name / "smoke.json").read_text())["seeds"]) == ["0", "1"]
    assert f"{a.name} seed 2/3" in capsys.readouterr().out
    resumed = paper.run_paper(100, root=tmp_path, device="cpu", scale="smoke", only=(a.name,),
                              clock=lambda: clock[0])
    assert (resumed[0].seeds, resumed[0].status) == (3, "done") and resumed[0].seconds == 5.0


def test_a_failing_experiment_is_reported_and_the_next_one_runs(tmp_path, clocked):
    clock = [0.0]
    bad, good = clocked(clock, fail=True), clocked(clock)
    summary = paper.run_paper(100, root=tmp_path, device="cpu", scale="smoke",
                              only=(bad.name, good.name), clock=lambda: clock[0])
    assert summary[0].status == "failed: RuntimeError: out of memory" and summary[0].seeds == 0
    assert (summary[1].seeds, summary[1].status) == (3, "done")
    assert "failed" in paper.format_summary(summary)


def test_the_paper_command_checks_its_input(isolated_dirs, capsys):
    assert main(["paper", "--budget", "10", "--device", "tpu9"]) == 2
    assert "tpu9" in capsys.readouterr().err
    with pytest.raises(ValueError, match="positive"):
        paper.run_paper(0, device="cpu")


def without_timings(seeds: dict) -> dict:
    return {s: {k: v for k, v in out.items() if k != "wall_s"} for s, out in seeds.items()}


@pytest.mark.slow
def test_a_smoke_sweep_through_ray_matches_the_sequential_run(tmp_path, monkeypatch):
    """Two CPUs, a local Ray instance, one task per seed; the records agree bitwise."""
    monkeypatch.setenv("RELU_TANH_RESULTS", str(tmp_path / "ray"))
    fanned = launch.run_ray("vanishing_init", "smoke", seeds=3, root=tmp_path / "ray")
    plain = experiments.run("vanishing_init", "smoke", seeds=3, root=tmp_path / "plain")
    assert sorted(fanned.seeds) == [0, 1, 2]
    assert without_timings(fanned.seeds) == without_timings(plain.seeds)
    stored = json.loads(fanned.path.read_text())
    assert {p["device"] for p in stored["seed_provenance"].values()} == {"cpu"}
    again = launch.run_ray("vanishing_init", "smoke", seeds=3, root=tmp_path / "ray")
    assert again.seeds == fanned.seeds  # nothing left to run: the stored seeds come back


def test_a_cpu_seed_records_no_accelerator_fields():
    from relu_tanh.store import results

    assert results.accelerator("cpu") == {}
    assert "cuda_driver" not in results.provenance("cpu")


def test_the_stored_run_note_names_each_machine_its_seeds_ran_on(isolated_dirs, clocked):
    from relu_tanh import book
    from relu_tanh.store import results

    c = clocked([0.0], seeds=3)
    res = experiments.run(c.name, "paper", root=results.results_dir())
    record = json.loads(res.path.read_text())
    record["seed_provenance"]["2"].update(device_name="NVIDIA H200", cuda_driver="580.1",
                                          cuda_runtime="13.0", tf32_cudnn=True)
    res.path.write_text(json.dumps(record))
    note = book.stored_note(c.name).data
    assert "3 seeds" in note and "seeds 0, 1 on CPU" in note
    assert "seed 2 on NVIDIA H200 (CUDA driver 580.1, runtime 13.0, TF32 on" in note
