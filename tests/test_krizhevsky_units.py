"""Figure 1's raced paper protocol: spans resume bitwise, the plan derives its runs from the
stored races, and every run is planned once."""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
import torch

from relu_tanh.experiments import krizhevsky, krizhevsky_units as units
from relu_tanh.nets import models
from relu_tanh.training.loop import TrainConfig, train

# a raced config small enough to train in seconds: 256 Fashion-MNIST images at 16x16
SMOKE = krizhevsky.Figure1Config(
    n_train=256, n_test=64, channels=(4, 4, 8), variants=("modern",),
    lr_base=(0.03, 0.1), lr_factors=(1 / 3, 1.0, 3.0), epochs=3, thresholds=(0.01,),
    threshold=0.01, race_epochs=1, tuning_seeds=(100,), check_arms=(("modern", "relu"),),
    span_epochs=1, channels_last=True)

# for plans only (nothing trains): two pipelines, the paper's grids
PLAN = dataclasses.replace(krizhevsky.Figure1Config(), variants=("2012", "modern"),
                           lr_base=(1e-3, 1e-2, 1e-2, 3e-2), epochs=45, race_epochs=3,
                           tuning_seeds=(1000,), check_arms=(("modern", "relu"),), span_epochs=15)


def record(run: units.Run, errors: list[float], finished: bool = False,
           diverged: bool = False) -> dict:
    return {"run": dataclasses.asdict(run), "finished": finished, "spans": [],
            "checkpoint": None if finished else f"{run.key}.e{len(errors)}.pt",
            "history": {"epoch_train_error": errors, "diverged": diverged}}


def races(config, errors: dict[tuple[str, str, float], float]) -> dict:
    """Stored race runs: one per (variant, activation, rate) at every tuning seed."""
    return {units.Run(v, a, lr, s).key: record(units.Run(v, a, lr, s), [0.9, 0.8, e])
            for (v, a, lr), e in errors.items() for s in config.tuning_seeds}


def settled_races(config) -> dict:
    """Every arm's race won by its middle rate."""
    return races(config, {(v, a, lr): (0.5 if i == 1 else 0.6)
                          for v, a in units.arms(config)
                          for i, lr in enumerate(config.lrs(v, a))})


def test_resumed_training_is_bitwise_the_uninterrupted_run():
    ds = units.dataset(SMOKE, "standardised")
    mcfg = krizhevsky.pipeline_config(SMOKE, ds, "modern", "tanh")
    tcfg = TrainConfig(epochs=3, batch_size=64, lr=0.1, momentum=0.9, log_every=3,
                       channels_last=True)

    def fresh() -> models.ConvNet:
        torch.manual_seed(7)
        return models.ConvNet(mcfg)

    whole = fresh()
    h_whole = train(whole, ds, tcfg, seed=7)
    state: dict = {}
    h_first = train(fresh(), ds, tcfg, seed=7, until_epoch=1, on_stop=state.update)
    assert len(h_first.epoch_train_error) == 1
    buf = io.BytesIO()
    torch.save(state, buf)  # through a file, as a checkpoint goes
    buf.seek(0)
    resumed = fresh()  # a new process: new weights, overwritten by the checkpoint
    h_rest = train(resumed, ds, tcfg, seed=7, resume=torch.load(buf, weights_only=True))
    assert h_rest.epoch_train_error == h_whole.epoch_train_error
    assert h_rest.epoch_test_error == h_whole.epoch_test_error
    assert h_rest.loss == h_whole.loss and h_rest.steps == h_whole.steps
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_spans_stored_and_resumed_give_the_uninterrupted_curve(tmp_path):
    run = units.Run("modern", "relu", 0.1, 3)
    target = units.Target("eval", run, SMOKE.epochs)
    spans = [units.Span(target, a, a + 1) for a in range(SMOKE.epochs)]
    for span in spans:  # one process per span: each starts from the stored checkpoint
        rec = units.train_span(SMOKE, span, tmp_path)
    assert rec["finished"] and rec["checkpoint"] is None
    assert [s["epochs"] for s in rec["spans"]] == [[0, 1], [1, 2], [2, 3]]
    assert not list(units.runs_dir(tmp_path).glob("*.pt"))  # a finished run keeps no checkpoint
    ds = units.dataset(SMOKE, "standardised")
    torch.manual_seed(run.seed)
    model = models.ConvNet(krizhevsky.pipeline_config(SMOKE, ds, "modern", "relu"))
    whole = train(model, ds, TrainConfig(epochs=3, batch_size=SMOKE.batch_size, lr=0.1,
                                         momentum=0.9, log_every=50, channels_last=True), seed=3)
    assert rec["history"]["epoch_train_error"] == whole.epoch_train_error
    assert {"cpu_model", "torch", "torch_threads", "git_commit", "wall_s"} <= set(rec["spans"][0])


