"""Every verdict function of the derivative, vanishing, saturation and sparsity chapters, driven
to each of its outcomes on constructed summaries (including censored, NaN and diverged runs)."""

from __future__ import annotations

import math

import pytest

from relu_tanh import experiments
from relu_tanh.claims import derivatives, saturation, sparsity, vanishing

# --- derivatives ------------------------------------------------------------------------------


def derivative_summary(**changes) -> dict:
    """Shaped like `experiments.derivatives.summarize`; tanh's shares are those of N(0, s^2)."""
    s = {
        "input_stds": [0.5, 1.0, 2.0, 4.0, 8.0], "small": 0.1, "grid_limit": 10.0,
        "sigmoid": {"min": 4.5e-5, "max": 0.25, "distinct": [4.5e-5], "max_abs_error": 0.0,
                    "at_grid_edge": 4.5e-5, "frac_small": [0.0, 0.02, 0.3, 0.6, 0.8]},
        "tanh": {"min": 8e-9, "max": 1.0, "distinct": [8e-9], "max_abs_error": 0.0,
                 "at_grid_edge": 8e-9, "frac_small": [0.0003, 0.069, 0.36, 0.65, 0.82]},
        "relu": {"min": 0.0, "max": 1.0, "distinct": [0.0, 1.0], "max_abs_error": 0.0,
                 "at_grid_edge": 1.0, "frac_small": [0.5] * 5},
    }
    for path, value in changes.items():
        act, key = path.split("__")
        s[act][key] = value
    return s


def test_derivative_ranges_every_outcome():
    rule = derivatives.derivative_ranges
    v = rule(derivative_summary())  # 0 approached, never reached: an analytic fact, not a caveat
    assert v.status == "holds" and "analytic" in v.reason and "(0, 0.25]" in v.reason
    assert rule(derivative_summary(sigmoid__min=0.0, tanh__min=0.0)).status == "holds"
    assert rule(derivative_summary(sigmoid__max=0.3)).status == "does not hold"
    assert rule(derivative_summary(relu__distinct=[0.0, 0.5, 1.0])).status == "does not hold"
    assert rule(derivative_summary(tanh__min=-0.1)).status == "does not hold"
    assert rule(derivative_summary(tanh__max_abs_error=1e-3)).status == "inconclusive"
    assert rule(derivative_summary(tanh__max_abs_error=math.nan)).status == "inconclusive"


def test_half_scale_interpolates_and_censors():
    s = derivative_summary()
    # tanh: between s = 2 (36%) and s = 4 (65%), log-linearly
    assert 2 < derivatives.half_scale(s, "tanh") < 4
    assert derivatives.half_scale(derivative_summary(tanh__frac_small=[0.6] * 5), "tanh") == 0.5
    assert derivatives.half_scale(derivative_summary(tanh__frac_small=[0.1] * 5), "tanh") == math.inf


def test_tanh_edge_every_outcome():
    rule = derivatives.tanh_edge
    # the edges are analytic; where they begin for Gaussian inputs is said, not a caveat
    v = rule(derivative_summary())
    assert v.status == "holds" and v.numbers["half_scale"] > 1 and "above 2" in v.reason
    assert rule(derivative_summary(tanh__frac_small=[0.3, 0.6, 0.7, 0.8, 0.9])).status == "holds"
    censored = rule(derivative_summary(tanh__frac_small=[0.0, 0.05, 0.1, 0.2, 0.3]))
    assert censored.status == "holds" and "beyond the widest" in censored.reason
    assert "half_scale" not in censored.numbers  # inf is not a number for prose
    assert rule(derivative_summary(tanh__max=0.9)).status == "does not hold"
    assert rule(derivative_summary(tanh__at_grid_edge=0.5)).status == "does not hold"
    assert rule(derivative_summary(tanh__max_abs_error=1e-2)).status == "inconclusive"


def test_edge_rule_separates_the_activations():
    """The same rule comes out differently for sigmoid (never reaches 1) and ReLU (no edge at +inf)."""
    s = derivative_summary()
    assert derivatives.edge_rule(s, "sigmoid")[0] == "does not hold"
    assert derivatives.edge_rule(s, "relu")[0] == "does not hold"
    assert derivatives.edge_rule(s, "tanh")[0] == "holds"


