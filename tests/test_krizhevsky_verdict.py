"""The six-times rule driven to each outcome on constructed runs: the summary is computed by the
experiment's own `summarize` from made-up training curves, so the censoring, learning-rate and
ratio accounting are tested together with the rule."""

from __future__ import annotations

import math

import pytest

from relu_tanh.claims import krizhevsky as rule
from relu_tanh.experiments import krizhevsky
from relu_tanh.measure import stats

INF = math.inf
CAP = 20
CFG = krizhevsky.Figure1Config(variants=("2012",), lr_base=(0.01, 0.1), lr_factors=(0.5, 1.0, 2.0),
                               epochs=CAP, thresholds=(0.25,), threshold=0.25)


def curve(epochs: float) -> list[float]:
    """Running training errors that reach 25% at exactly `epochs` (an integer), or never."""
    if math.isinf(epochs):
        return [0.9] * CAP
    return [0.9] * (int(epochs) - 1) + [0.25]


def rows(variant: str, relu: float, tanh: float, edge: str | None, diverged: tuple[str, ...],
         cfg: krizhevsky.Figure1Config = CFG) -> list[dict]:
    """One seed's runs of one pipeline: each activation's middle learning rate takes the given
    epochs and its neighbours are slower (or, with `edge`, that activation's largest rate is
    fastest). Activations in `diverged` diverge at their largest rate."""
    out = []
    for act, e0 in (("relu", relu), ("tanh", tanh)):
        for k, lr in enumerate(cfg.lrs(variant, act)):
            e = e0 if k == 1 or not math.isfinite(e0) else e0 + 3
            if edge == act:
                e = e0 if k == 1 else (max(e0 - 1, 1) if k == 2 else e)
            div = act in diverged and k == 2
            out.append({"variant": variant, "activation": act, "lr": lr,
                        "train_error": [0.9] * 3 if div else curve(e),
                        "test_error": [], "seconds": [], "diverged": div})
    return out


def summary(relu: list[float], tanh: list[float], *, edge: str | None = None,
            diverged: tuple[str, ...] = (), data: str = "Fashion-MNIST (Xiao et al. 2017)") -> dict:
    """A one-pipeline (2012) summary from the given epochs per seed (see `rows`)."""
    seeds = {i: {"rows": rows("2012", r, t, edge, diverged), "data": data}
             for i, (r, t) in enumerate(zip(relu, tanh))}
    return krizhevsky.summarize(CFG, seeds)


def two_pipelines(old: tuple[list[float], list[float]], new: tuple[list[float], list[float]]) -> dict:
    """A summary of the 2012 and the modern pipeline, each from (relu, tanh) epochs per seed."""
    cfg = krizhevsky.Figure1Config(variants=("2012", "modern"), lr_base=(0.01, 0.1, 0.01, 0.1),
                                   lr_factors=(0.5, 1.0, 2.0), epochs=CAP, thresholds=(0.25,),
                                   threshold=0.25)
    seeds = {i: {"rows": rows("2012", *pair_old, None, (), cfg) + rows("modern", *pair_new, None, (), cfg),
                 "data": "Fashion-MNIST (Xiao et al. 2017)"}
             for i, (pair_old, pair_new) in enumerate(zip(zip(*old), zip(*new)))}
    return krizhevsky.summarize(cfg, seeds)


def decide(*args, **kw):
    return rule.relu_six_times(summary(*args, **kw))


def test_holds_when_the_whole_interval_is_at_least_four():
    v = decide([2, 2, 3, 2, 2], [12, 14, 15, 13, 16])  # ratios 5 to 8
    assert v.status == "holds", v.reason
    assert v.numbers["low"] >= rule.CLAIM_FLOOR and not v.conditions