def test_a_stored_run_of_another_setting_is_refused(tmp_path):
    units.train_span(SMOKE, units.Span(units.Target("race", units.Run("modern", "relu", 0.1, 100), 1), 0, 1), tmp_path)
    other = dataclasses.replace(SMOKE, momentum=0.5)
    with pytest.raises(units.results.RecordError, match="another setting"):
        units.load_runs(other, tmp_path)


def test_the_plan_starts_with_every_arms_race_and_nothing_else():
    plan = units.derive(PLAN, 5, {})
    assert {t.stage for t in plan.targets} == {"race"}
    assert sorted((t.run.variant, t.run.activation, t.run.lr) for t in plan.targets) == sorted(
        (v, a, lr) for v, a in units.arms(PLAN) for lr in PLAN.lrs(v, a))
    assert all(t.until == PLAN.race_epochs and t.run.seed == 1000 for t in plan.targets)


def test_an_interior_winner_gets_paired_evaluation_seeds_and_a_checked_arm_its_check_first():
    plan = units.derive(PLAN, 5, settled_races(PLAN))
    evals = [t.run for t in plan.targets if t.stage == "eval"]
    for a in plan.arms:
        mine = [r for r in evals if (r.variant, r.activation) == (a.variant, a.activation)]
        if (a.variant, a.activation) == ("modern", "relu"):  # checked: waits for its check
            assert not a.settled and a.rate is None and not mine
            continue
        middle = PLAN.lrs(a.variant, a.activation)[1]
        assert a.settled and a.rate == middle
        assert sorted(r.seed for r in mine) == list(range(5)) and {r.lr for r in mine} == {middle}
    check = [t for t in plan.targets if t.stage == "check"]
    assert sorted(t.run.lr for t in check) == list(PLAN.lrs("modern", "relu"))
    assert all(t.until == PLAN.epochs and t.run.seed == 1000 for t in check)


def test_an_edge_winner_extends_the_grid_until_it_is_interior():
    stored = settled_races(PLAN)
    grid = PLAN.lrs("2012", "tanh")
    stored.update(races(PLAN, {("2012", "tanh", grid[-1]): 0.3}))  # the largest rate wins
    plan = units.derive(PLAN, 5, stored)
    arm = next(a for a in plan.arms if (a.variant, a.activation) == ("2012", "tanh"))
    beyond = float(f"{grid[-1] * PLAN.lr_step:.3g}")
    assert arm.winner is None and arm.grid == [*grid, beyond] and arm.extensions == 1
    pending = [t for t in plan.targets if t.run.key not in stored]
    assert [(t.stage, t.run.lr) for t in pending if t.run.activation == "tanh"
            and t.run.variant == "2012"] == [("race", beyond)]
    assert not [t for t in plan.targets if t.stage == "eval" and t.run.variant == "2012"
                and t.run.activation == "tanh"]
    stored.update(races(PLAN, {("2012", "tanh", beyond): 0.7}))  # beyond is worse: interior now
    plan = units.derive(PLAN, 5, stored)
    evals = {t.run.lr for t in plan.targets if t.stage == "eval" and t.run.variant == "2012"
             and t.run.activation == "tanh"}
    assert evals == {grid[-1]}


