"""Chapter "through_time": Jacobians through time, the stacked RNN trainer, divergence
accounting, and the R3/R4 verdicts driven to every outcome."""

from __future__ import annotations

import math

import pytest
import torch

from relu_tanh import experiments
from relu_tanh.measure import jacobians
from relu_tanh.training import sequences
from relu_tanh.claims import through_time as ct
from relu_tanh.experiments import through_time as tt
from relu_tanh.nets.models import ElmanRNN, RNNConfig
from relu_tanh.training.loop import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- Jacobians ---------------------------------------------------------------------------------


def test_linear_rnn_jacobian_is_a_power_of_w():
    """h_t = W h_{t-1} + U x_t: dh_T/dh_t = W^(T-t) exactly, whatever the inputs and state."""
    g = torch.Generator().manual_seed(0)
    hidden, t_len = 6, 9
    w = torch.randn(hidden, hidden, generator=g, dtype=torch.float64) * 0.6
    u = torch.randn(hidden, 3, generator=g, dtype=torch.float64)
    x = torch.randn(2, t_len, 3, generator=g, dtype=torch.float64)
    h0 = torch.randn(2, hidden, generator=g, dtype=torch.float64)
    jac, rms = jacobians.jacobians(lambda xt, s: (s[0] @ w.T + xt @ u.T,), (h0,), x)
    assert jac.shape == (t_len, 2, hidden, hidden) and rms.shape == (t_len, 2)
    for gap in range(1, t_len + 1):
        power = torch.linalg.matrix_power(w, gap)
        assert torch.allclose(jac[gap - 1], power.expand(2, -1, -1), atol=1e-12)
    norms = jacobians.spectral_norms(jac)[:, 0]
    assert torch.allclose(norms, torch.stack([torch.linalg.matrix_norm(
        torch.linalg.matrix_power(w, k), ord=2) for k in range(1, t_len + 1)]))


@pytest.mark.parametrize("kind", jacobians.KINDS)
def test_jacobian_matches_autograd_functional(kind):
    """The one-backward-pass trick against torch.autograd.functional.jacobian, for every cell."""
    torch.manual_seed(0)
    model = jacobians.net(kind, 2, 4, 1.5).double()
    zero, step = jacobians.stepper(model)
    x = torch.rand(1, 5, 2, dtype=torch.float64)
    jac, _ = jacobians.jacobians(step, zero(1), x)
    t = 2  # dh_T/ds_t with T = 5: gap 3
    state = zero(1)
    for k in range(t):
        state = step(x[:, k], state)

    def h_last(*s_t):
        s = s_t
        for k in range(t, 5):
            s = step(x[:, k], s)
        return s[0]
    expected = torch.cat(torch.autograd.functional.jacobian(h_last, state), dim=-1)  # (1, H, 1, S)
    assert jac.shape[-1] == (8 if kind == "lstm" else 4)
    assert torch.allclose(jac[5 - t - 1, 0], expected[0, :, 0], atol=1e-10)


def test_net_scales_recurrent_weights_and_rejects_unknown_kinds():
    torch.manual_seed(0)
    for kind in jacobians.KINDS:
        model = jacobians.net(kind, 2, 256, 2.0)
        w = model.rec.weight if kind not in jacobians.GATED else model.weight_hh_l0
        assert abs(float(w.detach().std()) * 16 - 2.0) < 0.05, kind  # std g / sqrt(H)
    with pytest.raises(ValueError, match="valid choices: sigmoid, tanh, relu, lstm, gru"):
        jacobians.net("elu", 2, 4, 1.0)


def test_rnn_config_rec_scale_keeps_the_default():
    torch.manual_seed(0)
    a = ElmanRNN(RNNConfig(2, 1, 8))
    torch.manual_seed(0)
    b = ElmanRNN(RNNConfig(2, 1, 8, rec_scale=None))
    assert torch.equal(a.rec.weight, b.rec.weight)
    c = ElmanRNN(RNNConfig(2, 1, 8, init="identity", rec_scale=0.5))
    assert torch.equal(c.rec.weight, 0.5 * torch.eye(8))