def test_inconclusive_when_the_interval_straddles_four():
    v = decide([2, 2, 2, 2, 2], [6, 8, 10, 14, 16])  # ratios 3 to 8
    assert v.status == "inconclusive", v.reason
    assert v.numbers["low"] < rule.CLAIM_FLOOR <= v.numbers["high"]


def test_faster_but_not_four_times_does_not_hold():
    v = decide([4, 4, 4, 4, 4], [10, 12, 9, 14, 13])  # ratios 2.25 to 3.5
    assert v.status == "does not hold", v.reason
    assert "ReLU is reliably faster, but not 4 times" in v.reason
    assert v.scope == "book-scale stand-in"


def test_a_pipeline_decided_the_other_way_is_a_named_condition():
    v = rule.relu_six_times(two_pipelines(([2] * 5, [12, 14, 15, 13, 16]), ([5] * 5, [5, 6, 5, 4, 5])))
    assert v.status == "holds with caveats", v.reason
    assert v.conditions == {"2012 pipeline": "holds", "modern pipeline": "does not hold"}
    same = rule.relu_six_times(two_pipelines(([2] * 5, [12, 14, 15, 13, 16]), ([2] * 5, [12] * 5)))
    assert same.status == "holds" and not same.conditions
    # the 2012 pipeline is the claim's setup: when it is undecided, no condition decides
    open_ = rule.relu_six_times(two_pipelines(([2] * 5, [6, 8, 10, 14, 16]), ([5] * 5, [5] * 5)))
    assert open_.status == "inconclusive" and not open_.conditions


def test_a_cap_too_short_for_four_says_holds_cannot_come_out():
    v = decide([8, 8, 9, 8, 8], [10, 11, 12, 10, 11])  # the cap of 20 shows ratios up to 2.5
    assert "'holds' cannot come out here" in v.reason
    assert v.numbers["largest"] == pytest.approx(CAP / 8)
    assert "cannot come out" not in decide([2] * 5, [12] * 5).reason


def test_an_arm_censored_in_most_seeds_is_not_tuned():
    v = decide([5, 5, 5, 5, 5], [INF, INF, 12, INF, 15])  # tanh reached in 2 of 5 seeds
    s = summary([5, 5, 5, 5, 5], [INF, INF, 12, INF, 15])
    # tanh's median over other seeds is infinite at every rate: not tuned -> inconclusive
    assert s["arms"][("2012", "tanh", 0.25)]["lr"] is None
    assert v.status == "inconclusive" and "no tanh learning rate" in v.reason


def test_censored_top_with_tuned_arms_is_inconclusive():
    # tanh never reached in one seed: the interval starts below four and its top is open
    v = decide([2, 2, 2, 2, 2], [6, 7, INF, 8, 9])  # ratios 3, 3.5, >= 10, 4, 4.5
    assert v.status == "inconclusive", v.reason
    assert "never reached" in v.reason and v.numbers["tanh_reached"] == 4
    assert "high" not in v.numbers  # infinite, so not a number to glue


def test_seeds_without_a_held_out_rate_are_not_read_as_censored():
    # tanh reaches in 3 of 5 seeds at its rate, so held out (2 of the other 4) it has no rate
    v = decide([4, 4, 4, 4, 4], [10, 11, INF, 12, INF])
    assert v.status == "inconclusive" and "no tuned tanh network" in v.reason