# --- vanishing --------------------------------------------------------------------------------

INITS = ("default", "xavier", "kaiming")


def sweep(field: str, values: dict[tuple[str, str], float], shallow: float) -> dict:
    """Keyed (arch, activation, init, depth): `values` at depth 20, `shallow` at depth 2."""
    out = {}
    for (act, init), v in values.items():
        for arch in ("mlp", "cnn"):
            out[(arch, act, init, 20)] = {field: {"centre": v}}
            out[(arch, act, init, 2)] = {field: {"centre": shallow}}
    return out


def init_summary(sig_ratio: float, tanh_ratio: float, sig_factor=0.5, tanh_factor=0.8) -> dict:
    s = sweep("ratio", {**{("sigmoid", i): sig_ratio for i in INITS},
                        **{("tanh", i): tanh_ratio for i in INITS}}, shallow=0.9)
    for key, row in s.items():
        row["factor"] = {"centre": sig_factor if key[1] == "sigmoid" else tanh_factor}
    return s


def train_summary(sig_error: float, tanh_error: float, shallow: float = 0.1) -> dict:
    return sweep("train_error", {**{("sigmoid", i): sig_error for i in INITS},
                                 **{("tanh", i): tanh_error for i in INITS}}, shallow=shallow)


def test_sigmoid_vanishing_every_outcome():
    rule = vanishing.sigmoid_vanishing
    v = rule(init_summary(1e-4, 0.5), train_summary(0.9, 0.2))
    assert v.status == "holds" and v.numbers["share_vanished"] == 1.0
    kept = rule(init_summary(10 * vanishing.VANISHED, 0.5), train_summary(0.9, 0.2))
    assert kept.status == "does not hold" and kept.numbers["share_vanished"] == 0.0
    # vanished gradients, but every deep net trained anyway: the claim's consequence fails
    trained = rule(init_summary(1e-4, 0.5), train_summary(0.3, 0.2))
    assert trained.status == "does not hold" and "trained anyway" in trained.reason
    # some deep nets train, others not: the settings are the named conditions
    some = train_summary(0.9, 0.2)
    some[("cnn", "sigmoid", "xavier", 20)]["train_error"]["centre"] = 0.3
    v = rule(init_summary(1e-4, 0.5), some)
    assert v.status == "holds with caveats" and v.conditions["CNN xavier"] == "does not hold"
    assert v.conditions["MLP xavier"] == "holds" and "CNN xavier trained anyway" in v.reason
    # the shallow controls did not train either: the training half says nothing
    assert rule(init_summary(1e-4, 0.5), train_summary(0.9, 0.2, shallow=0.9)).status == "inconclusive"
    # a ratio that could not be computed (NaN) is not silently "not vanished"
    nan = init_summary(1e-4, 0.5)
    nan[("mlp", "sigmoid", "xavier", 20)]["ratio"]["centre"] = math.nan
    assert rule(nan, train_summary(0.9, 0.2)).status == "inconclusive"


def test_sigmoid_vanishing_reads_each_setting_against_its_own_control():
    rule, init = vanishing.sigmoid_vanishing, init_summary(1e-4, 0.5)
    # one control fails where its deep net did not train either: that failure is not attributable
    s = train_summary(0.9, 0.2)
    s[("cnn", "sigmoid", "kaiming", 2)]["train_error"]["centre"] = vanishing.UNTRAINED
    v = rule(init, s)
    assert v.status == "inconclusive" and "CNN kaiming did not train" in v.reason
    assert v.numbers["max_control_error"] == vanishing.UNTRAINED
    # a failed control beside a deep net that trained anyway: the deep net decides that setting
    s[("cnn", "sigmoid", "kaiming", 20)]["train_error"]["centre"] = 0.3
    v = rule(init, s)
    assert v.status == "holds with caveats" and v.conditions["CNN kaiming"] == "does not hold"
    # every control trains just below the line, every deep net sits at it: holds
    assert rule(init, train_summary(vanishing.UNTRAINED, 0.2, shallow=0.79)).status == "holds"


