"""Chapter "gates": the cells against PyTorch's, the stacked training loop against train.train,
divergence accounting, the summary's censoring and cross-fitted rates, and both verdicts driven
to every outcome and unmoved by the order of the seeds."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch
from torch import nn

from relu_tanh.nets import activations
from relu_tanh.training import sequences
from relu_tanh.nets.cells import GatedConfig, GatedRNN, PerModel
from relu_tanh.claims import gates as claims_gates
from relu_tanh.experiments import gates
from relu_tanh.training.loop import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TORCH_LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU}


def _pair(cell: str, k: int = 3, seed: int = 0) -> tuple[GatedRNN, list[nn.Module]]:
    """A stack of k original cells (float64) and k PyTorch layers holding the same weights."""
    torch.manual_seed(seed)
    refs = [TORCH_LAYERS[cell](3, 5, batch_first=True).double() for _ in range(k)]
    model = GatedRNN(GatedConfig(cell, 3, 1, 5, ("sigmoid",) * k, ("tanh",) * k)).double()
    for j, ref in enumerate(refs):
        model.cell.copy_from(ref, j)
    return model, refs


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_cells_match_pytorch_outputs_and_gradients(cell):
    model, refs = _pair(cell)
    x = torch.randn(3, 4, 9, 3, dtype=torch.float64)  # (K, B, T, I): other inputs per model
    trace: dict[str, list[torch.Tensor]] = {}
    model(x, trace)
    h = torch.stack(trace["h"], 2)  # (K, B, T, H)
    weight = torch.randn_like(h)  # a loss that reaches every step's hidden state
    (weight * h).sum().backward()
    for j, ref in enumerate(refs):
        out, final = ref(x[j])  # (B, T, H)
        torch.testing.assert_close(h[j], out, rtol=1e-12, atol=1e-12)
        if cell == "lstm":
            torch.testing.assert_close(trace["c"][-1][j], final[1][0], rtol=1e-12, atol=1e-12)
        (weight[j] * out).sum().backward()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            torch.testing.assert_close(getattr(model.cell, name).grad[j],
                                       getattr(ref, f"{name}_l0").grad, rtol=1e-10, atol=1e-12)


def test_pytorch_gate_order_is_respected():
    """Breaking the layout (swapping two gate blocks) must break the agreement."""
    model, (ref,) = _pair("lstm", k=1)
    x = torch.randn(1, 2, 6, 3, dtype=torch.float64)
    trace: dict[str, list[torch.Tensor]] = {}
    model(x, trace)
    good = torch.stack(trace["h"], 2)[0]
    with torch.no_grad():
        w = model.cell.weight_hh
        w[0, :5], w[0, 5:10] = w[0, 5:10].clone(), w[0, :5].clone()  # i <-> f
    trace = {}
    model(x, trace)
    out, _ = ref(x[0])
    torch.testing.assert_close(good, out)
    assert (torch.stack(trace["h"], 2)[0] - out).abs().max() > 1e-3


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_each_model_of_a_stack_uses_its_own_nonlinearities(cell):
    """A mixed stack equals the models run one at a time, and the gates obey their function."""
    names = [("sigmoid", "tanh"), ("relu", "tanh"), ("clamped_relu", "identity"),
             ("hard_sigmoid", "relu")]
    torch.manual_seed(1)
    mixed = GatedRNN(GatedConfig(cell, 2, 1, 4, tuple(g for g, _ in names),
                                 tuple(s for _, s in names)))
    x = torch.randn(3, 7, 2)
    trace: dict[str, list[torch.Tensor]] = {}
    with torch.no_grad():
        out = mixed(x, trace)
    for j, (g, s) in enumerate(names):
        single = GatedRNN(GatedConfig(cell, 2, 1, 4, (g,), (s,)))
        with torch.no_grad():
            for p, q in zip(single.parameters(), mixed.parameters()):
                p.copy_(q[j:j + 1])
        with torch.no_grad():
            torch.testing.assert_close(single(x)[0], out[j])
        gate = trace[gates.GATE_NAMES[cell][0]][3][j]
        if g in ("clamped_relu", "hard_sigmoid", "sigmoid"):
            assert 0 <= float(gate.min()) and float(gate.max()) <= 1
    assert PerModel(["relu", "relu", "tanh"]).sizes == [2, 1]


def test_unknown_nonlinearity_and_cell_list_the_choices():
    with pytest.raises(KeyError, match="hard_sigmoid"):
        PerModel(["softstep"])
    with pytest.raises(ValueError, match="lstm, gru"):
        GatedRNN(GatedConfig("rnn", 2, 1, 4, ("sigmoid",), ("tanh",)))


@pytest.mark.parametrize("name", ["hard_sigmoid", "clamped_relu", "identity"])
def test_cell_nonlinearities_derivatives_match_autograd(name):
    act = activations.cell_nonlinearity(name)
    z = torch.linspace(-6, 6, 1201, dtype=torch.float64)
    z = z[~torch.isin(z, torch.tensor([-2.5, 0.0, 1.0, 2.5], dtype=torch.float64))]  # kinks
    z.requires_grad_(True)
    (auto,) = torch.autograd.grad(act.fn(z).sum(), z)
    torch.testing.assert_close(act.derivative(z.detach()), auto, rtol=0, atol=1e-12)
    torch.testing.assert_close(act.module()(z.detach()), act.fn(z.detach()))
    big = act.fn(torch.tensor([-1e6, 1e6], dtype=torch.float64)).abs().max()
    assert act.bounded == bool(big <= 1)
    assert name not in activations.ACTIVATIONS  # kept out of the sweep of every activation


def _run(mse: float | None, diverged: bool = False) -> dict:
    return {"test_mse": [0.2, mse], "diverged": diverged}


def _by_seed(*runs: dict) -> dict[int, dict]:
    return dict(enumerate(runs))


def test_arm_censors_diverged_and_nan_runs_and_scores_each_seed_at_a_cross_fitted_lr():
    cfg = gates.GatesConfig(lrs=(0.01, 0.03, 0.1))
    solved = 0.01 * sequences.ADDING_BASELINE_MSE
    arm = gates._arm(cfg, {0.01: _by_seed(_run(0.1), _run(0.1), _run(0.1)),
                           0.03: _by_seed(_run(solved), _run(math.nan), _run(solved, True)),
                           0.1: _by_seed(_run(None), _run(math.inf), _run(0.5))})
    assert arm["chosen"] == {0: 0.01, 1: 0.03, 2: 0.03} and arm["edge"]
    assert arm["solved"] == 0 and arm["diverged"] == 1 and arm["median_mse"] == math.inf
    assert arm["per_lr"][0.03]["solved"] == 1 and arm["runs"] == 9
    dead = gates._arm(cfg, {lr: _by_seed(*[_run(math.nan, True)] * 3) for lr in cfg.lrs})
    assert dead["solved"] == 0 and dead["median_mse"] == math.inf and dead["long_n"] == 0
    assert dead["diverged_any_lr"] == 9


def test_a_rate_lucky_on_one_seed_is_not_chosen_for_that_seed():
    """Picked on all seeds, 0.01 would report seed 0 as solved; picked on the others, it is not."""
    cfg = gates.GatesConfig(lrs=(0.01, 0.03))
    solved = 0.01 * sequences.ADDING_BASELINE_MSE
    arm = gates._arm(cfg, {0.01: _by_seed(_run(solved), _run(0.5), _run(0.5)),
                           0.03: _by_seed(_run(0.1), _run(0.1), _run(0.1))})
    assert arm["chosen"] == {0: 0.03, 1: 0.01, 2: 0.01} and arm["solved"] == 0


def test_arm_counts_states_that_explode_on_longer_sequences():
    cfg = gates.GatesConfig(lrs=(0.01,))
    long = [{"mse": 0.01, "max_state": 3.0}, {"mse": None, "max_state": None},
            {"mse": 0.5, "max_state": gates.EXPLODED}, {"mse": 0.02, "max_state": 1.0}]
    runs = [{**_run(0.001), "long": p} for p in long] + [{**_run(None, True), "long": long[0]}]
    arm = gates._arm(cfg, {0.01: _by_seed(*runs)})
    assert arm["long_n"] == 4 and arm["long_exploded"] == 2  # the diverged run is left out
    assert arm["long_median_mse"] == pytest.approx(0.26) and arm["long_max_state"] == math.inf


# --- verdicts on constructed summaries -----------------------------------------------------------

ARMS = [("sigmoid", "tanh"), ("hard_sigmoid", "tanh"), ("clamped_relu", "tanh"), ("relu", "tanh"),
        ("sigmoid", "relu"), ("sigmoid", "identity")]


def _summary(solved: dict[tuple[str, str], int] | None = None, n: int = 3,
             per_cell: dict[str, dict[tuple[str, str], int]] | None = None,
             diverged: int = 0, exploded: tuple[tuple[str, str], ...] = (),
             length: int = 20) -> dict:
    """Every arm solved by all n seeds unless `solved` (or `per_cell`) says otherwise; an arm no
    seed solves has `diverged` of its 4n runs diverged; the arms in `exploded` explode on the
    longer sequences in every seed that trained."""
    arms = {}
    for cell in ("lstm", "gru"):
        for arm in ARMS:
            k = (per_cell or {}).get(cell, {}).get(arm, (solved or {}).get(arm, n))
            arms[(cell, *arm)] = {"n": n, "solved": k, "diverged": diverged if k == 0 else 0,
                                  "diverged_any_lr": diverged if k == 0 else 0, "runs": 4 * n,
                                  "median_mse": 0.001 if k else math.nan,
                                  "long_n": n if k else 0, "long_median_mse": 0.01,
                                  "long_exploded": n if arm in exploded and k else 0}
    return {"arms": arms, "length": length, "long_length": 100}


FAIL = 0
STRADDLES = 2  # of 3: the Wilson interval on the share solved straddles one half


@pytest.mark.parametrize("solved,per_cell,expected", [
    ({("relu", "tanh"): FAIL}, None, "holds"),
    # a bounded stand-in fails too: the shape matters as well, a point the claim does not make
    ({("relu", "tanh"): FAIL, ("clamped_relu", "tanh"): FAIL}, None, "holds"),
    ({("relu", "tanh"): FAIL, ("hard_sigmoid", "tanh"): 1}, None, "holds"),
    (None, {"lstm": {("relu", "tanh"): FAIL}}, "holds with caveats"),
    (None, None, "does not hold"),
    ({("hard_sigmoid", "tanh"): FAIL}, None, "does not hold"),
    ({("relu", "tanh"): STRADDLES}, None, "inconclusive"),
    ({("relu", "tanh"): 1}, None, "inconclusive"),
    ({("sigmoid", "tanh"): STRADDLES}, None, "inconclusive"),
    ({arm: FAIL for arm in ARMS}, None, "inconclusive"),
])
def test_gates_bounded_reaches_every_outcome(solved, per_cell, expected):
    v = claims_gates.gates_bounded(_summary(solved, per_cell=per_cell, diverged=12))
    assert v.status == expected, v.reason
    assert v.numbers and all(math.isfinite(x) for x in v.numbers.values())


def test_trained_arms_that_explode_earn_a_caveat():
    v = claims_gates.gates_bounded(_summary(exploded=(("relu", "tanh"),)))
    assert v.status == "holds with caveats" and "explode" in v.reason
    assert v.conditions == {"LSTM at the chosen rate": "does not hold",
                            "GRU at the chosen rate": "does not hold",
                            "LSTM over the grid and longer sequences": "holds",
                            "GRU over the grid and longer sequences": "holds"}
    v = claims_gates.state_tanh(_summary(exploded=(("sigmoid", "identity"),)))
    assert v.status == "holds with caveats" and "identity" in v.reason
    assert v.conditions == {"LSTM relu": "does not hold", "LSTM identity": "holds",
                            "GRU relu": "does not hold", "GRU identity": "holds"}


@pytest.mark.parametrize("diverged,expected", [
    (9, "holds with caveats"),  # of 12 runs: the interval lies above one half, they explode
    (6, "inconclusive"),  # straddles: neither exploding nor stable
    (3, "does not hold"),  # below: stable
])
def test_divergence_over_the_grid_is_read_through_its_interval(diverged, expected):
    s = _summary()  # every arm trains; GRU ReLU gates diverge at some learning rates
    s["arms"][("gru", "relu", "tanh")]["diverged_any_lr"] = diverged
    v = claims_gates.gates_bounded(s)
    assert v.status == expected, v.reason


def test_an_arm_without_runs_is_partial_and_unsettled():
    empty = {"n": 0, "solved": 0, "runs": 0, "diverged_any_lr": 0, "long_n": 0, "long_exploded": 0}
    assert claims_gates.standing(empty) == "partial"
    assert claims_gates.explosion(empty) == "unsettled"
    s = _summary()
    s["arms"][("lstm", "relu", "tanh")] = {**s["arms"][("lstm", "relu", "tanh")], **empty}
    assert claims_gates.gates_bounded(s).status == "inconclusive"


def test_gates_bounded_reads_all_diverged_relu_gates_as_failing():
    s = _summary({("relu", "tanh"): FAIL}, diverged=12)  # every ReLU-gate run diverged (NaN MSE)
    v = claims_gates.gates_bounded(s)
    assert v.status == "holds" and v.numbers["lstm_relu_diverged"] == 12


@pytest.mark.parametrize("solved,per_cell,expected", [
    ({("sigmoid", "relu"): FAIL, ("sigmoid", "identity"): FAIL}, None, "holds"),
    ({("sigmoid", "identity"): FAIL}, None, "holds with caveats"),
    (None, {"gru": {("sigmoid", "relu"): FAIL}}, "holds with caveats"),
    (None, None, "does not hold"),
    ({("sigmoid", "relu"): STRADDLES}, None, "inconclusive"),
    ({("sigmoid", "relu"): 1}, None, "inconclusive"),
    ({arm: FAIL for arm in ARMS}, None, "inconclusive"),
])
def test_state_tanh_reaches_every_outcome(solved, per_cell, expected):
    v = claims_gates.state_tanh(_summary(solved, per_cell=per_cell, diverged=12, length=100))
    assert v.status == expected and v.scope is None, v.reason
    assert v.numbers and all(math.isfinite(x) for x in v.numbers.values())


@pytest.mark.parametrize("solved", [None, {("sigmoid", "relu"): FAIL}, {("sigmoid", "tanh"): FAIL}])
def test_state_tanh_on_short_sequences_is_scoped_to_them(solved):
    v = claims_gates.state_tanh(_summary(solved, length=claims_gates.LONG - 1))
    assert v.scope == claims_gates.SHORT_SCOPE
    assert v.headline.endswith("on the short book-scale sequences")


@pytest.mark.parametrize("solved,n,expected", [
    (3, 3, "trains"), (2, 3, "partial"), (1, 3, "partial"), (0, 3, "fails"),
    (7, 8, "trains"), (5, 8, "partial"), (1, 8, "fails"), (0, 0, "partial"),
])
def test_standing_by_the_wilson_interval(solved, n, expected):
    assert claims_gates.standing({"n": n, "solved": solved}) == expected


@pytest.mark.parametrize("scale", ["book", "paper"])  # smoke is never read as a finding
def test_every_standing_is_reachable_with_the_scales_seeds(scale):
    from relu_tanh import experiments

    n = experiments.get("gates").seeds[scale]
    assert {claims_gates.standing({"n": n, "solved": k}) for k in range(n + 1)} == \
        {"trains", "fails", "partial"}
    assert claims_gates.decided_counts(n) == (n, 0)  # all solve: trains; none: fails
    d = claims_gates.seeds_for_a_dissent()
    assert claims_gates.decided_counts(d)[0] == d - 1
    assert claims_gates.decided_counts(d - 1)[0] == d - 1  # one seed fewer: unanimity again


def test_longer_finding_places_the_mse_against_the_baseline_and_the_threshold():
    s = _summary()
    s["threshold"] = sequences.ADDING_BASELINE_MSE / 10
    s["arms"][("lstm", "sigmoid", "tanh")]["long_median_mse"] = 0.48
    s["arms"][("gru", "sigmoid", "tanh")]["long_median_mse"] = 0.15
    text = claims_gates.longer_finding(s)
    assert "LSTM scores a median MSE of 0.48, worse than the 1/6" in text
    assert "GRU scores a median MSE of 0.15, below the 1/6 of always answering 1 but not" in text
    s["arms"][("gru", "sigmoid", "tanh")]["long_median_mse"] = 0.01
    assert "0.01, still solved" in claims_gates.longer_finding(s)


def _seed_output(solved_at: dict[tuple[str, str], set[float]], lrs: tuple[float, ...]) -> dict:
    """One seed as `run_seed` stores it (no traces): each arm solves the task at the lrs given."""
    models = [{"gate": g, "state": st, "lr": lr, "diverged": False, "init": None, "final": None,
               "test_mse": [0.2, 0.001 if lr in solved_at.get((g, st), set()) else 0.1 + lr],
               "long": {"mse": 0.01, "max_state": 1.0}} for g, st in ARMS for lr in lrs]
    return {"data": "adding", "cells": {c: {"steps": 10, "epoch_seconds": [1.0], "models": models}
                                        for c in ("lstm", "gru")}}


LRS = gates.GatesConfig().lrs
EVERY = set(LRS)
SHORT = {("hard_sigmoid", "tanh"): EVERY, ("clamped_relu", "tanh"): EVERY,
         ("sigmoid", "relu"): EVERY, ("sigmoid", "identity"): EVERY}  # tanh replaced, and trains


@pytest.mark.parametrize("seeds,expected", [
    ([{("sigmoid", "tanh"): EVERY, **SHORT}] * 3, ("holds", "does not hold")),
    # each seed's ReLU gates solve at another rate, and the identity state at the top one only
    ([{("sigmoid", "tanh"): EVERY, **SHORT, ("relu", "tanh"): {0.01}},
      {("sigmoid", "tanh"): EVERY, ("relu", "tanh"): {0.03}, ("sigmoid", "identity"): {0.1}},
      {("sigmoid", "tanh"): EVERY, ("relu", "tanh"): {0.01, 0.03}, ("sigmoid", "identity"): {0.1}}],
     ("inconclusive", "inconclusive")),
])
def test_permuting_the_seeds_never_changes_a_verdict(seeds, expected):
    """Seeds relabelled in every order give the same verdicts, cross-fitted rates included."""
    cfg = gates.GatesConfig()
    for order in itertools.permutations([_seed_output(solved, LRS) for solved in seeds]):
        s = gates.summarize(cfg, dict(enumerate(order)))
        assert (claims_gates.gates_bounded(s).status, claims_gates.state_tanh(s).status) == expected


def test_smoke_run_summarises_every_arm(tmp_path):
    from relu_tanh import experiments

    res = experiments.run("gates", "smoke", seeds=1, root=tmp_path)
    s = res.summary
    cfg = res.config
    assert set(s["arms"]) == {(c, *a) for c in cfg.cells for a in cfg.arms}
    for cell, t in s["traces"].items():
        for name in gates.GATE_NAMES[cell]:
            hist = t["init"][name]["hist"]
            assert len(hist) == gates.HIST_BINS
            assert sum(hist) == min(gates.PROBE, cfg.n_test) * cfg.length * cfg.hidden_size
        assert len(t["final"][gates.GATE_NAMES[cell][1]]["unit_mean"]) == cfg.hidden_size
    rates = [r for per_seed in s["steps_per_s"].values() for seed in per_seed for r in seed]
    assert rates and all(r > 0 for r in rates)


def test_configs_survive_their_json_form():
    """A stored run's config (nested tuples as lists) rebuilds to the same config."""
    import json
    from relu_tanh import experiments

    for scale, cfg in experiments.get("gates").configs.items():
        back = experiments.from_json(gates.GatesConfig,
                                     json.loads(json.dumps(dataclasses.asdict(cfg))))
        assert dataclasses.replace(back, train=cfg.train) == cfg, scale


@pytest.mark.slow
def test_paper_config_runs_with_a_tiny_budget(tmp_path):
    """The paper scale's models (longer sequences, wider cells, its lr grid) build, train a step
    and summarise; only the data and the number of steps are shrunk."""
    from relu_tanh import experiments

    tiny = TrainConfig(epochs=1, batch_size=32, optimizer="adam", clip=1.0, log_every=1)
    res = experiments.run("gates", "paper", seeds=1, root=tmp_path, n_train=32, n_test=8,
                          long_length=120, train=tiny)
    cfg = res.config
    assert cfg.length == experiments.get("gates").configs["paper"].length
    assert len(res.summary["arms"]) == len(cfg.cells) * len(cfg.arms)
    assert all(len(m["test_mse"]) == 1 for c in res.seeds[0]["cells"].values()
               for m in c["models"])