def test_a_diverged_rate_loses_and_a_race_that_keeps_hitting_the_edge_gives_up():
    config = dataclasses.replace(PLAN, max_extensions=2, check_arms=())
    stored = settled_races(config)
    lr = config.lrs("modern", "tanh")[0]
    stored.update(races(config, {("modern", "tanh", lr): 0.1}))  # the smallest wins, every time
    for k in range(1, 3):
        smaller = float(f"{lr / config.lr_step ** k:.3g}")
        stored.update(races(config, {("modern", "tanh", smaller): 0.1 - 0.01 * k}))
    arm = next(a for a in units.derive(config, 5, stored).arms if a.activation == "tanh"
               and a.variant == "modern")
    assert arm.extensions == 2 and not arm.settled and arm.winner == min(arm.grid)
    big = config.lrs("modern", "relu")[-1]
    run = units.Run("modern", "relu", big, 1000)
    stored[run.key] = record(run, [0.9], finished=True, diverged=True)
    arm = next(a for a in units.derive(config, 5, stored).arms if a.activation == "relu"
               and a.variant == "modern")
    assert arm.errors[big] == math.inf and arm.settled


def test_every_run_is_planned_once_and_its_spans_tile_its_epochs():
    stored = settled_races(PLAN)
    plan = units.derive(PLAN, 5, stored)
    runs = [t.run for t in plan.targets]
    assert len(runs) == len(set(runs))  # a check continues its race run rather than repeating it
    n_race = sum(len(PLAN.lrs(v, a)) for v, a in units.arms(PLAN))
    # the races (the check among them) and 3 arms x 5 seeds: the checked arm's wait for its check
    assert len(runs) == n_race + 3 * 5
    by_run: dict = {}
    for s in plan.spans(PLAN):
        by_run.setdefault(s.target.run, []).append((s.start, s.end))
    for t in plan.targets:
        if t.run.key in stored and t.until == PLAN.race_epochs:
            assert t.run not in by_run  # a finished race needs nothing more
            continue
        cuts = by_run[t.run]
        start = 3 if t.run.key in stored else 0
        assert cuts[0][0] == start and cuts[-1][1] == t.until
        assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
        assert all(b - a <= PLAN.span_epochs for a, b in cuts)


def test_tuning_seeds_must_not_be_evaluation_seeds():
    with pytest.raises(ValueError, match="overlap"):
        units.derive(dataclasses.replace(PLAN, tuning_seeds=(2,)), 5, {})


def test_work_trains_the_whole_protocol_and_writes_the_record(tmp_path, capsys):
    spans = units.work(SMOKE, 2, tmp_path, poll_s=0)
    plan = units.load_plan(SMOKE, 2, tmp_path)
    assert spans > 0 and not plan.spans(SMOKE)
    record = units.results.load_record(units.results.record_path(tmp_path, "krizhevsky", "paper"))
    settled = [a for a in plan.arms if a.settled]
    if settled:  # each arm's seeds are assembled into the ordinary record the chapter reads
        assert sorted(record["seeds"]) == ["0", "1"]
        assert {r["activation"] for r in record["seeds"]["0"]["rows"]} == {"relu", "tanh"}
    assert "nothing left to train" in capsys.readouterr().out
    assert not list(units.runs_dir(tmp_path).glob("*.pt"))  # no span will resume: none kept
    assert units.work(SMOKE, 2, tmp_path, poll_s=0) == 0  # the next call computes nothing


def test_the_ratio_is_the_second_activation_over_the_first():
    with pytest.raises(ValueError, match="one or two names"):
        krizhevsky.Figure1Config(activations=("relu", "relu"))
    rows = lambda seed: [{"variant": "modern", "activation": a, "lr": 0.1, "diverged": False,
                          "train_error": [0.5, 0.2] if a == "relu" else [0.6, 0.4, 0.2],
                          "test_error": [], "seconds": []} for a in ("relu", "tanh")]
    seeds = {s: {"rows": rows(s), "data": "d (x)"} for s in range(3)}
    cfg = dict(variants=("modern",), lr_base=(0.1, 0.1), lr_factors=(1.0,), epochs=3,
               thresholds=(0.25,), threshold=0.25)
    forward = krizhevsky.summarize(krizhevsky.Figure1Config(**cfg), seeds)
    backward = krizhevsky.summarize(krizhevsky.Figure1Config(activations=("tanh", "relu"), **cfg), seeds)
    key = ("modern", 0.25)
    assert forward["ratios"][key]["median_low"] == pytest.approx(1 / backward["ratios"][key]["median_low"])
    assert forward["ratios"][key]["median_low"] > 1  # tanh took longer


