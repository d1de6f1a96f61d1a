"""Per-layer gradient norms and activation statistics of a `models.DeepNet`."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from ..nets import activations

# Where a unit counts as saturated, read off its output y (thresholds of the CNN chapters).
SATURATED: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": lambda y: (y < 0.03) | (y > 0.97),
    "tanh": lambda y: y.abs() > 0.97,
}


def layer_grad_norms(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """Norm of dLoss/dW for each weight layer (input side first), for one cross-entropy batch."""
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    norms = [float(layer.weight.grad.norm()) for layer in model.weight_layers()]
    model.zero_grad(set_to_none=True)
    return norms


@torch.no_grad()
def preactivations(model: nn.Module, x: Tensor) -> list[Tensor]:
    """The input z of every activation module in `model.acts`, for one forward pass of x."""
    pre: list[Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, inp, _out: pre.append(inp[0])) for m in model.acts]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return pre


@torch.no_grad()
def activation_stats(model: nn.Module, x: Tensor, activation: str) -> list[dict[str, float | None]]:
    """For each hidden layer: mean and std of the output, the fractions of units saturated and
    exactly zero, and the mean derivative f'(z) over its pre-activations z."""
    act = activations.get(activation)
    saturated = SATURATED.get(activation)
    stats = []
    for z in preactivations(model, x):
        out = act.fn(z)
        stats.append({
            "mean": float(out.mean()),
            "std": float(out.std()),
            "frac_saturated": float(saturated(out).float().mean()) if saturated else None,
            "frac_zero": float((out == 0).float().mean()),
            "mean_derivative": float(act.derivative(z).mean()),
        })
    return stats
