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


def test_tuning_rule_prefers_success_then_speed_then_final():
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
    assert {s.optimizer for s in debate.grid(debate.DebateConfig(optimizers=("adam",)), [0])} == {"adam"}
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
    assert len(s["rows"]) == len(cfg.tasks) * len(cfg.kinds) * len(cfg.optimizers)
    for r in s["rows"]:
        assert 0 <= r["success"] <= 1 and 0 <= r["sensitivity"] <= 1 and 0 <= r["divergence"] <= 1
        assert r["median_steps"] > 0 and not math.isnan(r["median_steps"])  # inf when censored
        assert r["model_steps_per_s"] > 0 and len(r["picks"]) == r["n"] == cfg.seeds
    assert s["seeds"] == cfg.seeds


# --- the verdict on constructed summaries --------------------------------------------------------

RELU = ("relu", "irnn", "nprnn", "indrnn")
GATED = ("lstm", "gru")


def summary(solved, n=6, optimizers=("adam",)):
    """solved: task -> {kind: seeds solved of n}; a kind left out of a task solved none."""
    rows = [{"task": t, "variant": "equal", "kind": k, "optimizer": o, "successes": per.get(k, 0),
             "n": n, "success": per.get(k, 0) / n}
            for t, per in solved.items() for k in RELU + GATED for o in optimizers]
    return {"tasks": tuple(solved), "kinds": RELU + GATED, "optimizers": optimizers, "rows": rows}


def everyone(k, **override):
    return {kind: k for kind in RELU + GATED} | override


def test_verdict_holds_when_every_relu_rnn_matches_every_gated_net():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": everyone(6), "mnist1d": everyone(6)}))
    assert v.status == "holds" and v.scope == "short book-scale sequences"


def test_verdict_does_not_hold_when_every_relu_rnn_falls_short():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": {"lstm": 6, "gru": 6, "irnn": 1}}))
    assert v.status == "does not hold"


def test_some_matching_and_some_falling_short_is_a_condition_map():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": {"lstm": 6, "gru": 6, "irnn": 6, "nprnn": 6}}))
    assert v.status == "holds with caveats"
    assert v.conditions == {"ReLU RNN (Gaussian)": "does not hold", "IRNN": "holds",
                            "np-RNN": "holds", "IndRNN": "does not hold"}


def test_a_straddling_interval_is_inconclusive_not_a_caveat():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": everyone(6, irnn=4)}))
    assert v.status == "inconclusive" and "IRNN" in v.reason


def test_a_model_that_never_solved_never_matches_one_that_did():
    for gated in range(1, 7):
        s = summary({"adding-50": {"lstm": gated, "gru": gated}}, n=6)
        assert all(c != "holds" for c in claim.conditions(s).values())


def test_too_few_seeds_cannot_reach_holds():
    n = claim.fewest_seeds()
    assert claim.relu_rnn_vs_gated(summary({"adding-50": everyone(n - 1)}, n=n - 1)).status == "inconclusive"
    assert claim.relu_rnn_vs_gated(summary({"adding-50": everyone(n)}, n=n)).status == "holds"
    assert experiments.config_for("debate", "book").seeds >= n
    assert experiments.config_for("debate", "paper").seeds >= n


def test_verdict_on_long_tasks_has_no_scope():
    v = claim.relu_rnn_vs_gated(summary({"adding-400": everyone(6)}))
    assert v.status == "holds" and v.scope is None


def test_verdict_inconclusive_when_nothing_solves():
    v = claim.relu_rnn_vs_gated(summary({"adding-50": {}, "mnist1d": {}}))
    assert v.status == "inconclusive" and "no ReLU or gated" in v.reason


def test_each_optimizer_is_a_condition_fixed_by_the_config():
    s = summary({"adding-50": everyone(6)}, optimizers=("sgd", "adam"))
    for r in s["rows"]:
        if r["optimizer"] == "sgd" and r["kind"] in RELU:
            r["successes"], r["success"] = 0, 0.0
    v = claim.relu_rnn_vs_gated(s)
    assert v.status == "holds with caveats"
    assert v.conditions["IRNN with adam"] == "holds" and v.conditions["IRNN with sgd"] == "does not hold"


def test_power_calculation_asks_more_seeds_of_closer_rates():
    assert claim.seeds_for(1.0, 1.0) == claim.fewest_seeds()
    assert claim.seeds_for(0.8, 0.8) > claim.seeds_for(1.0, 1.0)
    assert claim.seeds_for(0.5, 1.0) is None  # a true gap at the margin is never decided


def _runs(kind, solved_by_lr, seeds):
    """Synthetic runs of one kind on adding-50: lr -> the seeds that solve at that lr."""
    target = debate.target_for("adding-50")
    return [{"task": "adding-50", "variant": "equal", "kind": kind, "hidden": 4, "params": 10,
             "optimizer": "adam", "clip": 1.0, "lr": lr, "seed": s, "diverged": False, "curve": [],
             "solved_at": 100 if s in who else None, "final": target / 2 if s in who else 0.1}
            for lr, who in solved_by_lr.items() for s in seeds]


def test_each_seed_is_scored_at_a_rate_chosen_on_the_others():
    """At 0.01 only seed 0 solves; at 0.1 seeds 1 and 2: seed 0's rate is chosen on seeds 1
    and 2 (0.1), where it fails, so a lucky rate does not count for the seed it was lucky on."""
    cfg = debate.DebateConfig(tasks=("adding-50",), steps=(10,), kinds=("irnn",), optimizers=("adam",))
    runs = _runs("irnn", {0.01: {0}, 0.1: {1, 2}}, range(3))
    (r,) = debate.summarize(cfg, {0: {"runs": runs, "timing": []}})["rows"]
    assert [lr for lr, _ in r["picks"]] == [0.1, 0.01, 0.01] and r["successes"] == 0


def test_relabelling_seeds_never_changes_the_verdict():
    cfg = debate.DebateConfig(tasks=("adding-50",), steps=(10,), kinds=("irnn", "lstm"), optimizers=("adam",))
    runs = _runs("irnn", {0.01: {0, 3}, 0.1: {1, 2, 4}}, range(6)) + \
        _runs("lstm", {0.01: {0, 1, 2, 3, 4, 5}, 0.1: {5}}, range(6))
    base = claim.relu_rnn_vs_gated(debate.summarize(cfg, {0: {"runs": runs, "timing": []}}))
    for perm in ([5, 4, 3, 2, 1, 0], [2, 0, 1, 5, 3, 4]):
        relabelled = [{**r, "seed": perm[r["seed"]]} for r in runs]
        v = claim.relu_rnn_vs_gated(debate.summarize(cfg, {0: {"runs": relabelled, "timing": []}}))
        assert (v.status, v.reason) == (base.status, base.reason)


@pytest.mark.parametrize("change, message", [(dict(shares=0), "shares"), (dict(steps=(1,)), "one entry per task"),
                                             (dict(tasks=("adding-50", "pixel-mnist"), steps=(1, 1)), "valid choices"),
                                             (dict(optimizers=("rmsprop",)), "valid choices: sgd, adam")])
def test_bad_config_stops_before_any_work(change, message):
    with pytest.raises(ValueError, match=message):
        experiments.config_for("debate", "book", **change)
