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

from .registry import Registry

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