def test_vanishing_reach_states_each_activation_budget():
    cfg, text = experiments.config_for("vanishing_train", "book"), vanishing._reach("book")
    for act in cfg.activations:
        t = cfg.tuning(act)
        assert act in text and f"{t.epochs} epochs at rates {', '.join(f'{lr:g}' for lr in t.lrs)}" in text


def test_sigmoid_vanishing_without_training_runs_is_inconclusive():
    shallow_only = {k: v for k, v in train_summary(0.9, 0.2).items() if k[1] != "sigmoid"}
    assert vanishing.sigmoid_vanishing(init_summary(1e-4, 0.5), shallow_only).status == "inconclusive"


def test_sigmoid_vanishing_reads_only_the_largest_depth():
    s = init_summary(1e-4, 0.5)
    v = vanishing.sigmoid_vanishing(s, train_summary(0.9, 0.2))
    assert v.numbers["smallest_ratio"] == 1e-4 and v.numbers["largest_ratio"] == 1e-4


def test_sigmoid_vanishing_mixed_is_a_caveat():
    s = init_summary(1e-4, 0.5)
    s[("cnn", "sigmoid", "kaiming", 20)]["ratio"]["centre"] = 0.5
    v = vanishing.sigmoid_vanishing(s, train_summary(0.9, 0.2))
    assert v.status == "holds with caveats" and v.numbers["share_vanished"] == pytest.approx(5 / 6)
    assert v.conditions == {f"{a.upper()} {i}": "does not hold" if (a, i) == ("cnn", "kaiming")
                            else "holds" for a in ("mlp", "cnn") for i in INITS}


def test_sigmoid_vanishing_underflowed_ratio_counts_as_vanished():
    v = vanishing.sigmoid_vanishing(init_summary(0.0, 0.5), train_summary(0.9, 0.2))
    assert v.status == "holds" and v.numbers["smallest_ratio"] == 0.0


def test_tanh_alleviates_every_outcome():
    rule, t = vanishing.tanh_alleviates, train_summary(0.9, 0.5)
    assert rule(init_summary(1e-6, 1e-4), t).status == "holds"
    assert rule(init_summary(1e-6, 0.5), t).status == "does not hold"
    # tanh shrinks faster than sigmoid somewhere: not an alleviation
    worse = rule(init_summary(1e-6, 1e-4, sig_factor=0.9, tanh_factor=0.5), t)
    assert worse.status == "does not hold" and "no less than sigmoid" in worse.reason
    mixed = init_summary(1e-6, 1e-4)
    for arch in ("mlp", "cnn"):
        mixed[(arch, "tanh", "kaiming", 20)]["ratio"]["centre"] = 0.3
    v = rule(mixed, t)
    assert v.status == "holds with caveats" and "kaiming" in v.reason
    assert v.conditions["MLP kaiming"] == "does not hold" and v.conditions["CNN default"] == "holds"
    nan = init_summary(1e-6, 1e-4, tanh_factor=math.nan)
    assert rule(nan, t).status == "inconclusive"


# --- saturation -------------------------------------------------------------------------------


def course(peak=0.9, peak_at=0.1, end=0.2, rise=100.0, fall=300.0, start=0.1) -> dict:
    return {"start": start, "peak": peak, "peak_at": peak_at, "end": end, "rise_steps": rise,
            "fall_steps": fall}


def saturation_summary(top: list[dict] | None = None, tanh_peak=0.3, tanh_end=0.2,
                       n=3, diverged=0, cnn_end=0.0) -> dict:
    top = [course() for _ in range(n - diverged)] if top is None else top
    arm = lambda peak, end, layers=2: {"n": n, "diverged": diverged,
                                       "saturated_peak": [0.0] * (layers - 1) + [peak],
                                       "saturated_end": [0.0] * (layers - 1) + [end]}
    return {("mlp", "sigmoid"): {**arm(0.9, 0.2), "top": top},
            ("mlp", "tanh"): arm(tanh_peak, tanh_end), ("cnn", "tanh"): arm(tanh_peak / 2, cnn_end, layers=3),
            ("mlp", "relu"): {"n": n, "diverged": diverged}}