# --- the divergence sweep's stacks --------------------------------------------------------------


def test_a_diverged_net_is_frozen_and_its_neighbours_train_on():
    """`train_nets` (the one K-model trainer) records every step until a net's loss or gradient
    turns NaN/inf, and no test MSE for that net; each model trains as train.train would."""
    data = sequences.adding(6, 100, 20, seed=0)
    cfg = tt.DivergenceConfig(hidden=8, epochs=2, batch_size=20)
    (calm, wild), clock = tt.train_nets("relu", [("identity", 1e-3, None), ("identity", 50.0, None)],
                                        data, cfg, seed=0, device="cpu")
    assert wild.nonfinite_at is not None and math.isnan(wild.test_mse)
    assert calm.nonfinite_at is None and len(calm.loss) == 10 and math.isfinite(calm.test_mse)
    assert all(len(c) == 10 and c == sorted(c) for c in clock.values())
    torch.manual_seed(0)
    hist = train(ElmanRNN(RNNConfig(2, 1, 8, "relu", "identity")), data,
                 TrainConfig(epochs=2, batch_size=20, lr=1e-3, momentum=0.0, log_every=1), seed=0)
    assert calm.loss == pytest.approx(hist.loss, rel=1e-5)
    assert calm.test_mse == pytest.approx(hist.epoch_test_error[-1], rel=1e-5)


# --- divergence accounting ---------------------------------------------------------------------


def trace(loss, nonfinite_at=None, norms=None):
    return tt.Trace(list(loss), list(norms or [1.0] * len(loss)), nonfinite_at, 0.1)


def test_divergence_rule():
    assert tt.divergence(trace([1.0, 0.5, 0.2]), 10)["diverged"] is False
    blown = tt.divergence(trace([1.0, 5.0, 11.0, 0.5]), 10)
    assert blown == {"diverged": True, "cause": "blowup", "step": 2, "peak": 11.0}
    nan = tt.divergence(trace([1.0, 2.0], nonfinite_at=2), 10)
    assert (nan["diverged"], nan["cause"], nan["step"]) == (True, "nonfinite", 2)
    first = tt.divergence(trace([1.0, 20.0], nonfinite_at=5), 10)  # blow-up came first
    assert (first["cause"], first["step"]) == ("blowup", 1)
    at_once = tt.divergence(trace([], nonfinite_at=0), 10)  # NaN on the very first step
    assert at_once["diverged"] and at_once["cause"] == "nonfinite" and math.isnan(at_once["peak"])


def test_clip_threshold_is_the_mean_unclipped_norm_of_calm_runs():
    runs = [trace([1, 1], norms=[1.0, 3.0]), trace([1, 1], norms=[4.0, 4.0]),
            trace([1, 100], norms=[2.0, 1e9])]
    verdicts = [tt.divergence(t, 10) for t in runs]
    assert tt.clip_threshold(runs, verdicts) == pytest.approx(3.0)
    all_wild = [tt.divergence(trace([1, 100]), 10)] * 3
    assert tt.clip_threshold(runs, all_wild) == pytest.approx(7 / 3)  # first-step norms


def test_steps_per_second():
    sp = tt.steps_per_second([0.1 * (k + 1) for k in range(40)])
    assert sp["first_quarter"] == pytest.approx(10) and sp["last_quarter"] == pytest.approx(10)
    assert sp["steps"] == 40