def test_progress_counts_races_finished_evaluations_and_cpu_hours():
    stored = settled_races(PLAN)
    first = next(iter(stored.values()))
    first["spans"] = [{"wall_s": 1800.0, "torch_threads": 2, "cpu_model": "Xeon"}]  # 1 CPU-hour
    eval_run = units.Run("2012", "relu", PLAN.lrs("2012", "relu")[1], 0)
    stored[eval_run.key] = record(eval_run, [0.5, 0.2], finished=True)
    p = units.progress(PLAN, units.derive(PLAN, 5, stored), 5)
    arms = {(a["variant"], a["activation"]): a for a in p["arms"]}
    assert set(arms) == set(units.arms(PLAN)) and p["cpu_hours"] == pytest.approx(1.0)
    assert p["machines"]["Xeon"] == 1 and sum(p["machines"].values()) == p["spans"]
    assert arms["2012", "relu"]["eval_done"] == 1 and arms["modern", "tanh"]["eval_done"] == 0
    assert all(a["winner"] == PLAN.lrs(*k)[1] and not a["racing"] for k, a in arms.items())
    nothing = units.progress(PLAN, units.derive(PLAN, 5, {}), 5)
    assert all(a["racing"] and a["winner"] is None for a in nothing["arms"]) and nothing["spans"] == 0


def test_the_ladder_trains_each_evaluation_seed_on_fewer_images_at_the_races_rate():
    config = dataclasses.replace(PLAN, ladder=((256, 60), (512, 30)), check_arms=())
    plan = units.derive(config, 5, settled_races(config))
    ladder = [t for t in plan.targets if t.stage == "ladder"]
    assert len(ladder) == 2 * 4 * 5  # sizes x arms x seeds
    for t in ladder:
        assert t.run.lr == config.lrs(t.run.variant, t.run.activation)[1]  # the race's winner
        assert t.until == dict(config.ladder)[t.run.images] and t.run.seed in range(5)
    keys = [t.run.key for t in plan.targets]
    assert len(keys) == len(set(keys))  # a ladder run never shares a file with a full run
    quarter = next(t.run for t in ladder if t.run.images == 256)
    assert units.identity(config, quarter)["n_train"] == 256
    assert units.identity(config, quarter)["epochs"] == 60
    # a quarter of the images: spans four times as many epochs, so each costs a full span
    spans = [(s.start, s.end) for s in plan.spans(config) if s.target.run == quarter]
    assert spans == [(0, 60)] and units.work_left(config, plan.spans(config)[-1:]) <= config.span_epochs


def test_finished_ladder_runs_join_their_seed_in_the_record(tmp_path):
    config = dataclasses.replace(SMOKE, ladder=((128, 2),))
    units.work(config, 2, tmp_path, poll_s=0)
    plan = units.load_plan(config, 2, tmp_path)
    assert not plan.spans(config)
    record = units.results.load_record(units.results.record_path(tmp_path, "krizhevsky", "paper"))
    assert all(a.settled for a in plan.arms)  # both races end interior on these images
    rows = record["seeds"]["0"]["ladder"]
    assert {(r["activation"], r["images"]) for r in rows} == {("relu", 128), ("tanh", 128)}
    assert all(len(r["train_error"]) <= 2 for r in rows)
    summary = krizhevsky.summarize(config, {int(k): v for k, v in record["seeds"].items()})
    assert sorted(summary["ladder"]) == [("modern", 128), ("modern", 256)]
    assert summary["ladder"][("modern", 128)]["cap"] == 2
    assert summary["ladder"][("modern", 256)]["cap"] == config.epochs
    for act, a in zip(("relu", "tanh"), plan.arms):  # the race's rate, interior by the race
        got = summary["arms"][("modern", act, config.threshold)]
        assert got["lr"] == a.winner and got["interior"] and got["total"] == 2