def test_raced_runs_that_never_reach_are_censored_data():
    """At paper scale each arm's rate comes from its race: a tanh run that never reaches 25%
    within the cap is a lower bound on its ratio, and here every bound is at least four."""
    cfg = krizhevsky.Figure1Config(variants=("2012",), lr_base=(0.01, 0.1), epochs=CAP,
                                   thresholds=(0.25,), threshold=0.25, race_epochs=2,
                                   check_arms=(("2012", "relu"),))
    races = [{"variant": "2012", "activation": a, "lr": lr, "interior": True, "extensions": 0,
              "errors": {}} for a, lr in (("relu", 0.01), ("tanh", 0.1))]
    seeds = {i: {"rows": [{"variant": "2012", "activation": a, "lr": lr, "diverged": False,
                           "train_error": curve(e), "test_error": [0.5] * len(curve(e)), "seconds": [],
                           "images": 50_000}
                          for a, lr, e in (("relu", 0.01, 4), ("tanh", 0.1, INF))],
                 "data": "CIFAR-10 (JPEG copy)", "races": races} for i in range(5)}
    v = rule.relu_six_times(krizhevsky.summarize(cfg, seeds))
    assert v.status == "holds" and v.scope is None, v.reason
    assert v.numbers["tanh_reached"] == 0 and v.numbers["low"] == pytest.approx(CAP / 4)


def test_does_not_hold_when_neither_is_reliably_faster():
    v = decide([8, 9, 10, 8, 9], [7, 9, 11, 8, 10])  # ratios 0.875 to 1.11
    assert v.status == "does not hold", v.reason
    assert v.numbers["high"] < rule.CLAIM_FLOOR and "neither is reliably faster" in v.reason


def test_does_not_hold_when_tanh_is_faster():
    v = decide([10, 12, 11, 10, 13], [5, 6, 5, 7, 6])
    assert v.status == "does not hold"
    assert v.numbers["high"] < 1


def test_an_interval_spanning_one_below_four_still_does_not_hold():
    v = decide([5, 5, 5, 5, 5], [3, 15, 5, 12, 4])  # ratios 0.6 to 3: never six times
    assert v.status == "does not hold", v.reason
    assert v.numbers["low"] < 1 and v.numbers["high"] < rule.CLAIM_FLOOR


def test_inconclusive_when_every_run_is_censored():
    v = decide([INF] * 5, [INF] * 5)
    assert v.status == "inconclusive" and "no relu learning rate" in v.reason
    assert v.numbers["relu_reached"] == v.numbers["tanh_reached"] == 0
    assert "relu_lr" not in v.numbers  # never called tuned


def test_inconclusive_when_the_best_rate_is_on_the_grid_edge():
    v = decide([2, 2, 3, 2, 2], [12, 14, 15, 13, 16], edge="relu")
    assert v.status == "inconclusive" and "edge" in v.reason


def test_inconclusive_with_too_few_seeds():
    v = decide([2, 2, 2], [12, 13, 14])
    assert v.status == "inconclusive" and "too few" in v.reason


def test_diverged_runs_count_as_never_reached():
    s = summary([2, 2, 3, 2, 2], [12, 14, 15, 13, 16], diverged=("relu",))
    grid = s["arms"][("2012", "relu", 0.25)]["grid"]
    top = max(grid)
    assert grid[top]["diverged"] == 5 and grid[top]["reached"] == 0
    assert grid[top]["median"] == INF
    assert rule.relu_six_times(s).status == "holds"  # the diverged rate is not chosen


def test_learning_rate_is_chosen_on_the_other_seeds():
    # seed 0 alone prefers another rate; the rate used for seed 0 comes from seeds 1-4
    s = summary([2, 2, 2, 2, 2], [12, 12, 12, 12, 12])
    arm = s["arms"][("2012", "relu", 0.25)]
    assert arm["held_out_lrs"] == [arm["lr"]] * 5
    epochs = {lr: list(c["epochs"]) for lr, c in arm["grid"].items()}
    lrs = sorted(epochs)
    epochs[lrs[0]][0] = 1.0  # the smallest rate is fastest on seed 0 only
    assert krizhevsky.choose_lr(epochs, [1, 2, 3, 4]) == arm["lr"]
    assert krizhevsky.choose_lr(epochs, [0]) == lrs[0]


