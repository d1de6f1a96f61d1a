"""Chapter "powers": constructed spectra, products in log space, the Jacobian of a linear RNN,
transient growth, and the three verdict functions driven to each outcome."""

from __future__ import annotations

import math

import pytest
import torch

from relu_tanh.nets import activations
from relu_tanh import experiments
from relu_tanh.measure import spectra
from relu_tanh.claims import powers as P
from relu_tanh.experiments import powers as E

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("radius,norm", [(0.5, 0.5), (0.9, 3.0), (1.2, 1.5), (2.0, 10.0)])
def test_non_normal_has_the_requested_radius_and_norm(radius, norm):
    w = spectra.non_normal(24, radius, norm, spectra.generator(1))
    assert spectra.spectral_radius(w) == pytest.approx(radius, rel=1e-8)
    assert spectra.spectral_norm(w) == pytest.approx(norm, rel=1e-8)


def test_non_normal_refuses_a_norm_below_the_radius():
    with pytest.raises(ValueError, match="spectral norm"):
        spectra.non_normal(8, 1.0, 0.5, spectra.generator(0))


@pytest.mark.parametrize("family", ["gaussian", "normal", "orthogonal"])
def test_random_families_have_the_requested_radius(family):
    w = E.random_matrix(family, 32, 0.8, spectra.generator(2))
    assert spectra.spectral_radius(w) == pytest.approx(0.8, rel=1e-8)
    if family != "gaussian":  # normal matrices: the norm equals the radius
        assert spectra.spectral_norm(w) == pytest.approx(0.8, rel=1e-8)


def test_with_norm_sets_the_spectral_norm():
    w = spectra.with_norm(spectra.gaussian(20, 1.0, spectra.generator(3)), 4.0)
    assert spectra.spectral_norm(w) == pytest.approx(4.0, rel=1e-10)


def test_log_norms_match_direct_powers_and_survive_underflow():
    w = spectra.gaussian(12, 0.7, spectra.generator(4))
    logs = spectra.power_log_norms(w, 30, every=3)
    direct = [math.log(spectra.spectral_norm(torch.linalg.matrix_power(w, t))) for t in range(3, 31, 3)]
    assert logs.tolist() == pytest.approx(direct, rel=1e-9)
    tiny = spectra.power_log_norms(torch.eye(4, dtype=spectra.DTYPE) * 1e-3, 400)
    assert tiny[-1].item() == pytest.approx(400 * math.log(1e-3))  # 1e-1200: below float64 range
    assert spectra.growth_rate(tiny) == pytest.approx(1e-3)


def test_bptt_of_a_linear_rnn_is_the_matrix_power():
    """dh_T/dh_{T-g} = W^g when f is the identity; checked in closed form and on the matrix."""
    gen = spectra.generator(5)
    w_h = spectra.gaussian(10, 1.3, gen)
    w_x = torch.randn(10, 3, generator=gen, dtype=spectra.DTYPE)
    x = torch.randn(2, 15, 3, generator=gen, dtype=spectra.DTYPE)  # (B, T, d)
    pre = spectra.rnn_preactivations(w_h, w_x, x, lambda a: a)
    logs = spectra.bptt_log_norms(w_h, pre, torch.ones_like)  # (B, T)
    power = [math.log(spectra.spectral_norm(torch.linalg.matrix_power(w_h, g))) for g in range(1, 16)]
    assert logs.shape == (2, 15)
    for b in range(2):
        assert logs[b].tolist() == pytest.approx(power, rel=1e-9)


def test_bptt_of_a_tanh_rnn_matches_autograd():
    gen = spectra.generator(6)
    w_h = spectra.gaussian(6, 1.5, gen)
    w_x = torch.randn(6, 2, generator=gen, dtype=spectra.DTYPE)
    x = torch.randn(1, 8, 2, generator=gen, dtype=spectra.DTYPE)
    tanh = activations.get("tanh")
    pre = spectra.rnn_preactivations(w_h, w_x, x, tanh.fn)
    logs = spectra.bptt_log_norms(w_h, pre, tanh.derivative)[0]

    def h_from(k: int, h: torch.Tensor) -> torch.Tensor:  # h_T as a function of h_k
        for t in range(k, 8):
            h = torch.tanh(w_h @ h + w_x @ x[0, t])
        return h

    h_k = torch.tanh(pre[0, 8 - 4 - 1])  # h_4, the state 4 steps before the end
    jac = torch.autograd.functional.jacobian(lambda h: h_from(4, h), h_k)
    assert logs[3].item() == pytest.approx(math.log(spectra.spectral_norm(jac)), rel=1e-9)


