"""The debate's recurrent models: each kind's stacked forward pass against a reference, the
initialisations and constraints the papers describe, and the stacked training loop against
PyTorch's optimisers."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from relu_tanh.nets import recurrent as R
from relu_tanh.data import Dataset

pytestmark = pytest.mark.usefixtures("one_torch_thread")

T = 13  # not a power of two, so the scan's last doubling step is partial


def stack_and_input(kind: str, k: int = 3, hidden: int = 6, **kw):
    cfg = R.RecurrentConfig(kind, 2, 3, hidden=hidden, length=T, **kw)
    return cfg, R.Stack(cfg, list(range(k))), torch.randn(k, 4, T, 2, generator=torch.Generator().manual_seed(1))


def sequential_lru(cfg: R.RecurrentConfig, p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Orvieto et al.'s deep LRU for one model, written from the equations with a loop over time."""
    u = x @ p["W_enc"].T + p["b_enc"]  # (B, T, H)
    for layer in range(cfg.lru_layers):
        q = {name: p[f"{name}{layer}"] for name in ("nu_log", "theta_log", "gamma_log", "B_re", "B_im",
                                                     "C_re", "C_im", "D", "ln_w", "ln_b", "W_mix", "b_mix")}
        v = F.layer_norm(u, (cfg.hidden,), q["ln_w"], q["ln_b"])
        lam = torch.exp(-torch.exp(q["nu_log"]) + 1j * torch.exp(q["theta_log"]))
        b = torch.complex(q["B_re"], q["B_im"]) * torch.exp(q["gamma_log"])[:, None]
        c = torch.complex(q["C_re"], q["C_im"])
        state = torch.zeros(x.shape[0], cfg.hidden, dtype=torch.complex64)
        ys = []
        for t in range(x.shape[1]):
            state = lam * state + v[:, t].to(torch.complex64) @ b.T
            ys.append((state @ c.T).real + q["D"] * v[:, t])
        y = F.gelu(torch.stack(ys, 1))
        u = u + y @ q["W_mix"].T + q["b_mix"]
    return u[:, -1] @ p["W_out"].T + p["b_out"]


@pytest.mark.parametrize("kind", R.KINDS)
def test_stack_matches_each_model_alone(kind):
    """Model k of a stack computes what the fused nn.RNN/nn.LSTM/nn.GRU (or the plain loop) computes
    with its weights, outputs and gradients alike."""
    cfg, stack, x = stack_and_input(kind)
    out = stack(x)  # (K, B, 3)
    grads = torch.autograd.grad(out.pow(2).sum(), list(stack.parameters()))
    for k in range(3):
        params = stack.model(k)
        if kind == "lru":
            ref_out = sequential_lru(cfg, params, x[k])
        elif kind == "indrnn":
            ref_out = R.sequential_indrnn(cfg, params, x[k])
        else:
            ref = R.Reference(cfg, params)
            assert isinstance(ref.rnn, (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU))
            ref_out = ref(x[k])
            ref_grads = torch.autograd.grad(ref_out.pow(2).sum(), ref.rnn.weight_hh_l0)[0]
            assert torch.allclose(grads[list(dict(stack.named_parameters())).index("W_hh")][k],
                                  ref_grads, atol=1e-5)
        assert torch.allclose(out[k], ref_out, atol=1e-5), kind


def test_models_in_a_stack_are_independent():
    """Changing one model's weights leaves the others' outputs unchanged."""
    _, stack, x = stack_and_input("lstm")
    before = stack(x).detach()
    with torch.no_grad():
        stack.W_hh[1].mul_(3.0)
    after = stack(x).detach()
    assert torch.equal(before[0], after[0]) and torch.equal(before[2], after[2])
    assert not torch.allclose(before[1], after[1])


def test_parallel_scan_matches_the_sequential_loop():
    g = torch.Generator().manual_seed(0)
    r = 0.5 + 0.5 * torch.rand(2, 5, generator=g)
    lam = torch.polar(r, 6.28 * torch.rand(2, 5, generator=g))  # (K, N), |lam| < 1
    b = torch.randn(2, 3, 37, 5, dtype=torch.complex64, generator=g)
    assert torch.allclose(R.linear_scan(lam, b), R.sequential_scan(lam, b), atol=1e-5)


def test_lru_initialisation_is_on_the_ring_and_normalised():
    cfg = R.RecurrentConfig("lru", 2, 1, hidden=200, lru_r_min=0.4, lru_r_max=0.9)
    p = R.lru_layer_params(cfg, torch.Generator().manual_seed(0))
    modulus = torch.exp(-torch.exp(p["nu_log"]))
    assert modulus.min() >= 0.4 - 1e-6 and modulus.max() <= 0.9 + 1e-6
    assert torch.allclose(torch.exp(p["gamma_log"]), torch.sqrt(1 - modulus ** 2), atol=1e-6)
    phase = torch.exp(p["theta_log"])
    assert phase.min() >= 0 and phase.max() <= cfg.lru_max_phase