def test_checks_train_before_the_evaluation_and_the_ladder_last():
    config = dataclasses.replace(PLAN, check_arms=(("modern", "relu"), ("2012", "tanh")),
                                 ladder=((256, 60),))
    plan = units.derive(config, 5, settled_races(config))
    stages = [s.target.stage for s in plan.spans(config)]
    assert stages == sorted(stages, key=units.STAGES.index)  # check, then eval, then ladder
    checked = {(t.run.variant, t.run.activation) for t in plan.targets if t.stage == "check"}
    assert checked == {("modern", "relu"), ("2012", "tanh")}
    assert set(units.check_table(config, plan)) == {"modern relu", "2012 tanh"}


def test_a_record_assembled_under_another_config_does_not_stop_paper(tmp_path, monkeypatch):
    """Figure 1's record is derived from its runs, so `paper` checks the runs, and the next
    assembly replaces a record written under an older config (the runs are kept)."""
    from relu_tanh import experiments, paper
    exp = experiments.get("krizhevsky")
    monkeypatch.setitem(exp.configs, "paper", SMOKE)
    monkeypatch.setitem(exp.seeds, "paper", 2)
    old = dataclasses.replace(SMOKE, momentum=0.5)
    path = units.results.record_path(tmp_path, "krizhevsky", "paper")
    path.parent.mkdir(parents=True)
    units.results.write_atomic(path, {**units.record_header("krizhevsky", "paper", old),
                                      "provenance": {}, "seeds": {}, "seed_provenance": {}})
    (progress,) = paper.run_paper(600, root=tmp_path, device="cpu", only=("krizhevsky",))
    assert progress.status == "done" and progress.seeds == 2
    assert units.results.load_record(path)["config"]["momentum"] == SMOKE.momentum


def test_a_run_whose_checkpoint_was_pruned_trains_again_from_its_start(tmp_path):
    """A race run extended by a check after its checkpoint was pruned: the plan restarts it at
    epoch 0, and the new record reproduces the stored epochs before going on."""
    run = units.Run("modern", "relu", 0.1, 100)
    race = units.train_span(SMOKE, units.Span(units.Target("race", run, 1), 0, 1), tmp_path)
    path = units.runs_dir(tmp_path) / f"{run.key}.json"
    (units.runs_dir(tmp_path) / race["checkpoint"]).unlink()
    units.results.write_atomic(path, {**race, "checkpoint": None})
    pruned = units.read_run(path)
    assert units.resumable(pruned) == 0 and units.epochs_done(pruned) == 1
    plan = units.Plan([units.Target("check", run, SMOKE.epochs)], [], {run.key: pruned})
    first = plan.spans(SMOKE)[0]
    assert (first.start, first.end) == (0, 1)
    rec = units.train_span(SMOKE, first, tmp_path)
    assert rec["history"]["epoch_train_error"] == race["history"]["epoch_train_error"]
    with pytest.raises(RuntimeError, match="resumable from epoch"):
        units.train_span(SMOKE, units.Span(units.Target("check", run, SMOKE.epochs), 0, 1), tmp_path)


@pytest.mark.parametrize("check, rate, says", [
    ({"0.01": None, "0.03": math.inf}, None, "still running"),
    ({"0.01": 30.0, "0.03": math.inf}, 0.01, "moves it from the race's 0.03 to 0.01"),
    ({"0.01": math.inf, "0.03": 20.0}, 0.03, "keeps the race's rate"),
    ({"0.01": 30.0, "0.03": math.inf}, None, "ends at an edge")])
def test_the_page_says_what_the_check_did_to_the_raced_rate(monkeypatch, check, rate, says):
    from relu_tanh import book
    arm = {"variant": "2012", "activation": "tanh", "winner": 0.03, "rate": rate, "check": check}
    monkeypatch.setattr(units, "load_plan", lambda *a: None)
    monkeypatch.setattr(units, "progress", lambda *a: {"arms": [arm]})
    assert says in book.figure1_checks()


