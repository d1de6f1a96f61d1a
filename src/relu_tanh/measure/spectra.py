"""Matrices with a chosen spectrum, and norms of long products of them (chapter "powers").

Everything here works in float64 and keeps products normalised while it multiplies, carrying
the scale as a logarithm: a product of a few hundred factors below 1 then never underflows,
so a tiny gradient is measured as tiny instead of as an exact 0.

The quantities: the spectral radius rho(W) = max |lambda_i| governs the long-run growth of
W^t (Gelfand: ||W^t||^(1/t) -> rho); the spectral norm ||W|| = sigma_max bounds every step,
||W^t|| <= ||W||^t (Pascanu, Mikolov and Bengio 2013, section 2.1).
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from torch import Tensor

DTYPE = torch.float64
FLOAT32_TINY = torch.finfo(torch.float32).tiny  # smallest normal float32, about 1.2e-38
FLOAT64_TINY = torch.finfo(torch.float64).tiny  # about 2.2e-308


def spectral_radius(w: Tensor) -> float:
    """max |lambda_i(W)|."""
    return float(torch.linalg.eigvals(w.to(DTYPE)).abs().max())


def spectral_norm(w: Tensor) -> float:
    """||W||_2, the largest singular value."""
    return float(torch.linalg.matrix_norm(w.to(DTYPE), ord=2))


def describe(w: Tensor) -> dict[str, float]:
    """The three numbers the chapter logs for every matrix: largest entry, radius and norm."""
    return {"max_entry": float(w.abs().max()), "radius": spectral_radius(w), "norm": spectral_norm(w)}


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gaussian(n: int, scale: float, gen: torch.Generator) -> Tensor:
    """Entries N(0, scale^2 / n): by the circular law rho -> scale and ||W|| -> 2 scale."""
    return torch.randn(n, n, generator=gen, dtype=DTYPE) * (scale / math.sqrt(n))


def orthogonal(n: int, gen: torch.Generator) -> Tensor:
    """A Haar-random orthogonal matrix (QR of a Gaussian with the signs fixed)."""
    q, r = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=DTYPE))
    return q * torch.sign(torch.diagonal(r))


def with_radius(w: Tensor, radius: float) -> Tensor:
    """W rescaled to spectral radius `radius`."""
    return w * (radius / spectral_radius(w))


def with_norm(w: Tensor, norm: float) -> Tensor:
    """W rescaled to spectral norm `norm`."""
    return w * (norm / spectral_norm(w))


def normal(n: int, radius: float, gen: torch.Generator) -> Tensor:
    """A random symmetric (hence normal) matrix whose eigenvalues fill [-radius, radius];
    for a normal matrix ||W|| = rho(W) and ||W^t|| = rho^t exactly."""
    q = orthogonal(n, gen)
    lam = torch.linspace(-radius, radius, n, dtype=DTYPE)
    return (q * lam) @ q.T


def non_normal(n: int, radius: float, norm: float, gen: torch.Generator, *, tol: float = 1e-10) -> Tensor:
    """A real matrix with spectral radius `radius` and spectral norm `norm` >= radius.

    Built in Schur form Q (D + s U) Q^T: D diagonal with eigenvalues in [-radius, radius] (both
    ends included), U strictly upper triangular Gaussian. The eigenvalues are those of D for
    every s; ||D + s U|| is convex in s and equals rho at s = 0, so it grows with s and bisection
    on s hits the requested norm. A large s makes W strongly non-normal: ||W^t|| grows for a
    while before rho^t wins (transient growth, Trefethen and Embree 2005, chapter 14)."""
    if norm < radius:
        raise ValueError(f"the spectral norm ({norm}) cannot be below the spectral radius ({radius})")
    lam = torch.linspace(-radius, radius, n, dtype=DTYPE)
    upper = torch.triu(torch.randn(n, n, generator=gen, dtype=DTYPE), diagonal=1)
    q = orthogonal(n, gen)
    schur = lambda s: torch.diag(lam) + s * upper
    lo, hi = 0.0, 1.0
    while spectral_norm(schur(hi)) < norm:
        hi *= 2
    while hi - lo > tol * max(1.0, hi):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spectral_norm(schur(mid)) < norm else (lo, mid)
    return q @ schur((lo + hi) / 2) @ q.T


def log_norms(factors: Iterable[Tensor], *, side: str = "left", every: int = 1) -> Tensor:
    """log ||P_t||_2 of the running products P_t of `factors`, at t = every, 2 every, ...

    Each factor is (..., n, n) (a batch of matrices). side="left": P_t = M_t P_{t-1}, the order
    a forward pass applies layers; side="right": P_t = P_{t-1} M_t, the order backpropagation
    through time accumulates dh_T/dh_{T-t}. P is divided by its Frobenius norm after every step
    and the scale carried as a logarithm, so the result is exact however small or large the
    product gets; the (costlier) spectral norm is taken only where recorded.
    Returns (..., T // every)."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    out, prod, log_scale = [], None, 0.0
    for t, m in enumerate(factors, start=1):
        m = m.to(DTYPE)
        prod = m if prod is None else (m @ prod if side == "left" else prod @ m)
        fro = torch.linalg.matrix_norm(prod)  # (...)
        if t % every == 0:
            out.append(log_scale + torch.log(torch.linalg.matrix_norm(prod, ord=2)))
        log_scale = log_scale + torch.log(fro)
        prod = prod / fro[..., None, None]
    return torch.stack(out, dim=-1)


def power_log_norms(w: Tensor, steps: int, every: int = 1) -> Tensor:
    """log ||W^t||_2 at t = every, 2 every, ..., steps. (steps // every,)"""
    return log_norms((w for _ in range(steps)), every=every)


def power_vector_log_norms(w: Tensor, v: Tensor, steps: int) -> Tensor:
    """log ||W^t v|| for t = 1..steps, for each column of v (n, k): (k, steps)."""
    out, x, log_scale = [], v.to(DTYPE), torch.zeros(v.shape[1], dtype=DTYPE, device=v.device)
    x = x / x.norm(dim=0)
    for _ in range(steps):
        x = w @ x
        norm = x.norm(dim=0)  # (k,)
        log_scale = log_scale + torch.log(norm)
        out.append(log_scale)
        x = x / norm
    return torch.stack(out, dim=-1)


def growth_rate(log_norm: Tensor, every: int = 1, tail: float = 0.5) -> float:
    """Per-step growth factor exp(slope) of a least-squares line through log ||P_t|| (recorded
    every `every` steps) over the last `tail` share of steps, after the transient."""
    y = torch.as_tensor(log_norm, dtype=DTYPE)
    start = min(int(len(y) * (1 - tail)), len(y) - 2)
    t = every * torch.arange(start, len(y), dtype=DTYPE)
    tt, yy = t - t.mean(), y[start:] - y[start:].mean()
    return math.exp(float((tt * yy).sum() / (tt * tt).sum()))


def rnn_preactivations(w_h: Tensor, w_x: Tensor, x: Tensor, act: Callable[[Tensor], Tensor]) -> Tensor:
    """a_t = W_h h_{t-1} + W_x x_t, h_t = f(a_t), from h_0 = 0, for a batch of sequences.

    w_h (..., n, n), w_x (..., n, d), x (..., B, T, d) -> (..., B, T, n); the leading dims
    batch several RNNs (one per eta, say)."""
    steps = x.shape[-2]
    drive = x.to(DTYPE) @ w_x.mT.unsqueeze(-3)  # (..., B, T, n)
    h = torch.zeros_like(drive[..., 0, :])  # (..., B, n)
    pre = []
    for t in range(steps):
        a = h @ w_h.mT + drive[..., t, :]  # (..., B, n)
        pre.append(a)
        h = act(a)
    return torch.stack(pre, dim=-2)


def bptt_log_norms(w_h: Tensor, pre: Tensor, derivative: Callable[[Tensor], Tensor],
                   every: int = 1) -> Tensor:
    """log ||dh_T/dh_{T-g}||_2 for gaps g = every, 2 every, ..., T, where
    dh_t/dh_{t-1} = diag(f'(a_t)) W_h (Pascanu, Mikolov and Bengio 2013, section 2.1).

    w_h (..., n, n), pre (..., B, T, n): the pre-activations a_1..a_T -> (..., B, T // every)."""
    d = derivative(pre.to(DTYPE))  # (..., B, T, n)
    w = w_h.unsqueeze(-3)  # (..., 1, n, n)
    steps = pre.shape[-2]
    return log_norms((d[..., t, :, None] * w for t in reversed(range(steps))), side="right",
                     every=every)


def lyapunov_gaussian(n: int, scale: float) -> float:
    """Top Lyapunov exponent of products of independent n x n matrices with entries
    N(0, scale^2 / n): log scale + (log(2/n) + digamma(n/2)) / 2 (Newman 1986)."""
    return math.log(scale) + 0.5 * (math.log(2 / n) + float(torch.special.digamma(torch.tensor(n / 2.0))))