def test_irnn_initialisation():
    cfg = R.RecurrentConfig("irnn", 50, 1, hidden=64)
    p = R.init_params(cfg, torch.Generator().manual_seed(0))
    assert torch.equal(p["W_hh"], torch.eye(64)) and torch.equal(p["b"], torch.zeros(64))
    assert p["W_ih"].std().item() == pytest.approx(1e-3, rel=0.1)


def test_np_rnn_recurrent_matrix_is_normalised_positive_definite():
    w = R.np_recurrent(40, torch.Generator().manual_seed(0)).double()
    eig = torch.linalg.eigvalsh(w)
    assert torch.allclose(w, w.T)
    assert eig.min() > 0 and eig.max() == pytest.approx(1.0, abs=1e-6)


def test_lstm_forget_gate_biases():
    for kind, bias in (("lstm", 1.0), ("lstm_fb", 4.0)):
        cfg = R.RecurrentConfig(kind, 2, 1, hidden=5)
        p = R.init_params(cfg, torch.Generator().manual_seed(0))
        assert torch.allclose((p["b_ih"] + p["b_hh"])[5:10], torch.full((5,), bias))


def adding_like(n: int = 256, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, T, 2, generator=g)
    y = x[:, :, :1].mean(1)
    return Dataset("toy", "toy regression", x, y, x[:64], y[:64])


def test_indrnn_constraint_holds_after_every_update():
    """Li et al.'s bound |u| <= 2^(1/T), restored after every update (the debate's trainer
    calls the same clamp; tests/test_stacked.py checks it there)."""
    cfg = R.RecurrentConfig("indrnn", 2, 1, hidden=8, length=T)
    stack = R.Stack(cfg, [0, 1])
    opt = torch.optim.SGD(stack.parameters(), lr=10.0)
    for _ in range(3):
        opt.zero_grad()
        stack(torch.rand(2, 4, T, 2)).sum().mul(-100).backward()
        opt.step()
        stack.constrain()
        assert stack.u.abs().max().item() <= 2 ** (1 / T) + 1e-7
    assert stack.u.abs().max().item() == pytest.approx(2 ** (1 / T))  # the bound was reached


def test_matched_hidden_reaches_the_parameter_count():
    base = R.RecurrentConfig("lstm", 2, 1, hidden=32)
    target = R.n_params(base)
    for kind in R.KINDS:
        cfg = replace(base, kind=kind)
        h = R.matched_hidden(cfg, target)
        if kind == "indrnn":  # linear in width: the cap binds
            assert h == R.MATCH_CAP * 32
            continue
        assert abs(R.n_params(replace(cfg, hidden=h)) - target) / target < 0.1, kind
    assert R.matched_hidden(replace(base, kind="tanh"), target) > 32


def test_unknown_kind_lists_choices():
    with pytest.raises(ValueError, match="lstm"):
        R.RecurrentConfig("transformer", 1, 1)


def test_parallel_scan_gradients_match_the_sequential_loop():
    g = torch.Generator().manual_seed(2)
    lam = torch.polar(0.6 + 0.4 * torch.rand(2, 4, generator=g), torch.rand(2, 4, generator=g) * 3)
    b = torch.randn(2, 3, 21, 4, dtype=torch.complex64, generator=g)
    w = torch.randn(2, 3, 21, 4, dtype=torch.complex64, generator=g)
    grads = []
    for scan in (R.linear_scan, R.sequential_scan):
        lam_, b_ = lam.clone().requires_grad_(), b.clone().requires_grad_()
        (scan(lam_, b_) * w).real.sum().backward()
        grads.append((lam_.grad, b_.grad))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-4)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-5)


def test_lru_stack_gradients_match_the_equations():
    """Every LRU parameter's gradient in the stack equals that of the loop written from the
    equations (`sequential_lru`), model by model."""
    cfg, stack, x = stack_and_input("lru")
    names = [n for n, _ in stack.named_parameters()]
    grads = torch.autograd.grad(stack(x).pow(2).sum(), list(stack.parameters()))
    for k in range(3):
        params = {n: t.requires_grad_() for n, t in stack.model(k).items()}
        ref = torch.autograd.grad(sequential_lru(cfg, params, x[k]).pow(2).sum(), list(params.values()))
        for name, g, r in zip(names, grads, ref):
            assert torch.allclose(g[k], r, atol=1e-4, rtol=1e-3), name