def test_smoke_run_summary_and_flushed_denormals():
    res = experiments.run("through_time", "smoke", seeds=1)
    s = res.summary
    cfg = res.config
    assert s["denormals_flushed"] is True
    assert set(s["map"]) == {(k, g) for k in cfg.map.kinds for g in cfg.map.scales}
    assert all(len(v["log10_norm"]) == cfg.map.length for v in s["map"].values())
    assert set(s["arms"]) == {(a, i, c) for a in ("tanh", "relu") for i in ("default", "identity")
                              for c in (False, True)}
    assert all(isinstance(d, bool) for arm in s["arms"].values() for ds in arm["diverged"] for d in ds)
    assert all(c > 0 for cs in s["thresholds"].values() for c in cs)
    assert all(sp[clock]["steps"] == 8 for sp in s["speed"] for clock in ("wall", "cpu"))


# --- R4: tanh vanishes through time ------------------------------------------------------------


def map_summary(tanh: dict[float, list[float]], sigmoid: dict[float, list[float]]) -> dict:
    """A map with the given per-seed log10 norms at the largest gap."""
    grid = {(k, g): {"end": ends, "log10_norm": [0.0, ends[0]], "rms": [1.0, 1.0]}
            for k, col in (("tanh", tanh), ("sigmoid", sigmoid)) for g, ends in col.items()}
    return {"map": grid, "gaps": [1, 2]}


def r4(tanh, sigmoid):
    return ct.tanh_vanishes_through_time(map_summary(tanh, sigmoid))


def test_r4_holds_when_tanh_vanishes_everywhere_but_far_less():
    v = r4({0.5: [-4, -4.5], 1.0: [-3, -3.2]}, {0.5: [-20, -21], 1.0: [-12, -13]})
    assert v.status == "holds" and v.numbers["tanh_vanished"] == 2


def test_r4_caveats_when_tanh_keeps_its_gradient_at_large_scales():
    v = r4({0.5: [-4, -4], 2.0: [1.0, 2.0]}, {0.5: [-20, -20], 2.0: [-8, -9]})
    assert v.status == "holds with caveats" and v.numbers["max_vanished_scale"] == 0.5
    assert v.numbers["min_kept_scale"] == 2.0


def test_r4_does_not_hold_when_tanh_never_vanishes_or_is_no_better():
    assert r4({0.5: [-1, -1.5]}, {0.5: [-20, -20]}).status == "does not hold"
    assert r4({0.5: [-20, -20], 1.0: [-12, -12]}, {0.5: [-20.5, -20], 1.0: [-12, -12]}).status \
        == "does not hold"


def test_r4_inconclusive_on_nan_no_sigmoid_vanishing_or_split_seeds():
    assert r4({0.5: [-4, math.nan]}, {0.5: [-20, -20]}).status == "inconclusive"
    assert r4({0.5: [-4, -4]}, {0.5: [-1, -1]}).status == "inconclusive"
    assert r4({0.5: [-4, 0.0]}, {0.5: [-20, -20]}).status == "inconclusive"


# --- R3: ReLU RNNs explode ---------------------------------------------------------------------


def arms(relu: dict[tuple[str, bool], list[list]], tanh: dict[tuple[str, bool], list[list]]) -> dict:
    return {"arms": {**{("relu", *k): {"diverged": v} for k, v in relu.items()},
                     **{("tanh", *k): {"diverged": v} for k, v in tanh.items()}}}


LOW_HIGH = [[False] * 5, [False] * 5, [True] * 5, [True] * 5]  # 4 lrs x 5 seeds
ALL_LOW = [[False] * 5, [False] * 5, [False] * 5, [True] * 5]


def r3(relu, tanh):
    return ct.relu_rnn_explodes(arms(relu, tanh))


def test_mcnemar_exact():
    assert ct.mcnemar_greater(5, 0) == pytest.approx(1 / 32)
    assert ct.mcnemar_greater(0, 0) == 1.0
    assert ct.mcnemar_greater(2, 2) == pytest.approx(11 / 16)


def test_r3_holds_when_relu_diverges_more_in_every_arm():
    v = r3({("default", False): LOW_HIGH, ("default", True): LOW_HIGH},
           {("default", False): ALL_LOW, ("default", True): ALL_LOW})
    assert v.status == "holds"
    assert v.numbers["default-noclip-relu"] == 0.5 and v.numbers["default-noclip-tanh"] == 0.25
    assert v.numbers["default-noclip-p"] == pytest.approx(1 / 32)


