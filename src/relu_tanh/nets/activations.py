"""Activation functions and their analytic derivatives.

The derivatives are written out by hand so that chapter 1 can check them against
autograd; `Activation.module()` gives the `nn.Module` the models use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from ..store.registry import Registry

LEAKY_SLOPE = 0.01  # PyTorch's default negative slope


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity f with its analytic derivative f'."""

    name: str
    fn: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]
    module: Callable[[], nn.Module]
    bounded: bool  # whether f's output is bounded (sigmoid, tanh) or not


ACTIVATIONS: Registry[Activation] = Registry("activation")


def _add(act: Activation) -> None:
    ACTIVATIONS.add(act.name, act)


def get(name: str) -> Activation:
    """The activation called `name`; an unknown name lists the valid ones."""
    return ACTIVATIONS[name]


def _sigmoid_grad(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s)


def _gelu_grad(x: Tensor) -> Tensor:
    # d/dx [x Phi(x)] = Phi(x) + x phi(x)
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    pdf = torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    return cdf + x * pdf


def _silu_grad(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


# ReLU'(0) is taken as 0, the subgradient PyTorch's autograd uses.
_add(Activation("sigmoid", torch.sigmoid, _sigmoid_grad, nn.Sigmoid, bounded=True))
_add(Activation("tanh", torch.tanh, lambda x: 1 - torch.tanh(x) ** 2, nn.Tanh, bounded=True))
_add(Activation("relu", torch.relu, lambda x: (x > 0).to(x.dtype), nn.ReLU, bounded=False))
_add(
    Activation(
        "leaky_relu",
        lambda x: nn.functional.leaky_relu(x, LEAKY_SLOPE),
        lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, LEAKY_SLOPE)),
        lambda: nn.LeakyReLU(LEAKY_SLOPE),
        bounded=False,
    )
)
_add(Activation("gelu", nn.functional.gelu, _gelu_grad, nn.GELU, bounded=False))
_add(Activation("silu", nn.functional.silu, _silu_grad, nn.SiLU, bounded=False))



# Nonlinearities that only chapter "gates" (claim R5) puts inside LSTM and GRU cells, as stand-ins
# for the gates' sigmoid and the state's tanh. They are kept out of ACTIVATIONS, every entry of
# which the cost chapter times (and which already has its own "identity" baseline).
CELL_NONLINEARITIES: Registry[Activation] = Registry("cell nonlinearity")
HARD_SIGMOID_SLOPE = 0.2  # Keras's hard_sigmoid, for years the default gate of its LSTM and GRU


def cell_nonlinearity(name: str) -> Activation:
    """An activation or cell-only nonlinearity by name; an unknown name lists both kinds."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    if name in CELL_NONLINEARITIES:
        return CELL_NONLINEARITIES[name]
    valid = ", ".join([*ACTIVATIONS.names(), *CELL_NONLINEARITIES.names()])
    raise KeyError(f"unknown cell nonlinearity {name!r}; valid choices: {valid}")


class _Pointwise(nn.Module):
    """A module around an elementwise function that has no torch.nn counterpart."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


def _hard_sigmoid(x: Tensor) -> Tensor:
    """clip(0.2 x + 0.5, 0, 1): sigmoid's value at 0, a slope near its 1/4, exactly 0 or 1 for
    |x| >= 2.5."""
    return torch.clamp(HARD_SIGMOID_SLOPE * x + 0.5, 0.0, 1.0)


def _clamped_relu(x: Tensor) -> Tensor:
    """min(max(x, 0), 1): ReLU cut off at 1, so bounded like a gate."""
    return torch.clamp(x, 0.0, 1.0)


def _inside(x: Tensor, low: float, high: float) -> Tensor:
    """1 strictly inside (low, high), else 0 (at the kinks themselves autograd takes 1)."""
    return ((x > low) & (x < high)).to(x.dtype)


for _act in (
    Activation("hard_sigmoid", _hard_sigmoid,
               lambda x: HARD_SIGMOID_SLOPE * _inside(x, -2.5, 2.5),
               lambda: _Pointwise(_hard_sigmoid), bounded=True),
    Activation("clamped_relu", _clamped_relu, lambda x: _inside(x, 0.0, 1.0),
               lambda: nn.Hardtanh(0.0, 1.0), bounded=True),
    Activation("identity", lambda x: x, torch.ones_like, nn.Identity, bounded=False),
):
    CELL_NONLINEARITIES.add(_act.name, _act)