def test_the_scope_names_a_stand_in_and_only_a_stand_in():
    v = decide([4, 4, 4, 4, 4], [10, 12, 9, 14, 13])
    assert "Fashion-MNIST" in v.reason and v.scope == "book-scale stand-in"
    assert "does not hold on the book-scale stand-in" == v.headline
    assert "inf" not in v.reason and "nan" not in v.reason
    cifar = rule.relu_six_times(summary([4] * 5, [10, 12, 9, 14, 13], data="CIFAR-10 (JPEG copy)"))
    assert cifar.scope is None and cifar.headline == "does not hold"


def test_pipeline_rows_never_show_inf_or_nan():
    s = summary([INF] * 5, [INF] * 5)
    (row,) = rule.pipeline_rows(s)
    text = " ".join(row)
    assert "inf" not in text.replace("inconclusive", "") and "nan" not in text
    assert "0/5" in text and "not tuned" in text


def test_a_nan_training_error_counts_as_never_reached_not_as_a_number():
    s = summary([2, 2, 3, 2, 2], [12, 14, 15, 13, 16])
    row = {"diverged": False, "train_error": [0.9, math.nan, math.nan]}
    assert krizhevsky.epochs_to(row, 0.25) == INF
    with pytest.raises(ValueError, match="NaN"):  # a NaN epoch count is refused, never ranked
        krizhevsky.choose_lr({0.1: [math.nan, 1.0, 2.0]}, [0, 1, 2])
    assert rule.relu_six_times(s).status == "holds"


def test_the_stored_paper_run_decides_once_every_seed_is_in(monkeypatch):
    from types import SimpleNamespace

    from relu_tanh import experiments
    from relu_tanh.claims import core
    c, n = core.CLAIMS["relu-six-times"], experiments.get("krizhevsky").seeds["paper"]
    stored = {"seeds": n - 1}
    monkeypatch.setattr(core.experiments, "load_stored", lambda name, scale: SimpleNamespace(
        seeds=dict.fromkeys(range(stored["seeds"]))))
    assert core.decided_at(c, "book") == "book" and "Fashion-MNIST" in core.evidence(c, "book")
    stored["seeds"] = n
    assert core.decided_at(c, "book") == "paper" and core.decided_at(c, "smoke") == "smoke"
    assert core.evidence(c, "book").startswith("paper scale") and "CIFAR-10" in core.evidence(c, "book")


def test_no_cap_note_when_relu_itself_never_reached():
    v = decide([INF] * 5, [INF] * 5)
    assert "cannot come out" not in v.reason and "largest" not in v.numbers


def test_direction_text_names_the_faster_activation_or_neither():
    def summary(low, high):
        r = {"median_low": low, "median_high": high, "low": low, "high": high, "coverage": 0.9}
        return {"variants": ("2012",), "threshold": 0.25, "ratios": {("2012", 0.25): r}}
    assert "ReLU got there sooner" in rule.direction_text(summary(6.9, math.inf))
    assert "tanh got there sooner" in rule.direction_text(summary(0.72, 0.72))
    assert "neither" in rule.direction_text(summary(0.5, 2.0))
    straddles = summary(0.92, 0.92)  # a median below 1 whose interval holds 1: neither
    straddles["ratios"]["2012", 0.25].update(low=0.82, high=1.07)
    assert "neither got there reliably sooner" in rule.direction_text(straddles)
    few = summary(0.72, 0.72)  # no interval: the median decides
    few["ratios"]["2012", 0.25].update(low=0.0, high=math.inf, coverage=math.nan)
    assert "tanh got there sooner" in rule.direction_text(few)


def ladder_summary(points: dict[tuple[str, int], tuple[list[float], list[float]]]) -> dict:
    """A paper-scale summary holding only a ladder: (pipeline, images) -> (relu, tanh) epochs
    per seed, the cap `CAP` at every size."""
    def test(epochs: list[float], images: int) -> list[float]:  # memorised on few images
        return [0.6 if images < 50000 else 0.3 for e in epochs if math.isfinite(e)]
    return {"variants": ("2012",), "ladder": {
        key: {"cap": CAP, "relu": relu, "tanh": tanh, "ratio": stats.paired_ratio(tanh, relu, CAP, CFG.level),
              "test": {"relu": test(relu, key[1]), "tanh": test(tanh, key[1])}}
        for key, (relu, tanh) in points.items()}}