def test_r3_caveats_when_clipping_removes_the_excess():
    v = r3({("default", False): LOW_HIGH, ("default", True): ALL_LOW},
           {("default", False): ALL_LOW, ("default", True): ALL_LOW})
    assert v.status == "holds with caveats" and "default init, clipped" in v.reason


def test_r3_does_not_hold_when_tanh_diverges_as_often():
    v = r3({("default", False): ALL_LOW}, {("default", False): LOW_HIGH})
    assert v.status == "does not hold"


def test_r3_inconclusive_when_all_none_or_nothing_is_known():
    every = [[True] * 5] * 4
    never = [[False] * 5] * 4
    assert r3({("default", False): every}, {("default", False): every}).status == "inconclusive"
    assert r3({("default", False): never}, {("default", False): never}).status == "inconclusive"
    unknown = [[None] * 5] * 4
    v = r3({("default", False): unknown}, {("default", False): LOW_HIGH})
    assert v.status == "inconclusive" and "default-noclip-p" not in v.numbers  # NaN is dropped


def test_r3_small_excesses_are_undecided_or_ruled_out():
    tanh = [[False] * 5, [False] * 5, [True] * 5, [True] * 5]
    few = [[True, True, True, False, False], [False] * 5, [True] * 5, [True, False, True, True, True]]
    st = ct.paired(few, tanh)  # 3 pairs diverged with ReLU only, 1 with tanh only
    assert st["n"] == 20 and st["diff"] == pytest.approx(0.1) and st["p"] == pytest.approx(5 / 16)
    assert st["low"] < 0.1 < CLEAR_ < st["high"]
    assert r3({("default", False): few}, {("default", False): tanh}).status == "inconclusive"
    one = [[True, False, False, False, False], [False] * 5, [True] * 5, [True] * 5]
    st = ct.paired(one, tanh)
    assert st["p"] == pytest.approx(0.5) and st["high"] < CLEAR_
    assert r3({("default", False): one}, {("default", False): tanh}).status == "does not hold"


CLEAR_ = ct.CLEAR


def test_paired_drops_missing_runs():
    st = ct.paired([[True, None], [math.nan, False]], [[False, True], [True, False]])
    assert st["n"] == 2 and st["relu"] == 0.5 and st["tanh"] == 0.0


def test_regime_of_a_map_cell():
    assert tt.regime([-5, -3]) == "vanishes" and tt.regime([3, 9]) == "explodes"
    assert tt.regime([-1, 1.5]) == "stays" and tt.regime([-5, 5]) == "mixed"
    assert tt.regime([math.nan, -5]) == "mixed"


def test_speed_summary_flags_a_slowdown():
    run = lambda first, last: {"first_quarter": first, "last_quarter": last, "steps": 40}
    steady = {"speed": [{"cpu": run(100, 110), "wall": run(50, 40)}] * 2}
    sp = tt.speed_summary(steady)
    assert sp["steady"] and sp["cpu_steps_per_s"] == 100 and sp["wall_steps_per_s"] == 50
    slowed = {"speed": [{"cpu": run(100, 110), "wall": run(50, 50)},
                        {"cpu": run(100, 10), "wall": run(50, 5)}]}
    assert not tt.speed_summary(slowed)["steady"]


def test_against_baseline_counts_only_runs_that_did_not_diverge():
    from relu_tanh.experiments import through_time as tt
    s = {"baseline_mse": 1 / 6, "arms": {("relu", "default", False): {
        "test_mse": [[0.1, 0.2], [0.5, 0.05]], "diverged": [[False, False], [True, False]]}}}
    out = tt.against_baseline(s)
    assert out["survived"] == 3 and out["below"] == 2 and out["best_ratio"] == pytest.approx(0.3)
