"""Gradients through time: the Jacobian dh_T/ds_t of a recurrent net, measured with autograd.

Backpropagation through time multiplies the error at step T by dh_T/ds_t to reach the state
s_t of an earlier step (Pascanu, Mikolov and Bengio 2013, eq. 5); its norm against the gap
T - t says whether gradients vanish, stay or explode. `jacobians` measures every dh_T/ds_t of
one forward pass with a single backward pass; `net` and `stepper` give the vanilla (Elman)
RNNs with sigmoid, tanh or ReLU and PyTorch's LSTM and GRU at a chosen recurrent weight scale.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from ..nets.models import ElmanRNN, RNNConfig

KINDS = ("sigmoid", "tanh", "relu", "lstm", "gru")  # the first three are Elman activations
GATED = {"lstm": nn.LSTM, "gru": nn.GRU}
DEFAULT_GAIN = 1 / math.sqrt(3)  # PyTorch's U(-1/sqrt(H), 1/sqrt(H)) has std 1/sqrt(3H)

State = tuple[Tensor, ...]  # (h,) or, for the LSTM, (h, c); each (batch, hidden)
Step = Callable[[Tensor, State], State]


def net(kind: str, input_size: int, hidden: int, scale: float) -> nn.Module:
    """A one-layer recurrent net whose recurrent weights are N(0, scale^2 / hidden): for the LSTM
    and GRU every gate's block of W_hh; input weights and biases keep PyTorch's defaults."""
    if kind in GATED:
        module = GATED[kind](input_size, hidden, batch_first=True)
        nn.init.normal_(module.weight_hh_l0, std=scale / math.sqrt(hidden))
        return module
    if kind not in KINDS:
        raise ValueError(f"unknown recurrent kind {kind!r}; valid choices: {', '.join(KINDS)}")
    return ElmanRNN(RNNConfig(input_size, 1, hidden, activation=kind, rec_scale=scale))


def stepper(model: nn.Module) -> tuple[Callable[[int], State], Step]:
    """(initial state for a batch size, one step x_t (batch, input) -> next state) of `model`."""
    if isinstance(model, ElmanRNN):
        hidden = model.rec.in_features
        zero = lambda b: (torch.zeros(b, hidden, dtype=model.rec.weight.dtype,
                                      device=model.rec.weight.device),)
        return zero, lambda x, s: (model.act(model.inp(x) + model.rec(s[0])),)
    if isinstance(model, (nn.LSTM, nn.GRU)):
        w = model.weight_hh_l0
        n_state = 2 if isinstance(model, nn.LSTM) else 1
        zero = lambda b: tuple(torch.zeros(b, model.hidden_size, dtype=w.dtype, device=w.device)
                               for _ in range(n_state))

        def step(x: Tensor, s: State) -> State:
            packed = (s[0][None], s[1][None]) if n_state == 2 else s[0][None]
            _, new = model(x[:, None], packed)  # one time step; states (1, batch, hidden)
            return tuple(v[0] for v in new) if n_state == 2 else (new[0],)
        return zero, step
    raise TypeError(f"no stepper for {type(model).__name__}; valid: ElmanRNN, nn.LSTM, nn.GRU")


def jacobians(step: Step, state0: State, x: Tensor) -> tuple[Tensor, Tensor]:
    """Every Jacobian of the last hidden state h_T with respect to an earlier state s_t.

    x: (B, T, D) input sequences; state0: the state before step 1, each part (B, H). Returns
    J (T, B, H, S) with J[T - t, b] = dh_T/ds_t for t = 0 .. T-1 (so J[k - 1] is at gap k; S
    is the width of the whole state, 2H for the LSTM's (h, c)), and the root-mean-square of h_t
    over units, rms (T, B), for t = 1 .. T.

    One backward pass gives them all: each sequence runs as H copies; a zero perturbation is
    added to every state, and copy i backpropagates only from unit i of h_T, so the gradient
    with respect to copy i's perturbation at step t is row i of dh_T/ds_t.
    """
    b, t_len, _ = x.shape
    hidden = state0[0].shape[1]
    copies = x.repeat_interleave(hidden, 0)  # (B*H, T, D)
    state = tuple(s.repeat_interleave(hidden, 0) for s in state0)  # each (B*H, H)
    nudges, rms = [], []
    for t in range(t_len):
        nudge = tuple(torch.zeros_like(s, requires_grad=True) for s in state)
        nudges.append(nudge)
        state = step(copies[:, t], tuple(s + n for s, n in zip(state, nudge)))
        rms.append(state[0].detach()[::hidden].pow(2).mean(1).sqrt())  # (B,)
    h_last = state[0].view(b, hidden, hidden)  # (sequence, copy i, unit)
    picked = h_last.diagonal(dim1=1, dim2=2).sum()  # sum over b, i of h_T[b, i] in copy i
    grads = torch.autograd.grad(picked, [n for nudge in nudges for n in nudge])
    parts = len(state)
    rows = [torch.cat([g.view(b, hidden, hidden) for g in grads[k:k + parts]], dim=2)
            for k in range(0, len(grads), parts)]  # per t: (B, H, S)
    return torch.stack(rows[::-1]), torch.stack(rms)


def spectral_norms(jac: Tensor) -> Tensor:
    """Largest singular value of each Jacobian: (..., H, S) -> (...)."""
    return torch.linalg.matrix_norm(jac, ord=2)
