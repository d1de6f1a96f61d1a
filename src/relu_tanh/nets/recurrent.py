"""The recurrent models of the debate chapter (claim R6), K of them stacked into one module.

Every kind is a set of parameters with a leading model axis K, so the grid points (and seeds)
of one kind train in one forward pass: batched matrix products over K (`torch.bmm`), one
Python loop over time for all K models; the LSTM's and GRU's backward through time is written
out (`_LSTMThroughTime`, `_GRUThroughTime`: a CPU step about 10-15% shorter than autograd's over
a dozen nodes per time step). `Stack` holds them; `Reference` builds model k alone,
from the fused PyTorch kernels (`nn.RNN`, `nn.LSTM`, `nn.GRU`) where one computes exactly that
model, and from a plain per-step loop where none does (IndRNN, LRU); the tests hold the stack
against it.

Kinds (every one reads the sequence and predicts from its last step):
- ``tanh``: Elman network with tanh, PyTorch's default uniform(+-1/sqrt(H)) initialisation.
- ``relu``: Elman network with ReLU, Gaussian weights N(0, 1/H) (spectral radius about 1).
- ``irnn``: ReLU, recurrent weights the identity, biases zero, input weights N(0, 0.001^2)
  (Le, Jaitly and Hinton 2015, section 3).
- ``nprnn``: ReLU, recurrent weights a positive-definite matrix R^T R / H + I scaled so that its
  largest eigenvalue is 1 (Talathi and Vartak 2015).
- ``indrnn``: ReLU, element-wise recurrent weights u, h_t = relu(W x_t + u * h_{t-1} + b), with
  |u| kept at most 2^(1/T) after every update, T the sequence length (Li et al. 2018, section 3.1).
- ``lstm`` (forget-gate bias 1) and ``lstm_fb`` (forget-gate bias `big_forget_bias`, one of the
  larger values Le et al. searched over): Hochreiter and Schmidhuber (1997), PyTorch's equations.
- ``gru``: Cho et al. (2014), PyTorch's equations.
- ``lru``: linear recurrent unit (Orvieto et al. 2023): x_t = lambda * x_{t-1} + gamma * (B u_t),
  lambda = exp(-exp(nu) + i exp(theta)) on a ring r_min <= |lambda| <= r_max, gamma =
  sqrt(1 - |lambda|^2), y_t = Re(C x_t) + D u_t; no nonlinearity inside the recurrence, a GELU
  and a linear mixing layer between `lru_layers` residual blocks (pre-LayerNorm); the recurrence
  over time is computed with a parallel prefix scan (`linear_scan`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

FAMILIES = {"tanh": "tanh RNN", "relu": "ReLU RNN", "irnn": "ReLU RNN", "nprnn": "ReLU RNN",
            "indrnn": "ReLU RNN", "lstm": "gated", "lstm_fb": "gated", "gru": "gated",
            "lru": "linear"}
KINDS = tuple(FAMILIES)
LABELS = {"tanh": "tanh RNN", "relu": "ReLU RNN (Gaussian)", "irnn": "IRNN", "nprnn": "np-RNN",
          "indrnn": "IndRNN", "lstm": "LSTM", "lstm_fb": "LSTM (forget bias big)", "gru": "GRU",
          "lru": "LRU"}
ELMAN = ("tanh", "relu", "irnn", "nprnn")
GATES = {"lstm": 4, "lstm_fb": 4, "gru": 3}  # gate blocks stacked in W_ih, W_hh (PyTorch order)


@dataclass(frozen=True)
class RecurrentConfig:
    kind: str
    n_in: int
    n_out: int
    hidden: int = 32
    length: int = 100  # the task's sequence length T: IndRNN's bound |u| <= 2^(1/T)
    big_forget_bias: float = 4.0  # lstm_fb's forget-gate bias (lstm: 1)
    irnn_input_std: float = 1e-3  # Le et al.: input weights N(0, 0.001^2)
    lru_layers: int = 2
    lru_r_min: float = 0.9  # ring of initial |lambda| (Orvieto et al., long-range setting)
    lru_r_max: float = 0.999
    lru_max_phase: float = math.pi / 10

    def __post_init__(self) -> None:
        if self.kind not in FAMILIES:
            raise ValueError(f"unknown recurrent kind {self.kind!r}; valid choices: {', '.join(KINDS)}")

    @property
    def indrnn_bound(self) -> float:
        return 2 ** (1 / self.length)


# --- initialisation: one model's parameters from a generator ---------------------------------


def init_params(cfg: RecurrentConfig, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """One model's parameters, drawn from `gen` (each kind's initialisation, as documented above)."""
    h, f, o = cfg.hidden, cfg.n_in, cfg.n_out
    uni = lambda *shape, bound: (torch.rand(*shape, generator=gen) * 2 - 1) * bound
    normal = lambda *shape, std: torch.randn(*shape, generator=gen) * std
    head = {"W_out": uni(o, h, bound=1 / math.sqrt(h)), "b_out": torch.zeros(o)}
    k = cfg.kind
    if k == "tanh":
        p = {"W_ih": uni(h, f, bound=1 / math.sqrt(h)), "W_hh": uni(h, h, bound=1 / math.sqrt(h)),
             "b": uni(h, bound=1 / math.sqrt(h))}
    elif k == "relu":
        p = {"W_ih": normal(h, f, std=1 / math.sqrt(f)), "W_hh": normal(h, h, std=1 / math.sqrt(h)),
             "b": torch.zeros(h)}
    elif k == "irnn":
        p = {"W_ih": normal(h, f, std=cfg.irnn_input_std), "W_hh": torch.eye(h), "b": torch.zeros(h)}
    elif k == "nprnn":
        p = {"W_ih": normal(h, f, std=1 / math.sqrt(f)), "W_hh": np_recurrent(h, gen),
             "b": torch.zeros(h)}
    elif k == "indrnn":
        p = {"W_ih": normal(h, f, std=1 / math.sqrt(f)), "u": torch.rand(h, generator=gen),
             "b": torch.zeros(h)}
    elif k in GATES:
        g = GATES[k]
        bound = 1 / math.sqrt(h)
        p = {"W_ih": uni(g * h, f, bound=bound), "W_hh": uni(g * h, h, bound=bound),
             "b_ih": uni(g * h, bound=bound), "b_hh": uni(g * h, bound=bound)}
        if g == 4:  # forget gate, the second block: its whole bias b_ih + b_hh set to the target
            p["b_ih"][h:2 * h] = 1.0 if k == "lstm" else cfg.big_forget_bias
            p["b_hh"][h:2 * h] = 0.0
    else:
        p = {"W_enc": uni(h, f, bound=1 / math.sqrt(f)), "b_enc": torch.zeros(h)}
        for layer in range(cfg.lru_layers):
            p |= {f"{name}{layer}": t for name, t in lru_layer_params(cfg, gen).items()}
    return p | head


def np_recurrent(h: int, gen: torch.Generator) -> torch.Tensor:
    """Talathi and Vartak's normalised positive-definite matrix: A = R^T R / h + I with R standard
    normal, divided by its largest eigenvalue (so that eigenvalue is 1, all others in (0, 1))."""
    r = torch.randn(h, h, generator=gen, dtype=torch.float64)
    a = r.T @ r / h + torch.eye(h, dtype=torch.float64)
    return (a / torch.linalg.eigvalsh(a)[-1]).float()


def lru_layer_params(cfg: RecurrentConfig, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """One LRU block (Orvieto et al. 2023, section 3 and their appendix A): lambda uniform on the
    ring [r_min, r_max] with phase in [0, max_phase], gamma_log = log sqrt(1 - |lambda|^2),
    B and C complex Gaussian with variances 1/(2 H) and 1/H."""
    h = cfg.hidden
    u1, u2 = torch.rand(h, generator=gen), torch.rand(h, generator=gen)
    r2 = u1 * (cfg.lru_r_max ** 2 - cfg.lru_r_min ** 2) + cfg.lru_r_min ** 2  # |lambda|^2
    nu_log = torch.log(-0.5 * torch.log(r2))
    theta_log = torch.log(cfg.lru_max_phase * u2)
    gamma_log = 0.5 * torch.log(1 - r2)
    normal = lambda *shape, std: torch.randn(*shape, generator=gen) * std
    bound = 1 / math.sqrt(h)
    return {"nu_log": nu_log, "theta_log": theta_log, "gamma_log": gamma_log,
            "B_re": normal(h, h, std=1 / math.sqrt(2 * h)), "B_im": normal(h, h, std=1 / math.sqrt(2 * h)),
            "C_re": normal(h, h, std=1 / math.sqrt(h)), "C_im": normal(h, h, std=1 / math.sqrt(h)),
            "D": normal(h, std=1.0), "ln_w": torch.ones(h), "ln_b": torch.zeros(h),
            "W_mix": (torch.rand(h, h, generator=gen) * 2 - 1) * bound, "b_mix": torch.zeros(h)}


def n_params(cfg: RecurrentConfig) -> int:
    """Trainable parameters of one model of `cfg`."""
    return sum(t.numel() for t in init_params(cfg, torch.Generator().manual_seed(0)).values())


MATCH_CAP = 4  # a parameter-matched model is at most this many times wider than `hidden`


def matched_hidden(cfg: RecurrentConfig, target: int) -> int:
    """The hidden size, at most MATCH_CAP * cfg.hidden, at which a model of `cfg`'s kind has the
    parameter count closest to `target`. The cap binds for IndRNN alone: its count grows only
    linearly with width (one recurrent weight per unit)."""
    return min(range(1, MATCH_CAP * cfg.hidden + 1),
               key=lambda h: abs(n_params(replace(cfg, hidden=h)) - target))


# --- the stack: K models of one kind -----------------------------------------------------------


class Stack(nn.Module):
    """K models of one kind; model k is `init_params(cfg, Generator().manual_seed(seeds[k]))`.

    forward: x (K, B, T, F) -> (K, B, n_out), model k reading x[k]."""

    def __init__(self, cfg: RecurrentConfig, seeds: list[int]) -> None:
        super().__init__()
        self.cfg = cfg
        per_model = [init_params(cfg, torch.Generator().manual_seed(s)) for s in seeds]
        for name in per_model[0]:
            self.register_parameter(name, nn.Parameter(torch.stack([p[name] for p in per_model])))

    def model(self, k: int) -> dict[str, torch.Tensor]:
        """Model k's parameters (detached copies)."""
        return {n: p[k].detach().clone() for n, p in self.named_parameters()}

    @torch.no_grad()
    def constrain(self) -> None:
        """Project back onto the allowed set after an update (IndRNN: |u| <= 2^(1/T))."""
        if self.cfg.kind == "indrnn":
            self.u.clamp_(-self.cfg.indrnn_bound, self.cfg.indrnn_bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kind = self.cfg.kind
        if kind == "lru":
            h = self._lru(x)
        elif kind in ("lstm", "lstm_fb"):
            h = self._lstm(x)
        else:
            w_ih = self.W_ih.transpose(1, 2)  # (K, F, G*H)
            b = self.b if hasattr(self, "b") else self.b_ih
            # every step at once, time-major, so that each step's slice and its gradient are
            # contiguous (a (K, B, T) layout made the backward copy a transposed tensor)
            xt = x.transpose(1, 2).flatten(1, 2)  # (K, T*B, F)
            xp = torch.baddbmm(b[:, None], xt, w_ih).unflatten(1, (x.shape[2], x.shape[1]))
            if kind == "gru":
                h = self._gru(xp)
            else:
                h = getattr(self, f"_{'elman' if kind in ELMAN else kind}")(xp.unbind(1))
        return torch.baddbmm(self.b_out[:, None], h, self.W_out.transpose(1, 2))  # (K, B, n_out)

    def _elman(self, xp: tuple[torch.Tensor, ...]) -> torch.Tensor:
        act = torch.tanh if self.cfg.kind == "tanh" else torch.relu
        w_hh = self.W_hh.transpose(1, 2)  # (K, H, H)
        h = torch.zeros_like(xp[0])  # (K, B, H)
        for x_t in xp:
            h = act(torch.baddbmm(x_t, h, w_hh))
        return h

    def _indrnn(self, xp: tuple[torch.Tensor, ...]) -> torch.Tensor:
        u = self.u[:, None]  # (K, 1, H)
        h = torch.zeros_like(xp[0])
        for x_t in xp:
            h = torch.relu(torch.addcmul(x_t, u, h))
        return h

    def _lstm(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.cat([self.W_ih, self.W_hh], dim=2).transpose(1, 2)  # (K, F + H, 4H)
        return _LSTMThroughTime.apply(x.transpose(1, 2), w, self.b_ih + self.b_hh)

    def _gru(self, xp: torch.Tensor) -> torch.Tensor:
        return _GRUThroughTime.apply(xp, self.W_hh.transpose(1, 2), self.b_hh)

    def _lru(self, x: torch.Tensor) -> torch.Tensor:
        """Residual blocks u <- u + mix(gelu(LRU(LN(u)))); the last block is needed at the last
        step only, so its state there is summed in closed form instead of scanned. Complex
        products are real ones on interleaved (re, im) columns, read as complex views."""
        hid, last = self.cfg.hidden, self.cfg.lru_layers - 1
        u = torch.baddbmm(self.b_enc[:, None], x.flatten(1, 2), self.W_enc.transpose(1, 2))
        u = u.unflatten(1, x.shape[1:3])  # (K, B, T, H)
        for layer in range(self.cfg.lru_layers):
            p = lambda name: getattr(self, f"{name}{layer}")
            v = F.layer_norm(u, (hid,)) * p("ln_w")[:, None, None] + p("ln_b")[:, None, None]
            log_lam = torch.complex(-torch.exp(p("nu_log")), torch.exp(p("theta_log")))  # (K, N)
            bu = torch.view_as_complex(torch.bmm(v.flatten(1, 2), _input_matrix(p)).unflatten(-1, (-1, 2)))
            bu = bu.unflatten(1, v.shape[1:3])  # (K, B, T, N): gamma * (B u_t)
            if layer == last:  # x_T = sum_t lam^(T-1-t) b_t
                ages = torch.arange(x.shape[2] - 1, -1, -1, dtype=v.dtype, device=v.device)
                s = (torch.exp(ages[:, None] * log_lam[:, None])[:, None] * bu).sum(2, keepdim=True)
                v = v[:, :, -1:]  # (K, B, 1, H)
            else:
                s = linear_scan(torch.exp(log_lam), bu)  # (K, B, T, N)
            y = torch.bmm(torch.view_as_real(s).flatten(1, 2).flatten(-2), _output_matrix(p))
            y = F.gelu(y.unflatten(1, v.shape[1:3]) + p("D")[:, None, None] * v)  # Re(C x_t) + D u_t
            mix = torch.baddbmm(p("b_mix")[:, None], y.flatten(1, 2), p("W_mix").transpose(1, 2))
            u = u[:, :, -v.shape[2]:] + mix.unflatten(1, v.shape[1:3])
        return u[:, :, -1]  # (K, B, H)


class _LSTMThroughTime(torch.autograd.Function):
    """h_T of K LSTMs (PyTorch's equations, gate order i, f, g, o) from the inputs x (K, T, B, F),
    w = [W_ih, W_hh]^T (K, F + H, 4H) and b = b_ih + b_hh (K, 4H), the backward through time
    written out: one autograd node for the sequence instead of a dozen per step, and each
    step's pre-activation one product of [x_t, h_{t-1}] (no (K, T, B, 4H) projection of the
    inputs, forward or backward). tests/test_recurrent.py holds outputs and gradients against
    nn.LSTM."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        hid = w.shape[2] // 4
        h = c = x.new_zeros(x.shape[0], x.shape[2], hid)  # (K, B, H)
        steps = []  # per step: [x_t, h_{t-1}], c_{t-1}, sigmoid of all blocks, tanh(g), tanh(c_t)
        for x_t in x.unbind(1):
            xh = torch.cat([x_t, h], dim=-1)
            pre = torch.baddbmm(b[:, None], xh, w)  # (K, B, 4H)
            s, g = torch.sigmoid(pre), torch.tanh(pre[..., 2 * hid:3 * hid])
            i, f, _, o = s.chunk(4, dim=-1)
            c_prev, c = c, torch.addcmul(f * c, i, g)
            tc = torch.tanh(c)
            h = o * tc
            steps.append((xh, c_prev, s, g, tc))
        ctx.save_for_backward(w)
        ctx.steps = steps
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx, dh: torch.Tensor) -> tuple[None, torch.Tensor, torch.Tensor]:
        (w,), steps = ctx.saved_tensors, ctx.steps
        hid, w_h = w.shape[2] // 4, w[:, -(w.shape[2] // 4):].transpose(1, 2)  # W_hh (K, 4H, H)
        dw, db = torch.zeros_like(w), w.new_zeros(w.shape[0], w.shape[2])
        dc, dpost = torch.zeros_like(dh), dh.new_empty(*dh.shape[:2], 4 * hid)
        di, df, dg, do = dpost.chunk(4, dim=-1)
        for xh, c_prev, s, g, tc in reversed(steps):
            i, f, _, o = s.chunk(4, dim=-1)
            dc += torch.ops.aten.tanh_backward(dh * o, tc)  # through h_t = o tanh(c_t)
            torch.mul(dc, g, out=di)
            torch.mul(dc, c_prev, out=df)
            torch.mul(dh, tc, out=do)
            dpre = torch.ops.aten.sigmoid_backward(dpost, s)  # right for i, f, o
            dpre[..., 2 * hid:3 * hid] = torch.ops.aten.tanh_backward(dc * i, g)
            dc = dc * f
            dw += torch.bmm(xh.transpose(1, 2), dpre)
            db += dpre.sum(1)
            dh = torch.bmm(dpre, w_h)
        return None, dw, db


class _GRUThroughTime(torch.autograd.Function):
    """h_T of K GRUs (PyTorch's equations, blocks r, z, n) from every step's input projection
    xp (K, T, B, 3H) with b_ih, w = W_hh^T (K, H, 3H) and b_hh (K, 3H); the backward through
    time written out, as for `_LSTMThroughTime`."""

    @staticmethod
    def forward(ctx, xp: torch.Tensor, w: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
        hid = w.shape[1]
        h = xp.new_zeros(xp.shape[0], xp.shape[2], hid)
        hs, rzs, ns, hpns = [], [], [], []  # per step: h_{t-1}, (r, z), n, W_hn h + b_hn
        for x_t in xp.unbind(1):
            hs.append(h)
            hp = torch.baddbmm(b_hh[:, None], h, w)  # (K, B, 3H)
            rz = torch.sigmoid(x_t[..., :2 * hid] + hp[..., :2 * hid])
            r, z = rz.chunk(2, dim=-1)
            hpn = hp[..., 2 * hid:]
            n = torch.tanh(torch.addcmul(x_t[..., 2 * hid:], r, hpn))
            h = torch.addcmul(n, z, h - n)  # (1 - z) n + z h
            rzs.append(rz), ns.append(n), hpns.append(hpn)
        ctx.save_for_backward(w)
        ctx.steps = hs, rzs, ns, hpns
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx, dh: torch.Tensor) -> tuple[torch.Tensor, ...]:
        (w,), (hs, rzs, ns, hpns) = ctx.saved_tensors, ctx.steps
        w_t, dxps, dhps = w.transpose(1, 2), [], []
        for h, rz, n, hpn in zip(reversed(hs), reversed(rzs), reversed(ns), reversed(hpns)):
            r, z = rz.chunk(2, dim=-1)
            dn = torch.ops.aten.tanh_backward(dh - dh * z, n)
            drz = torch.ops.aten.sigmoid_backward(torch.cat([dn * hpn, dh * (h - n)], -1), rz)
            dhp = torch.cat([drz, dn * r], dim=-1)  # dL/d(W_hh h + b_hh)
            dh = torch.baddbmm(dh * z, dhp, w_t)
            dxps.append(torch.cat([drz, dn], dim=-1))
            dhps.append(dhp)
        dhp = torch.stack(dhps[::-1], dim=1).flatten(1, 2)  # (K, T*B, 3H)
        hs = torch.stack(hs, dim=1).flatten(1, 2)  # (K, T*B, H)
        return (torch.stack(dxps[::-1], dim=1), torch.bmm(hs.transpose(1, 2), dhp), dhp.sum(1))


def _input_matrix(p) -> torch.Tensor:
    """gamma * B as one real (K, H, 2N) matrix whose columns alternate Re and Im of each row of
    B: a real input times it, read as (N, 2), is the complex gamma * (B u)."""
    w = torch.stack([p("B_re"), p("B_im")], dim=2) * torch.exp(p("gamma_log"))[:, :, None, None]
    return w.flatten(1, 2).transpose(1, 2)  # (K, N, 2, H) -> (K, 2N, H) -> (K, H, 2N)


def _output_matrix(p) -> torch.Tensor:
    """C as one real (K, 2N, H) matrix with rows alternating Re C and -Im C, so that a complex
    state viewed as interleaved (re, im) times it is Re(C x) = Re C Re x - Im C Im x."""
    return torch.stack([p("C_re"), -p("C_im")], dim=-1).flatten(2).transpose(1, 2)


def linear_scan(lam: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All states of x_t = lam * x_{t-1} + b_t (x_{-1} = 0) for lam (K, N), b (K, B, T, N).

    A step-doubling prefix scan (Hillis and Steele's form of the parallel scan, Blelloch 1990):
    ceil(log2 T) vectorised steps; after the step with offset d, x[t] holds the sum of
    lam^(t-s) b_s over the 2d most recent s. The backward pass is the same scan run backwards
    in time with conj(lam) (the adjoint recurrence), so autograd stores no intermediate."""
    return _LinearScan.apply(lam, b)


def _doubling_scan(lam: torch.Tensor, b: torch.Tensor, reverse: bool = False) -> torch.Tensor:
    """The step-doubling scan forward in time, or backward in time when `reverse`."""
    x, power, d = b.clone(), lam[:, None, None], 1  # power (K, 1, 1, N) = lam^d
    while d < b.shape[2]:
        if reverse:
            x[:, :, :-d] += power * x[:, :, d:]  # the product is a new tensor: no aliasing
        else:
            x[:, :, d:] += power * x[:, :, :-d]
        power, d = power * power, 2 * d
    return x


class _LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, lam: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x = _doubling_scan(lam, b)
        ctx.save_for_backward(lam, x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lam, x = ctx.saved_tensors
        # adjoint a_t = grad_t + conj(lam) a_{t+1}: dL/db_t = a_t, dL/dlam = sum_t conj(x_{t-1}) a_t
        a = _doubling_scan(lam.conj(), grad, reverse=True)
        grad_lam = (x[:, :, :-1].conj() * a[:, :, 1:]).sum(dim=(1, 2))
        return grad_lam, a


def sequential_scan(lam: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`linear_scan` as a plain loop over time: the reference the tests hold it against."""
    x, out = torch.zeros_like(b[:, :, 0]), []
    for t in range(b.shape[2]):
        x = lam[:, None] * x + b[:, :, t]
        out.append(x)
    return torch.stack(out, dim=2)


# --- one model alone, from PyTorch's fused kernels where they compute it --------------------------


class Reference(nn.Module):
    """Model k of a stack on its own: `nn.RNN`/`nn.LSTM`/`nn.GRU` for the kinds they compute
    exactly; IndRNN and LRU as a one-model `Stack` (the same code path, K = 1)."""

    def __init__(self, cfg: RecurrentConfig, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.kind in ELMAN or cfg.kind in GATES:
            if cfg.kind in ELMAN:
                self.rnn = nn.RNN(cfg.n_in, cfg.hidden, batch_first=True,
                                  nonlinearity="tanh" if cfg.kind == "tanh" else "relu")
                b_ih, b_hh = params["b"], torch.zeros_like(params["b"])
            else:
                self.rnn = (nn.GRU if cfg.kind == "gru" else nn.LSTM)(cfg.n_in, cfg.hidden,
                                                                     batch_first=True)
                b_ih, b_hh = params["b_ih"], params["b_hh"]
            with torch.no_grad():
                for name, value in (("weight_ih_l0", params["W_ih"]), ("weight_hh_l0", params["W_hh"]),
                                    ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
                    getattr(self.rnn, name).copy_(value)
            if cfg.kind in ELMAN:  # the model has one bias; nn.RNN's second stays at zero
                self.rnn.bias_hh_l0.requires_grad_(False)
            self.head = nn.Linear(cfg.hidden, cfg.n_out)
            with torch.no_grad():
                self.head.weight.copy_(params["W_out"])
                self.head.bias.copy_(params["b_out"])
        else:
            self.stack = Stack(cfg, [0])
            with torch.no_grad():
                for name, value in params.items():
                    getattr(self.stack, name).copy_(value[None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, F) -> (B, n_out)."""
        if hasattr(self, "stack"):
            return self.stack(x[None])[0]
        out, _ = self.rnn(x)  # (B, T, H)
        return self.head(out[:, -1])


def sequential_indrnn(cfg: RecurrentConfig, params: dict[str, torch.Tensor],
                      x: torch.Tensor) -> torch.Tensor:
    """IndRNN written out step by step from Li et al.'s equation (2), for one model: x (B, T, F)."""
    h = torch.zeros(x.shape[0], cfg.hidden)
    for t in range(x.shape[1]):
        h = torch.relu(x[:, t] @ params["W_ih"].T + params["u"] * h + params["b"])
    return h @ params["W_out"].T + params["b_out"]
