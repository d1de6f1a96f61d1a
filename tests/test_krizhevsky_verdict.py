"""The six-times rule driven to each outcome on constructed runs: the summary is computed by the
experiment's own `summarize` from made-up training curves, so the censoring, learning-rate and
ratio accounting are tested together with the rule."""

from __future__ import annotations

import math

import pytest

from relu_tanh.claims import krizhevsky as rule
from relu_tanh.experiments import krizhevsky

INF = math.inf
CAP = 20
CFG = krizhevsky.Figure1Config(variants=("2012",), lr_base=(0.01, 0.1), lr_factors=(0.5, 1.0, 2.0),
                               epochs=CAP, thresholds=(0.25,), threshold=0.25)


def curve(epochs: float) -> list[float]:
    """Running training errors that reach 25% at exactly `epochs` (an integer), or never."""
    if math.isinf(epochs):
        return [0.9] * CAP
    return [0.9] * (int(epochs) - 1) + [0.25]


def summary(relu: list[float], tanh: list[float], *, edge: str | None = None,
            diverged: tuple[str, ...] = ()) -> dict:
    """A summary where each activation's middle learning rate takes the given epochs per seed and
    its neighbours are slower (or, with `edge`, that activation's largest rate is fastest).
    Activations in `diverged` diverge at their largest rate."""
    seeds = {}
    for i in range(len(relu)):
        rows = []
        for act, times in (("relu", relu), ("tanh", tanh)):
            lrs = CFG.lrs("2012", act)
            for k, lr in enumerate(lrs):
                e = times[i]
                if k != 1:
                    e = e + 3 if math.isfinite(e) else e
                if edge == act:
                    e = times[i] if k == 1 else (max(times[i] - 1, 1) if k == 2 else e)
                div = act in diverged and k == 2
                rows.append({"variant": "2012", "activation": act, "lr": lr,
                             "train_error": [0.9] * 3 if div else curve(e),
                             "test_error": [], "seconds": [], "diverged": div})
        seeds[i] = {"rows": rows, "data": "Fashion-MNIST (Xiao et al. 2017)"}
    return krizhevsky.summarize(CFG, seeds)


def decide(*args, **kw):
    return rule.relu_six_times(summary(*args, **kw))


def test_holds_when_the_interval_reaches_six():
    v = decide([2, 2, 3, 2, 2], [12, 14, 15, 13, 16])
    assert v.status == "holds", v.reason
    assert v.numbers["low"] > 1 and v.numbers["high"] >= rule.PAPER_RATIO


def test_holds_when_the_interval_contains_six_without_exceeding_it():
    v = decide([2, 2, 2, 2, 2], [6, 8, 10, 14, 16])  # ratios 3 to 8
    assert v.status == "holds", v.reason
    assert v.numbers["low"] < rule.PAPER_RATIO <= v.numbers["high"]


def test_faster_but_not_six_times_is_no_caveat_without_conditions():
    """The rule's caveat names no condition, so the verdict is inconclusive (issue 20) until the
    rule is rewritten; the rule itself still says what it found."""
    v = decide([4, 4, 4, 4, 4], [10, 12, 9, 14, 13])  # ratios 2.25 to 3.5
    assert v.status == "inconclusive", v.reason
    assert "less than six" in v.reason and v.scope == "book-scale stand-in"


def test_an_arm_censored_in_most_seeds_is_not_tuned():
    v = decide([5, 5, 5, 5, 5], [INF, INF, 12, INF, 15])  # tanh reached in 2 of 5 seeds
    s = summary([5, 5, 5, 5, 5], [INF, INF, 12, INF, 15])
    # tanh's median over other seeds is infinite at every rate: not tuned -> inconclusive
    assert s["arms"][("2012", "tanh", 0.25)]["lr"] is None
    assert v.status == "inconclusive" and "no tanh learning rate" in v.reason


def test_censored_top_with_tuned_arms_is_inconclusive():
    # tanh reached in 3 of 5 seeds (tuned), the other two never: the interval's top is open
    v = decide([4, 4, 4, 4, 4], [10, 11, INF, 12, INF])
    assert v.status == "inconclusive", v.reason
    assert "never reached" in v.reason and v.numbers["tanh_reached"] <= 3
    assert "high" not in v.numbers  # infinite, so not a number to glue


def test_does_not_hold_when_the_upper_end_is_below_two():
    v = decide([8, 9, 10, 8, 9], [7, 9, 11, 8, 10])  # ratios 0.875 to 1.11
    assert v.status == "does not hold", v.reason
    assert v.numbers["high"] < rule.SEVERAL


def test_does_not_hold_when_tanh_is_faster():
    v = decide([10, 12, 11, 10, 13], [5, 6, 5, 7, 6])
    assert v.status == "does not hold"
    assert v.numbers["high"] < 1


def test_inconclusive_when_the_interval_spans_one_and_two():
    v = decide([5, 5, 5, 5, 5], [3, 15, 5, 12, 4])  # ratios 0.6 to 3
    assert v.status == "inconclusive"
    assert v.numbers["low"] < 1 and v.numbers["high"] >= rule.SEVERAL


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


def test_reason_names_the_data_not_cifar():
    v = decide([4, 4, 4, 4, 4], [10, 12, 9, 14, 13])
    assert "Fashion-MNIST" in v.reason and "not CIFAR-10" in v.reason
    assert "inf" not in v.reason and "nan" not in v.reason


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