def test_tanh_saturates_every_outcome():
    rule = saturation.tanh_saturates
    assert rule(saturation_summary(cnn_end=0.12)).status == "holds"
    # the MLP ends with a material share saturated, the CNN with none: the architecture decides
    v = rule(saturation_summary())
    assert v.status == "holds with caveats" and v.conditions == {"MLP": "holds", "CNN": "does not hold"}
    # a few units saturate, never a material share: the claim as stated does not hold
    assert rule(saturation_summary(tanh_peak=0.05, tanh_end=0.02)).status == "does not hold"
    assert rule(saturation_summary(tanh_peak=0.001, tanh_end=0.0)).status == "does not hold"
    assert rule(saturation_summary(tanh_peak=math.nan, tanh_end=math.nan)).status == "inconclusive"
    # all but one seed diverged: nothing to measure
    assert rule(saturation_summary(diverged=2)).status == "inconclusive"


def test_glorot_top_sigmoid_every_outcome():
    rule = saturation.glorot_top_sigmoid
    assert rule(saturation_summary()).status == "holds"
    fast = [course(fall=50.0)] * 3  # leaves saturation faster than it entered it: not slowly
    assert rule(saturation_summary(fast)).status == "does not hold"
    stuck = [course(end=0.8, fall=math.inf)] * 3  # never recovered within the run: censored
    v = rule(saturation_summary(stuck))
    assert v.status == "inconclusive" and "not recovered" in v.reason
    late = [course(peak_at=0.9)] * 3
    assert rule(saturation_summary(late)).status == "does not hold"
    low = [course(peak=0.3)] * 3
    assert rule(saturation_summary(low)).status == "does not hold"
    assert rule(saturation_summary(diverged=2)).status == "inconclusive"


def test_glorot_top_sigmoid_is_decided_per_seed_not_by_the_mean():
    """Two seeds that peak late outvote one that peaks early, whatever the mean curve does."""
    mixed = [course(), course(peak_at=0.8), course(peak_at=0.9)]
    v = saturation.glorot_top_sigmoid(saturation_summary(mixed))
    assert v.status == "does not hold" and v.numbers["early"] == 1


# --- sparsity ---------------------------------------------------------------------------------


def sparsity_summary(relu_gaps, leaky_gaps, tanh_gaps, rise=(0.2, 0.15), dead=0.2,
                     settings=(("kaiming", 0.02), ("kaiming", 0.2))) -> dict:
    """Shaped like `experiments.sparsity.summarize`: per-seed gaps (None: not reached)."""
    out = {}
    for j, (init, lr) in enumerate(settings):
        for act, gaps in (("relu", relu_gaps), ("leaky_relu", leaky_gaps), ("tanh", tanh_gaps)):
            entry = {"n": len(gaps), "diverged": 0, "reached": sum(g is not None for g in gaps),
                     "seeds": list(range(len(gaps))), "gaps": list(gaps)}
            if act == "relu" and rise is not None:
                entry.update(zero=[0.6, 0.7], dead=[dead, 0.0], dead_init=[0.0, 0.0],
                             dead_rise_max=rise[0], dead_rise_min=rise[1] if j == 0 else 0.0)
            out[(act, init, lr)] = entry
    return out


GAPS = [0.01, 0.02, 0.015]


def test_relu_negative_half_every_outcome():
    rule = sparsity.relu_negative_half
    v = rule(sparsity_summary(GAPS, GAPS, GAPS))
    assert v.status == "holds" and v.numbers["settings_dying"] == 1
    # a few units died in every seed, never a material share: units can die, as claimed
    few = rule(sparsity_summary(GAPS, GAPS, GAPS, rise=(0.05, 0.02)))
    assert few.status == "holds" and "a few units died" in few.reason
    # units died in some seed only, never in every seed of a setting: does not hold
    some = rule(sparsity_summary(GAPS, GAPS, GAPS, rise=(0.3, 0.0)))
    assert some.status == "does not hold" and some.numbers["zero"] == pytest.approx(0.65)
    assert rule(sparsity_summary(GAPS, GAPS, GAPS, rise=None)).status == "inconclusive"