def test_transient_growth_rises_then_decays():
    w = spectra.non_normal(32, 0.9, 3.0, spectra.generator(7))
    logs = spectra.power_log_norms(w, 300)
    peak = int(logs.argmax())
    assert logs[peak] > math.log(3.0)  # grows beyond one step's worth ...
    assert peak > 1
    assert logs[-1] < 0  # ... and then decays below 1
    assert torch.all(logs[-60::10].diff() < 0)  # (period-2 wobble: eigenvalues +-rho)
    assert spectra.growth_rate(logs) == pytest.approx(0.9, rel=0.01)


def test_lyapunov_matches_a_long_product():
    gen = spectra.generator(8)
    logs = spectra.log_norms((spectra.gaussian(16, 1.0, gen) for _ in range(3000)), every=3000)
    assert logs[-1].item() / 3000 == pytest.approx(spectra.lyapunov_gaussian(16, 1.0), abs=0.01)


def test_entry_traces_split_the_entries():
    traces = E.entry_traces(torch.tensor([[0.5, 4.0], [0.0, 0.5]], dtype=spectra.DTYPE), 3)
    assert traces["above_1"][0] == pytest.approx(math.log10(4.0))
    assert traces["below_1"][0] == pytest.approx(math.log10(0.5))


def test_experiment_runs_at_smoke_scale_with_every_part():
    res = experiments.run("powers", "smoke")
    cfg, s = res.config, res.summary
    assert len(res.seeds) == 5
    assert {r["seed"] for r in s["spectra"]["rows"]} == set(range(cfg.spectra_seeds))
    assert s["pascanu"]["sequences"] == cfg.pascanu_seeds * cfg.pascanu.batch
    assert s["shared"]["seeds"] == 5
    # Pascanu et al.'s bound is a theorem: no measured norm may exceed it
    assert all(v["bound_margin"] <= P.BOUND_TOL for v in s["pascanu"]["settings"].values())


# --- verdicts on constructed summaries ---------------------------------------------------------

def _row(max_entry, radius, rate, family="gaussian"):
    return {"name": "m", "family": family, "max_entry": max_entry, "radius": radius, "norm": radius,
            "rate": rate}


@pytest.mark.parametrize("rows,status", [
    ([_row(0.5, 0.5, 0.5), _row(2.0, 2.0, 2.0)], "holds"),
    # right for 3 of 4 matrices, a share the sweep sets: the counterexample decides
    ([_row(0.5, 0.5, 0.5)] * 3 + [_row(0.5, 2.0, 2.0, "constructed")], "does not hold"),
    ([_row(0.5, 0.5, 0.5), _row(0.5, 2.0, 2.0, "constructed")], "does not hold"),
    ([_row(0.5, 0.5, 2.0), _row(2.0, 2.0, 0.5)], "inconclusive"),
])
def test_powers_entries_outcomes(rows, status):
    assert P.powers_entries({"spectra": {"rows": rows}}).status == status


def _pascanu(rates: dict[float, float], margin: float = -0.1):
    return {"pascanu": {"settings": {("tanh", "orthogonal", eta): {"rate": r, "rate_max": r,
                                                                   "bound_margin": margin}
                                     for eta, r in rates.items()}}}


@pytest.mark.parametrize("summary,status", [
    (_pascanu({0.5: 0.4, 1.25: 1.1}), "holds"),
    (_pascanu({0.5: 0.4, 1.25: 0.9}), "holds"),  # not necessary: a point the claim does not make
    (_pascanu({0.5: 0.4, 1.25: 0.9}, margin=0.01), "does not hold"),
    (_pascanu({0.9: 1.0, 1.25: 1.1}), "does not hold"),
    (_pascanu({0.5: 0.4, 3.0: 2.0}), "inconclusive"),
])
def test_pascanu_bound_outcomes(summary, status):
    assert P.pascanu_bound(summary).status == status


def _shared(pairs: list[tuple[list[float], list[float]]], seeds: int = 5):
    return {"shared": {"seeds": seeds,
                       "settings": {("linear", float(i)): {"shared_final": sh, "independent_final": ind}
                                    for i, (sh, ind) in enumerate(pairs)}}}


V, X = [-30.0] * 5, [20.0] * 5  # a vanishing and an exploding reference arm
more = lambda arm: [2 * x for x in arm]  # twice as many decades from 1


@pytest.mark.parametrize("summary,status", [
    (_shared([(more(V), V), (more(X), X)]), "holds"),
    (_shared([(V, V), (more(X), X), ([0.1] * 5, [0.2] * 5)]), "holds with caveats"),
    (_shared([(V, more(V)), (X, X)]), "does not hold"),
    (_shared([(more(V), V), (more(X), X)], seeds=3), "inconclusive"),
    (_shared([(more(V), V)]), "inconclusive"),
])
def test_shared_w_outcomes(summary, status):
    assert P.shared_w(summary).status == status


def test_superiority():
    assert P.superiority([2, 3], [1, 1]) == 1.0
    assert P.superiority([1, 2], [1, 2]) == 0.5
