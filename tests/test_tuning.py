"""Cross-fitting: no seed is scored at a setting it helped choose."""

from __future__ import annotations

import statistics

import pytest

from relu_tanh.measure import tuning

mean = statistics.fmean


def test_each_seed_gets_the_setting_best_on_the_other_seeds():
    runs = {0.1: {0: 1.0, 1: 5.0, 2: 2.0}, 1.0: {0: 3.0, 1: 1.0, 2: 1.0}}
    assert tuning.cross_fit(runs, mean) == {0: 1.0, 1: 0.1, 2: 1.0}
    assert tuning.scored(runs, {0: 1.0, 1: 0.1, 2: 1.0}) == [3.0, 5.0, 1.0]


def test_a_seed_that_alone_favours_a_setting_does_not_choose_it_for_itself():
    runs = {"lucky": {0: 0.0, 1: 9.0, 2: 9.0}, "steady": {0: 5.0, 1: 5.0, 2: 5.0}}
    assert tuning.cross_fit(runs, mean)[0] == "steady"


def test_ties_go_to_the_setting_listed_first_and_a_lone_seed_ranks_itself():
    assert tuning.cross_fit({"a": {0: 1.0, 1: 1.0}, "b": {0: 1.0, 1: 1.0}}, mean) == {0: "a", 1: "a"}
    assert tuning.cross_fit({"a": {4: 2.0}, "b": {4: 1.0}}, mean) == {4: "b"}
    with pytest.raises(ValueError):
        tuning.cross_fit({}, mean)