def test_sparsity_regularises_every_outcome():
    rule = sparsity.sparsity_regularises
    small, large = [0.01, 0.012, 0.011], [0.05, 0.06, 0.055]
    v = rule(sparsity_summary(small, large, large))
    assert v.status == "holds" and v.numbers["high_tanh"] < 0 and v.numbers["pairs_tanh"] == 6
    # smaller than one rival beyond the spread, straddling 0 against the other: noise decides
    straddle = rule(sparsity_summary(small, large, [0.0, 0.03, 0.012]))
    assert straddle.status == "inconclusive" and "against tanh straddles 0" in straddle.reason
    # smaller than leaky ReLU's, larger than tanh's, each beyond the spread: a named condition
    v = rule(sparsity_summary(small, large, [0.001, 0.002, 0.0015]))
    assert v.status == "holds with caveats"
    assert v.conditions == {"against leaky relu": "holds", "against tanh": "does not hold"}
    assert rule(sparsity_summary(large, small, small)).status == "does not hold"
    assert rule(sparsity_summary(small, small, small)).status == "does not hold"  # equal gaps


def test_sparsity_regularises_counts_only_runs_that_reached_the_target():
    rule = sparsity.sparsity_regularises
    # one seed reached the target, in both settings: 2 pairs from 1 seed < MIN_SEEDS
    censored = [0.01, None, None]
    v = rule(sparsity_summary(censored, [0.05, 0.06, 0.05], [0.05, 0.06, 0.05]))
    assert v.status == "inconclusive" and v.numbers["pairs_leaky_relu"] == 2
    assert v.numbers["seeds_leaky_relu"] == 1
    assert v.numbers["total_leaky_relu"] == 6
    none = [None, None, None]
    assert rule(sparsity_summary(none, none, none)).status == "inconclusive"
    # the rival's runs that did not reach the target are left out, not counted as gap 0
    partial = rule(sparsity_summary([0.01, 0.012, 0.011], [None, 0.06, 0.055], [0.05, 0.06, 0.055]))
    assert partial.numbers["pairs_leaky_relu"] == 4


def test_pairs_of_one_seed_count_once_in_the_interval():
    """The settings of a seed are averaged before the interval, so twelve pairs from three
    seeds give an interval over three values, not twelve."""
    small, large = [0.01, 0.012, 0.011], [0.05, 0.06, 0.055]
    four = tuple(("kaiming", lr) for lr in (0.01, 0.02, 0.05, 0.1))
    v = sparsity.sparsity_regularises(sparsity_summary(small, large, large, settings=four))
    assert v.numbers["pairs_tanh"] == 12 and v.numbers["seeds_tanh"] == 3
    per_seed = [a - b for a, b in zip(small, large)]
    assert (v.numbers["low_tanh"], v.numbers["high_tanh"]) == pytest.approx(
        sparsity.mean_interval(per_seed)[1:])


def test_mean_interval_covers_a_known_mean():
    """A 95% interval over 30 normal draws should contain the true mean about 95% of the time."""
    import numpy as np
    rng = np.random.default_rng(1)
    hits = sum(lo <= 0.3 <= hi for lo, hi in
               (sparsity.mean_interval(list(rng.normal(0.3, 1.0, 30)))[1:] for _ in range(200)))
    assert 0.88 <= hits / 200 <= 0.99
    assert sparsity.mean_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def test_sparsity_power_calculation_asks_more_seeds_of_a_smaller_effect():
    from relu_tanh.claims import sparsity
    clear, faint = [-0.05, -0.04, -0.06], [-0.01, 0.01, -0.02]
    assert sparsity.seeds_to_decide(clear) <= 3 < sparsity.seeds_to_decide(faint)
    assert sparsity.seeds_to_decide([0.01, -0.01, 0.0]) is None  # no effect: never decided
