"""Chapter 1: the ranges of sigmoid', tanh' and ReLU', measured with autograd on a dense grid.

Run: ``python -m relu_tanh run derivatives --scale book``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..nets import activations
from . import Experiment, register


@dataclass(frozen=True)
class DerivativesConfig:
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu")
    grid_limit: float = 10.0  # the grid spans [-limit, limit]
    grid_points: int = 200_001  # odd, so that z = 0 lies on the grid
    small: float = 0.1  # a derivative below this counts as "vanished"
    input_stds: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # z ~ N(0, s^2)
    n_samples: int = 1_000_000  # Monte Carlo draws per input std

    def validate(self) -> None:
        if self.grid_points % 2 == 0:  # the maxima of sigmoid' and tanh' lie at z = 0
            raise ValueError(f"grid_points must be odd, so that z = 0 lies on the grid; got "
                             f"{self.grid_points}")


def derivative_on_grid(name: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(autograd derivative, analytic derivative) of activation `name` at the points z."""
    act = activations.get(name)
    z = z.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(act.fn(z).sum(), z)
    return grad.detach(), act.derivative(z.detach())


def run_seed(cfg: DerivativesConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Range of each derivative on the grid, its agreement with the analytic form, and the
    share of Gaussian inputs on which it is below `cfg.small` (Monte Carlo, float64)."""
    half = cfg.grid_points // 2  # k / half is exact at k = -half, 0, half: the grid's ends and 0
    z = cfg.grid_limit * (torch.arange(-half, half + 1, dtype=torch.float64) / half)
    gen = torch.Generator().manual_seed(seed)
    normal = torch.randn(cfg.n_samples, generator=gen, dtype=torch.float64)
    out: dict[str, Any] = {"input_stds": list(cfg.input_stds), "small": cfg.small,
                           "grid_limit": cfg.grid_limit}
    for name in cfg.activations:
        grad, analytic = derivative_on_grid(name, z)
        values = torch.unique(grad)
        per_std = [derivative_on_grid(name, normal * s)[0] for s in cfg.input_stds]
        out[name] = {
            "min": float(grad.min()),
            "max": float(grad.max()),
            "argmax": float(z[grad.argmax()]),
            "max_abs_error": float((grad - analytic).abs().max()),
            "n_distinct": len(values),
            "distinct": [float(v) for v in values[:8]],
            "mean_derivative": [float(g.mean()) for g in per_std],
            "frac_small": [float((g < cfg.small).double().mean()) for g in per_std],
            # the slope at the grid's two ends, z = -limit and z = +limit
            "at_grid_edge": float(grad[[0, -1]].max()),
            "at_grid_ends": [float(grad[0]), float(grad[-1])],
        }
    return out


def summarize(cfg: DerivativesConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The first seed (the grid is deterministic; seeds only move the Monte Carlo by ~1e-3)."""
    return seeds[min(seeds)]


register(Experiment(
    name="derivatives",
    chapter="derivatives",
    version=2,
    description="ranges of f' for sigmoid, tanh, ReLU and friends; autograd vs analytic",
    configs={
        "smoke": DerivativesConfig(grid_points=2_001, n_samples=10_000),
        "book": DerivativesConfig(),
        "paper": DerivativesConfig(grid_points=2_000_001, n_samples=10_000_000),
    },
    seeds={"smoke": 1, "book": 1, "paper": 1},
    run_seed=run_seed,
    summarize=summarize,
))
