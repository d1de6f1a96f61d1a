"""K small Elman RNNs trained as one model: weights stacked on a leading model axis, torch.bmm.

The divergence sweep of chapter "through_time" trains dozens of 32-unit RNNs that differ in
activation, initialisation, learning rate, clipping threshold and seed. One at a time, a CPU
spends its time in Python overhead; stacked, one step costs about as much as for a single net.
`train_stacked` reproduces `train.train` (plain SGD, MSE, `clip_grad_norm_`) member by member
up to float rounding (tests/test_through_time.py checks this), and records every step's loss
and pre-clipping gradient norm so that divergence is decided afterwards by a stated rule.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import Tensor

from ..data import Dataset
from ..nets.models import ElmanRNN, RNNConfig


@dataclass(frozen=True)
class Member:
    """One net of the stack: an Elman RNN (tanh or ReLU) and its training settings."""

    activation: str
    init: str  # "default" or "identity" (IRNN)
    lr: float
    clip: float | None  # max gradient norm (Pascanu et al. 2013, Algorithm 1); None: off
    seed: int  # initialisation and data order, as `train.train(..., seed=seed)`


@dataclass
class Trace:
    """What one member measured: per-step loss and gradient norm before clipping (index = step),
    the step at which either became NaN/inf (the member is then frozen), and the final test MSE."""

    loss: list[float]
    grad_norm: list[float]
    nonfinite_at: int | None
    test_mse: float


PARAMS = ("inp.weight", "inp.bias", "rec.weight", "head.weight", "head.bias")
ACTS = {"tanh": torch.tanh, "relu": torch.relu}


def initial_params(members: list[Member], input_size: int, hidden: int) -> dict[str, Tensor]:
    """Each member's ElmanRNN as `torch.manual_seed(seed); ElmanRNN(...)` makes it, stacked:
    inp.weight (K, H, D), inp.bias (K, H), rec.weight (K, H, H), head.weight (K, 1, H),
    head.bias (K, 1)."""
    nets = []
    for m in members:
        if m.activation not in ACTS:
            raise ValueError(f"unknown activation {m.activation!r}; valid: {', '.join(ACTS)}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(m.seed)
            nets.append(dict(ElmanRNN(RNNConfig(input_size, 1, hidden, m.activation, m.init))
                             .named_parameters()))
    return {n: torch.stack([net[n].detach() for net in nets]) for n in PARAMS}


def forward(p: dict[str, Tensor], act: str, x: Tensor) -> Tensor:
    """x (K, B, T, D) -> prediction (K, B, 1), every member with activation `act`."""
    f = ACTS[act]
    u = torch.einsum("kbtd,khd->kbth", x, p["inp.weight"]) + p["inp.bias"][:, None, None]
    h = torch.zeros_like(u[:, :, 0])  # (K, B, H)
    rec_t = p["rec.weight"].transpose(1, 2)
    for u_t in u.unbind(2):  # unbind, not u[:, :, t]: indexing would backpropagate T full-size zeros
        z = u_t + torch.bmm(h, rec_t)
        h = f(z)
    return torch.bmm(h, p["head.weight"].transpose(1, 2)) + p["head.bias"][:, None]


def train_stacked(members: list[Member], data: Dataset, *, hidden: int, epochs: int,
                  batch_size: int, device: str = "cpu") -> tuple[list[Trace], dict[str, list[float]]]:
    """Train every member with plain SGD on the MSE; returns one Trace per member and the wall
    clocks after every step, to check that steps/s stay stable: "wall" and "cpu" (this process's
    CPU time, which other load on the machine does not change), seconds since the start.

    The members share one activation: a stack of mixed ones would compute both everywhere
    (tanh is the costly one on a CPU)."""
    acts = {m.activation for m in members}
    if len(acts) != 1:
        raise ValueError(f"stacked members need one shared activation, got {sorted(acts) or 'none'}")
    act = acts.pop()
    k = len(members)
    dtype = data.x_train.dtype
    params = {n: v.to(device, dtype).requires_grad_() for n, v in
              initial_params(members, data.x_train.shape[2], hidden).items()}
    lr = torch.tensor([m.lr for m in members], dtype=dtype, device=device)
    clip = torch.tensor([math.inf if m.clip is None else m.clip for m in members], dtype=dtype,
                        device=device)
    x, y = data.x_train.to(device), data.y_train.to(device)
    gens = [torch.Generator().manual_seed(m.seed) for m in members]
    traces = [Trace([], [], None, math.nan) for _ in members]
    live = torch.ones(k, dtype=torch.bool, device=device)
    clock: dict[str, list[float]] = {"wall": [], "cpu": []}
    start, start_cpu, step = time.perf_counter(), time.process_time(), 0
    for _ in range(epochs):
        perm = torch.stack([torch.randperm(len(x), generator=g) for g in gens]).to(device)  # (K, N)
        for idx in perm.split(batch_size, dim=1):  # (K, B)
            loss = ((forward(params, act, x[idx]) - y[idx]) ** 2).mean((1, 2))  # (K,)
            grads = torch.autograd.grad(loss.sum(), list(params.values()))
            norm = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()  # (K,)
            coef = (clip / (norm + 1e-6)).clamp(max=1.0)  # as clip_grad_norm_
            ok = torch.isfinite(loss) & torch.isfinite(norm)
            with torch.no_grad():
                for p, g in zip(params.values(), grads):
                    scale = (lr * coef * live).view(-1, *[1] * (p.dim() - 1))
                    p.sub_(torch.where(scale != 0, scale * g, torch.zeros_like(g)))
                    p.masked_fill_(~(ok & live).view(-1, *[1] * (p.dim() - 1)), 0.0)
            _record(traces, live, ok, loss, norm, step)
            live &= ok
            clock["wall"].append(time.perf_counter() - start)
            clock["cpu"].append(time.process_time() - start_cpu)
            step += 1
    with torch.no_grad():
        test = ((forward(params, act, data.x_test.to(device).expand(k, -1, -1, -1))
                 - data.y_test.to(device)) ** 2).mean((1, 2))
    for tr, mse, alive in zip(traces, test.tolist(), live.tolist()):
        tr.test_mse = mse if alive else math.nan
    return traces, clock


def _record(traces: list[Trace], live: Tensor, ok: Tensor, loss: Tensor, norm: Tensor,
            step: int) -> None:
    """Append this step's loss and norm for members still live, with one host sync."""
    rows = torch.stack([loss.detach(), norm, live.to(loss.dtype), ok.to(loss.dtype)], 1).tolist()
    for tr, (l, n, alive, fine) in zip(traces, rows):
        if not alive:
            continue
        if not fine:
            tr.nonfinite_at = step
            continue
        tr.loss.append(l)
        tr.grad_norm.append(n)
