"""The debate chapter: tasks and grid, success and censoring accounting, the tuning rule, and the
R6 verdict driven to each outcome on constructed summaries."""

from __future__ import annotations

import math

import pytest

from relu_tanh import experiments
from relu_tanh.training import sequences
from relu_tanh.claims import debate as claim
from relu_tanh.experiments import debate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(solved_at, final=0.01, diverged=False):
    return {"solved_at": solved_at, "final": None if diverged else final, "diverged": diverged}


def test_median_steps_counts_censored_runs_as_infinite():
    assert debate.median_steps([100, None, 200]) == 200
    assert debate.median_steps([100, None, None]) == math.inf  # most runs never solved
    assert debate.median_steps([None, None]) == math.inf
    assert debate.median_steps([300, 100]) == 200
    assert not math.isnan(debate.median_steps([]))


def test_point_stats_success_and_divergence():
    s = debate.point_stats([run(100), run(None, 0.2), run(None, diverged=True)], target=0.05)
    assert s["success"] == pytest.approx(1 / 3) and s["diverged"] == pytest.approx(1 / 3)
    assert s["median_steps"] == math.inf and s["final"] == pytest.approx((0.01 + 0.2) / 2)
    all_diverged = debate.point_stats([run(None, diverged=True)] * 2, target=0.05)
    assert math.isnan(all_diverged["final"]) and all_diverged["success"] == 0


def test_a_run_that_loses_the_target_again_is_censored():
    """Reached the target at step 100 but ended above it: not solved, censored."""
    lost, kept = run(100, final=0.09), run(300, final=0.04)
    assert debate.solved_at(lost, 0.05) is None and debate.solved_at(kept, 0.05) == 300
    s = debate.point_stats([lost, kept, kept], target=0.05)
    assert s["success"] == pytest.approx(2 / 3) and s["median_steps"] == 300
    assert debate.solved_at(run(100, diverged=True), 0.05) is None


def test_best_point_prefers_success_then_speed_then_final():
    stat = lambda success, steps, final: {"success": success, "median_steps": steps, "final": final}
    points = {(1e-3, 1.0): stat(2 / 3, 400, 0.01), (1e-2, 1.0): stat(2 / 3, 200, 0.02),
              (1e-1, 1.0): stat(1 / 3, 100, 0.001)}
    assert debate.best_point(points) == (1e-2, 1.0)
    points = {(1e-3, 1.0): stat(0.0, math.inf, math.nan), (1e-2, 1.0): stat(0.0, math.inf, 0.1)}
    assert debate.best_point(points) == (1e-2, 1.0)  # a point whose runs all diverged ranks last


def test_grid_is_the_same_protocol_for_every_model():
    cfg = debate.DebateConfig()
    settings = debate.grid(cfg, [0, 1, 2])
    assert len(settings) == (len(cfg.lrs.sgd) + len(cfg.lrs.adam)) * len(cfg.clips) * 3
    assert {s.lr for s in settings if s.optimizer == "adam"} == set(cfg.lrs["adam"])


def test_shares_partition_each_blocks_grid():
    """The registry seeds of one block train every setting of its grid exactly once."""
    cfg = debate.DebateConfig(seeds=3, shares=2)
    for block in range(2):
        seeds = list(range(3 * block, 3 * block + 3))
        shares = [debate.share_settings(cfg, 2 * block + j) for j in range(2)]
        assert sorted(map(repr, shares[0] + shares[1])) == sorted(map(repr, debate.grid(cfg, seeds)))
        assert abs(len(shares[0]) - len(shares[1])) <= 1 and not set(shares[0]) & set(shares[1])


def test_tasks_and_thresholds():
    cfg = experiments.config_for("debate", "smoke")
    ds, target, blowup = debate.load_task("adding-20", cfg)
    assert ds.x_train.shape[1:] == (20, 2)
    assert target == pytest.approx(debate.SOLVED_FRACTION / 6) and blowup > sequences.ADDING_BASELINE_MSE
    _, target, blowup = debate.load_task("mnist1d", cfg)
    assert target == debate.TARGET_ERROR["mnist1d"] and blowup == math.inf
    with pytest.raises(ValueError, match="fashion-rows"):
        debate.load_task("adding", cfg)


def test_matched_variant_gives_the_lstm_parameter_count():
    cfg = experiments.config_for("debate", "smoke")
    ds, _, _ = debate.load_task("adding-20", cfg)
    lstm = debate.model_config(cfg, "lstm", "equal", ds)
    tanh = debate.model_config(cfg, "tanh", "matched", ds)
    from relu_tanh.nets.recurrent import n_params
    assert tanh.hidden > lstm.hidden
    assert abs(n_params(tanh) - n_params(lstm)) / n_params(lstm) < 0.15