FIVE = [4.0] * 5


@pytest.mark.parametrize("small, large, says", [
    ([4, 4, 5, 4, 4], [20, 24, 22, 19, 21], "it rises: the interval at 50,000 images lies wholly above"),
    ([20, 24, 22, 19, 21], [4, 4, 5, 4, 4], "it falls"),
    ([4, 8, 5, 6, 4], [6, 5, 7, 4, 5], "the two intervals overlap"),
    ([4, 8], [6, 5], "too few pairs for an interval"),
])
def test_the_ladder_trend_reads_a_rise_only_from_separate_intervals(small, large, says):
    s = ladder_summary({("2012", 1000): (FIVE[:len(small)], small),
                        ("2012", 50000): (FIVE[:len(large)], large)})
    text = rule.ladder_trend(s, "2012")
    assert says in text and "at 1,000 images" in text
    only_full = ladder_summary({("2012", 50000): (FIVE[:len(large)], large)})
    assert "fewer than two sizes" in rule.ladder_trend(only_full, "2012")


@pytest.mark.parametrize("stand_in, says", [([8] * 5, "inside its interval"), ([40] * 5, "above its interval"),
                                            ([2] * 5, "below its interval")])
def test_the_stand_in_is_placed_against_the_smallest_cifar_size(stand_in, says):
    paper = ladder_summary({("2012", 1000): (FIVE, [6, 7, 8, 9, 10]), ("2012", 50000): (FIVE, [24] * 5)})
    live = summary([4.0] * 5, stand_in)
    assert says in rule.stand_in_text(live, paper) and "1,000 CIFAR-10 images" in rule.stand_in_text(live, paper)
    only_full = ladder_summary({("2012", 50000): (FIVE, [24] * 5)})
    assert rule.stand_in_text(live, only_full).startswith("no pipeline has pairs below the full size")


def test_the_ladder_table_and_test_errors_come_from_the_pairs():
    s = ladder_summary({("2012", 1000): (FIVE, [6, 7, 8, 9, INF]), ("2012", 50000): (FIVE, [INF] * 5)})
    rows = rule.ladder_rows(s, batch_size=128)
    assert [r[:5] for r in rows] == [["2012", "1,000", "8", "4", "8"],
                                     ["2012", "50,000", "391", "4", f"over {CAP}"]]
    assert rows[1][5] == f"at least {CAP / 4:.1f}" and "no upper bound" in rows[1][6]
    text = rule.ladder_test_text(s)
    assert text == ("in the 2012 pipeline 0.60 (ReLU) and 0.60 (tanh) at 1,000 images, against "
                    "0.30 (ReLU) and none (tanh never got there) at 50,000 images")
    assert rule.ladder_test_text(ladder_summary({("2012", 1000): (FIVE, FIVE)})).startswith("no pipeline")


def test_the_gap_from_the_stand_in_splits_into_data_and_images():
    live = summary([4.0] * 5, [4.0] * 5)  # the stand-in: ratio 1
    paper = ladder_summary({("2012", 1000): (FIVE, [8.0] * 5), ("2012", 50000): (FIVE, [16.0] * 5)})
    assert rule.split_text(live, paper) == (
        "in the 2012 pipeline, the factor of 4 from the stand-in to 50,000 CIFAR-10 images is 2 "
        "from the stand-in to 1,000 CIFAR-10 images times 2 from 1,000 to 50,000 images")
    censored = ladder_summary({("2012", 1000): (FIVE, [8.0] * 5), ("2012", 50000): (FIVE, [INF] * 5)})
    assert "known only as an open bound" in rule.split_text(live, censored)
