"""LSTM and GRU cells written from their equations, with the gate and state nonlinearities as
parameters, for chapter "gates" (claim R5). K independent models live on a leading axis.

LSTM (Hochreiter and Schmidhuber 1997, with the forget gate of Gers, Schmidhuber and Cummins
2000), in PyTorch's layout and gate order i, f, g, o; sigma is the gate nonlinearity (the
sigmoid), phi the state nonlinearity (tanh):

    i = sigma(W_ii x + b_ii + W_hi h + b_hi)        input gate
    f = sigma(W_if x + b_if + W_hf h + b_hf)        forget gate
    g = phi(W_ig x + b_ig + W_hg h + b_hg)          candidate
    o = sigma(W_io x + b_io + W_ho h + b_ho)        output gate
    c' = f * c + i * g,   h' = o * phi(c')

GRU (Cho et al. 2014), in PyTorch's order r, z, n, with the reset gate applied to W_hn h + b_hn
(PyTorch's and cuDNN's variant; Cho et al. reset h before multiplying by W_hn):

    r = sigma(W_ir x + b_ir + W_hr h + b_hr)        reset gate
    z = sigma(W_iz x + b_iz + W_hz h + b_hz)        update gate
    n = phi(W_in x + b_in + r * (W_hn h + b_hn))    candidate
    h' = (1 - z) * n + z * h

Parameters are stacked as (K, gates * H, ...), so model k's slices are exactly the tensors of a
`torch.nn.LSTM` / `torch.nn.GRU` layer (`weight_ih_l0` and so on), and every step is one batched
matrix product (`torch.baddbmm`) for all K models; tests/test_gates.py checks outputs and
gradients against PyTorch's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from torch import Tensor, nn

from .activations import cell_nonlinearity

CELLS = ("lstm", "gru")
GATE_NAMES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update")}


class PerModel:
    """One elementwise nonlinearity per model along axis 0; models with the same one in a row
    share a call. (`split`, not slicing: a slice's backward fills a whole zero tensor.)"""

    def __init__(self, names: Sequence[str]) -> None:
        runs: list[list] = []  # [start, stop, name]
        for k, name in enumerate(names):
            cell_nonlinearity(name)  # an unknown name raises, listing the valid ones
            if runs and runs[-1][2] == name:
                runs[-1][1] = k + 1
            else:
                runs.append([k, k + 1, name])
        self.names = tuple(names)
        self.sizes = [b - a for a, b, _ in runs]
        self.fns = [cell_nonlinearity(n).fn for _, _, n in runs]

    def __call__(self, x: Tensor) -> Tensor:  # x (K, ...)
        if len(self.fns) == 1:
            return self.fns[0](x)
        return torch.cat([fn(part) for fn, part in zip(self.fns, x.split(self.sizes))])


class StackedCell(nn.Module):
    """Shared by both cells: K stacks of PyTorch's four parameter tensors, PyTorch's
    initialisation U(-1/sqrt(H), 1/sqrt(H)) for all of them."""

    n_blocks: int  # 4 for the LSTM (i, f, g, o), 3 for the GRU (r, z, n)

    def __init__(self, input_size: int, hidden_size: int, gates: Sequence[str],
                 states: Sequence[str]) -> None:
        super().__init__()
        if len(gates) != len(states) or not gates:
            raise ValueError(f"need one gate and one state nonlinearity per model, got "
                             f"{len(gates)} and {len(states)}")
        k, rows = len(gates), self.n_blocks * hidden_size
        self.hidden_size = hidden_size
        self.gate, self.state = PerModel(gates), PerModel(states)
        self.weight_ih = nn.Parameter(torch.empty(k, rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(k, rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(k, rows))
        self.bias_hh = nn.Parameter(torch.empty(k, rows))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    @property
    def n_models(self) -> int:
        return self.weight_ih.shape[0]

    def project(self, x: Tensor) -> Tensor:
        """The input side of every step at once: x (K, B, T, I) -> W_i x + b_i (K, B, T, rows)."""
        k, b, t, i = x.shape
        u = torch.baddbmm(self.bias_ih.unsqueeze(1), x.reshape(k, b * t, i),
                          self.weight_ih.transpose(1, 2))  # (K, B*T, rows)
        return u.view(k, b, t, -1)

    def recurrent(self, h: Tensor) -> Tensor:
        """W_h h + b_h: h (K, B, H) -> (K, B, rows)."""
        return torch.baddbmm(self.bias_hh.unsqueeze(1), h, self.weight_hh.transpose(1, 2))

    def copy_from(self, layer: nn.LSTM | nn.GRU, k: int = 0) -> None:
        """Set model k's parameters to those of a one-layer `torch.nn.LSTM` / `torch.nn.GRU`."""
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self, name)[k].copy_(getattr(layer, f"{name}_l0"))


class LSTMCell(StackedCell):
    """One step of K LSTMs; the state is (h, c), each (K, B, H)."""

    n_blocks = 4

    def initial(self, batch: int) -> tuple[Tensor, Tensor]:
        h = self.weight_hh.new_zeros(self.n_models, batch, self.hidden_size)
        return h, h.clone()

    def forward(self, u: Tensor, state: tuple[Tensor, Tensor]
                ) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
        """u: this step's input projection (K, B, 4H). Returns the new (h, c) and the gates."""
        h, c = state
        pre = u + self.recurrent(h)  # (K, B, 4H)
        i, f, _, o = self.gate(pre).chunk(4, -1)  # the gate of the g block is left unused
        g = self.state(pre.chunk(4, -1)[2])
        c = f * c + i * g
        h = o * self.state(c)
        return (h, c), {"input": i, "forget": f, "output": o}


class GRUCell(StackedCell):
    """One step of K GRUs; the state is h (K, B, H)."""

    n_blocks = 3

    def initial(self, batch: int) -> Tensor:
        return self.weight_hh.new_zeros(self.n_models, batch, self.hidden_size)

    def forward(self, u: Tensor, h: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """u: this step's input projection (K, B, 3H). Returns the new h and the gates."""
        size = self.hidden_size
        (u_rz, u_n), (v_rz, v_n) = (w.split([2 * size, size], -1) for w in (u, self.recurrent(h)))
        r, z = self.gate(u_rz + v_rz).chunk(2, -1)  # each (K, B, H)
        n = self.state(u_n + r * v_n)
        return (1 - z) * n + z * h, {"reset": r, "update": z}


@dataclass(frozen=True)
class GatedConfig:
    """K gated recurrent nets (one per entry of `gates`), read out linearly from the last h."""

    cell: Literal["lstm", "gru"]
    input_size: int
    output_size: int
    hidden_size: int
    gates: tuple[str, ...]  # model k's gate nonlinearity ("sigmoid" in the originals)
    states: tuple[str, ...]  # model k's state nonlinearity ("tanh" in the originals)
    forget_bias: float = 0.0  # added to the LSTM's forget-gate bias b_if; PyTorch adds nothing


class GatedRNN(nn.Module):
    """A sequence of LSTM or GRU steps and a linear read-out of the last hidden state."""

    def __init__(self, cfg: GatedConfig) -> None:
        super().__init__()
        if cfg.cell not in CELLS:
            raise ValueError(f"unknown cell {cfg.cell!r}; valid choices: {', '.join(CELLS)}")
        cell = LSTMCell if cfg.cell == "lstm" else GRUCell
        self.cell = cell(cfg.input_size, cfg.hidden_size, cfg.gates, cfg.states)
        k, size = len(cfg.gates), cfg.hidden_size
        if cfg.cell == "lstm" and cfg.forget_bias:
            with torch.no_grad():
                self.cell.bias_ih[:, size:2 * size] += cfg.forget_bias
        self.head_weight = nn.Parameter(torch.empty(k, cfg.output_size, size))
        self.head_bias = nn.Parameter(torch.empty(k, cfg.output_size))
        bound = 1 / math.sqrt(size)  # as torch.nn.Linear
        for p in (self.head_weight, self.head_bias):
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, trace: dict[str, list[Tensor]] | None = None) -> Tensor:
        """x (K, B, T, I), or (B, T, I) for the same inputs to every model -> (K, B, output).

        With `trace`, each step's gates, cell state c (LSTM) and hidden state h, each
        (K, B, H), are appended to trace[name]."""
        k = self.cell.n_models
        if x.dim() == 3:
            x = x.expand(k, *x.shape)
        u = self.cell.project(x)  # (K, B, T, rows)
        state = self.cell.initial(x.shape[1])
        for u_t in u.unbind(2):  # one backward for all steps (u[:, :, t] would fill T zero copies)
            state, gates = self.cell(u_t, state)
            if trace is not None:
                h, c = state if isinstance(state, tuple) else (state, None)
                for name, value in {**gates, "h": h, **({"c": c} if c is not None else {})}.items():
                    trace.setdefault(name, []).append(value)
        h = state[0] if isinstance(state, tuple) else state
        return torch.baddbmm(self.head_bias.unsqueeze(1), h, self.head_weight.transpose(1, 2))


def torch_agreement(cell: str, seed: int = 0, batch: int = 4, length: int = 12) -> dict[str, float]:
    """Largest absolute difference, in float64, between this module's original cell and
    `torch.nn.LSTM` / `torch.nn.GRU` holding the same weights: in every hidden state, and in the
    gradients of all four weight tensors under a random linear loss on the hidden states."""
    torch.manual_seed(seed)
    layer = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](3, 5, batch_first=True).double()
    ours = GatedRNN(GatedConfig(cell, 3, 1, 5, ("sigmoid",), ("tanh",))).double()
    ours.cell.copy_from(layer)
    x = torch.randn(batch, length, 3, dtype=torch.float64)
    trace: dict[str, list[Tensor]] = {}
    ours(x, trace)
    h = torch.stack(trace["h"], 2)[0]  # (B, T, H)
    out, _ = layer(x)
    weight = torch.randn_like(out)
    (weight * h).sum().backward()
    (weight * out).sum().backward()
    grads = max(float((getattr(ours.cell, n).grad[0] - getattr(layer, f"{n}_l0").grad).abs().max())
                for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    return {"output": float((h - out).detach().abs().max()), "gradient": grads}