def test_smoke_run_summarises_every_kind_and_optimizer():
    res = experiments.run("debate", "smoke")
    s = res.summary
    cfg = res.config
    assert len(s["rows"]) == len(cfg.tasks) * len(cfg.kinds) * 2
    for r in s["rows"]:
        assert 0 <= r["success"] <= 1 and 0 <= r["sensitivity"] <= 1 and 0 <= r["divergence"] <= 1
        assert r["median_steps"] > 0 and not math.isnan(r["median_steps"])  # inf when censored
        assert r["model_steps_per_s"] > 0
    assert s["seeds"] == cfg.seeds


# --- the verdict on constructed summaries --------------------------------------------------------


def row(kind, family, success, sensitivity=1.0, steps=500.0):
    return {"kind": kind, "family": family, "success": success, "sensitivity": sensitivity,
            "median_steps": steps}


def summary(per_task, optimizers=("sgd", "adam"), sgd_informative=False):
    """per_task: task -> (relu success, gated success, relu sensitivity, gated sensitivity), Adam;
    SGD leaves every model unsolved unless `sgd_informative`."""
    fams = {}
    for task, (rs, gs, rsens, gsens) in per_task.items():
        fams[(task, "equal", "adam")] = {"ReLU RNN": row("irnn", "ReLU RNN", rs, rsens),
                                         "gated": row("lstm", "gated", gs, gsens)}
        sgd = (rs, gs) if sgd_informative else (0.0, 0.0)
        fams[(task, "equal", "sgd")] = {"ReLU RNN": row("irnn", "ReLU RNN", sgd[0], 0.0),
                                        "gated": row("lstm", "gated", sgd[1], 0.0)}
    return {"tasks": tuple(per_task), "families": fams, "optimizers": optimizers}


def test_verdict_holds():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": (1.0, 1.0, 0.67, 1.0), "mnist1d": (2 / 3, 1.0, 1.0, 1.0)}))
    assert v.status == "holds" and v.numbers["informative"] == 2 and "adam" in v.reason


def test_verdict_holds_when_fragile_a_point_the_claim_does_not_make():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": (1.0, 1.0, 0.33, 1.0)}))
    assert v.status == "holds" and "share" in v.reason and v.scope == "short book-scale sequences"


def test_verdict_on_some_tasks_only_is_inconclusive():
    """Matching on some tasks is decided by a seed or two: noise, not a named condition."""
    v = claim.relu_rnn_vs_gated(summary({"adding-50": (1.0, 1.0, 1, 1), "mnist1d": (0.0, 1.0, 0, 1)}))
    assert v.status == "inconclusive" and v.numbers["matched"] == 1


def test_verdict_on_long_tasks_has_no_scope():
    v = claim.relu_rnn_vs_gated(summary({"adding-400": (1.0, 1.0, 1, 1)}))
    assert v.status == "holds" and v.scope is None


def test_verdict_does_not_hold():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": (0.0, 1.0, 0, 1), "mnist1d": (1 / 3, 1.0, 0.33, 1),
                                         "fashion-rows": (1.0, 1.0, 1, 1)}))
    assert v.status == "does not hold" and v.numbers["matched"] == 1


def test_verdict_inconclusive_when_nothing_solves():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": (0.0, 0.0, 0, 0), "mnist1d": (0.0, 0.0, 0, 0)}))
    assert v.status == "inconclusive" and v.numbers["informative"] == 0


def test_verdict_rests_on_the_more_informative_optimizer():
    s = summary({"adding-50": (1.0, 1.0, 1, 1)})
    assert claim.resting_optimizer(s) == "adam"
    s["families"][("adding-50", "equal", "adam")]["ReLU RNN"]["success"] = 0.0
    s["families"][("adding-50", "equal", "adam")]["gated"]["success"] = 0.0
    s["families"][("adding-50", "equal", "sgd")]["gated"]["success"] = 1.0
    assert claim.resting_optimizer(s) == "sgd"
    assert claim.relu_rnn_vs_gated(s).status == "does not hold"


@pytest.mark.parametrize("change, message", [(dict(shares=0), "shares"), (dict(steps=(1,)), "one entry per task"),
                                             (dict(tasks=("adding-50", "pixel-mnist", "mnist1d")), "valid choices")])
def test_bad_config_stops_before_any_work(change, message):
    with pytest.raises(ValueError, match=message):
        experiments.config_for("debate", "book", **change)
