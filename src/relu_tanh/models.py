"""Networks of configurable depth, activation and initialisation.

`depth` counts the hidden weight layers, each followed by the activation; a
linear read-out comes on top. `weight_layers` lists every layer with a weight,
input side first, so diagnostics can report per-layer gradients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from . import activations
from .registry import Registry

INITS: Registry[Callable[[nn.Module], None]] = Registry("initialisation")


@INITS.register("default")
def _default(layer: nn.Module) -> None:
    """PyTorch's own: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance 1/(3 fan_in)."""


@INITS.register("xavier")
def _xavier(layer: nn.Module) -> None:
    """Glorot and Bengio (2010): variance 2/(fan_in + fan_out), zero bias."""
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)


@INITS.register("kaiming")
def _kaiming(layer: nn.Module) -> None:
    """He et al. (2015): variance 2/fan_in, preserving the second moment through ReLUs."""
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)


@dataclass(frozen=True)
class MLPConfig:
    in_features: int
    n_classes: int
    width: int = 64
    depth: int = 5
    activation: str = "relu"
    init: str = "default"


@dataclass(frozen=True)
class CNNConfig:
    """A plain stack of stride-1 'same' convolutions, global average pool, linear read-out."""

    in_channels: int
    n_classes: int
    spatial_dims: int = 1  # 1 for sequences such as MNIST-1D, 2 for images
    channels: int = 32
    depth: int = 5
    kernel_size: int = 3
    activation: str = "relu"
    init: str = "default"


class DeepNet(nn.Module):
    """stem -> (hidden layer -> activation) x depth -> pool -> head."""

    def __init__(self, hidden: list[nn.Module], head: nn.Module, activation: str, init: str,
                 stem: nn.Module | None = None, pool: nn.Module | None = None) -> None:
        super().__init__()
        act = activations.get(activation)
        initialise = INITS[init]
        self.stem = stem or nn.Identity()
        self.hidden = nn.ModuleList(hidden)
        self.acts = nn.ModuleList(act.module() for _ in hidden)
        self.pool = pool or nn.Flatten()
        self.head = head
        for layer in self.weight_layers():
            initialise(layer)

    def weight_layers(self) -> list[nn.Module]:
        return [*self.hidden, self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer, act in zip(self.hidden, self.acts):
            x = act(layer(x))
        return self.head(self.pool(x))


def mlp(cfg: MLPConfig) -> DeepNet:
    sizes = [cfg.in_features] + [cfg.width] * cfg.depth
    hidden = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    head = nn.Linear(sizes[-1], cfg.n_classes)
    return DeepNet(hidden, head, cfg.activation, cfg.init, stem=nn.Flatten())


def cnn(cfg: CNNConfig) -> DeepNet:
    if cfg.spatial_dims not in (1, 2):
        raise ValueError(f"spatial_dims must be 1 or 2, got {cfg.spatial_dims}")
    conv = nn.Conv1d if cfg.spatial_dims == 1 else nn.Conv2d
    pool = nn.AdaptiveAvgPool1d(1) if cfg.spatial_dims == 1 else nn.AdaptiveAvgPool2d(1)
    chans = [cfg.in_channels] + [cfg.channels] * cfg.depth
    hidden = [conv(a, b, cfg.kernel_size, padding="same") for a, b in zip(chans[:-1], chans[1:])]
    head = nn.Linear(chans[-1], cfg.n_classes)
    return DeepNet(hidden, head, cfg.activation, cfg.init, pool=nn.Sequential(pool, nn.Flatten()))


def build(cfg: MLPConfig | CNNConfig) -> DeepNet:
    return mlp(cfg) if isinstance(cfg, MLPConfig) else cnn(cfg)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