def checked(config, stored, variant, act, epochs: dict[float, float]) -> None:
    """Continue each rate's race run (or start one) to a finished full run that first gets below
    the threshold after the given epochs (inf: never, within the cap)."""
    for lr, e in epochs.items():
        for s in config.tuning_seeds:
            run = units.Run(variant, act, lr, s)
            raced = stored[run.key]["history"]["epoch_train_error"] if run.key in stored else [0.9] * 3
            n = config.epochs if math.isinf(e) else int(e)
            tail = [0.9] * (n - len(raced) - 1) + [0.9 if math.isinf(e) else config.threshold / 2]
            stored[run.key] = record(run, raced + tail, finished=True)


def test_the_check_decides_the_rate_and_grows_until_it_is_interior():
    """2012 tanh: the race picks its middle rate, but on the full runs the smaller neighbour
    reaches the threshold and the winner never does; the check adds the rate below, which never
    reaches it either, and the arm evaluates at the smaller neighbour."""
    config = dataclasses.replace(PLAN, check_arms=(("2012", "tanh"),))
    stored = settled_races(config)
    lo, mid, hi = config.lrs("2012", "tanh")
    plan = units.derive(config, 5, stored)
    arm = next(a for a in plan.arms if (a.variant, a.activation) == ("2012", "tanh"))
    assert not arm.settled and arm.check == {lo: None, mid: None, hi: None}
    assert not [t for t in plan.targets if t.stage == "eval" and t.run.activation == "tanh"
                and t.run.variant == "2012"]  # the evaluation waits for the check
    checked(config, stored, "2012", "tanh", {lo: 30, mid: math.inf, hi: math.inf})
    arm = next(a for a in units.derive(config, 5, stored).arms if a.activation == "tanh" and a.variant == "2012")
    below = float(f"{lo / config.lr_step:.3g}")
    assert list(arm.check) == [below, lo, mid, hi] and arm.check[below] is None and arm.rate is None
    checked(config, stored, "2012", "tanh", {below: math.inf})
    plan = units.derive(config, 5, stored)
    arm = next(a for a in plan.arms if a.activation == "tanh" and a.variant == "2012")
    assert arm.settled and arm.rate == lo and arm.winner == mid
    evals = {t.run.lr for t in plan.targets if t.stage in ("eval", "ladder")
             and (t.run.variant, t.run.activation) == ("2012", "tanh")}
    assert evals == {lo}
    assert units.check_table(config, plan)["2012 tanh"][f"{lo:.3g}"] == pytest.approx(30, abs=1)


def test_a_check_that_reaches_nothing_keeps_the_races_rate():
    config = dataclasses.replace(PLAN, check_arms=(("modern", "relu"),))
    stored = settled_races(config)
    checked(config, stored, "modern", "relu", dict.fromkeys(config.lrs("modern", "relu"), math.inf))
    arm = next(a for a in units.derive(config, 5, stored).arms if (a.variant, a.activation) == ("modern", "relu"))
    assert arm.settled and arm.rate == arm.winner == config.lrs("modern", "relu")[1]


def test_a_record_of_seeds_at_a_rate_the_check_moved_is_removed(tmp_path):
    path = units.results.record_path(tmp_path, "krizhevsky", "paper")
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    plan = units.derive(PLAN, 5, settled_races(PLAN))  # no evaluation run has finished
    assert units.assemble(PLAN, plan, tmp_path) == 0 and not path.exists()


def test_the_page_names_the_arms_whose_check_kept_the_rate_once(monkeypatch):
    from relu_tanh import book
    arms = [{"variant": v, "activation": a, "winner": 0.01, "rate": 0.01, "check": {"0.01": 7.0}}
            for v, a in (("2012", "relu"), ("modern", "relu"), ("modern", "tanh"))]
    monkeypatch.setattr(units, "load_plan", lambda *a: None)
    monkeypatch.setattr(units, "progress", lambda *a: {"arms": arms})
    assert book.figure1_checks() == ("the checks of the 2012 relu, modern relu and modern tanh "
                                     "arms keep the race's rates")
