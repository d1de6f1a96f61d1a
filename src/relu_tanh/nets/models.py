"""Networks of configurable depth, activation and initialisation.

`depth` counts the hidden weight layers, each followed by the activation; a
linear read-out comes on top. `weight_layers` lists every layer with a weight,
input side first, so diagnostics can report per-layer gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from . import activations
from ..store.registry import Registry

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



@dataclass(frozen=True)
class ConvNetConfig:
    """The four-weight-layer CIFAR-10 CNN of cuda-convnet's `layers-18pct`, the kind of network
    behind Figure 1 of Krizhevsky et al. (2012): conv5x5(32)-maxpool3/2-[rnorm],
    conv5x5(32)-avgpool3/2-[rnorm], conv5x5(64)-avgpool3/2, fully connected to the classes."""

    in_channels: int = 3
    image_size: int = 32
    n_classes: int = 10
    channels: tuple[int, ...] = (32, 32, 64)
    activation: str = "relu"
    init: str = "small_gaussian"  # layers-18pct's initW (with `stds`), or any name in INITS
    batch_norm: bool = False  # after every convolution, before the activation
    rnorm: bool = False  # layers-18pct's response normalisation after the first two poolings
    stds: tuple[float, ...] = (1e-4, 1e-2, 1e-2, 1e-2)  # small_gaussian: conv1, conv2, conv3, fc


# layers-18pct's initW: weight std per layer (conv1, conv2, conv3, fc), zero biases.
SMALL_GAUSSIAN_STDS = ConvNetConfig.stds


class ResponseNorm(nn.Module):
    """cuda-convnet's `rnorm` layer: each unit divided by (1 + scale/size^2 * sum of squares over
    the size x size window around it in its own channel)^pow; the window is cut at the image edge
    (zeros outside) and the sum is still divided by size^2, as cuda-convnet's layer parser does.
    layers-18pct uses size 3, scale 5e-5, pow 0.75."""

    def __init__(self, size: int = 3, scale: float = 5e-5, power: float = 0.75) -> None:
        super().__init__()
        self.size, self.scale, self.power = size, scale, power

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the mean of x^2 over the window, zeros outside the image counted: sum / size^2
        mean_sq = nn.functional.avg_pool2d(x * x, self.size, 1, self.size // 2,
                                           count_include_pad=True)
        return x / (1 + self.scale * mean_sq) ** self.power


class ConvNet(DeepNet):
    """conv -> [batch norm] -> activation -> pool -> [rnorm], three times, then a linear read-out.
    cuda-convnet applies conv1's activation after its max-pooling; for a non-decreasing
    activation the two orders give the same output."""

    def __init__(self, cfg: ConvNetConfig) -> None:
        chans = (cfg.in_channels, *cfg.channels)
        hidden = [nn.Conv2d(a, b, 5, padding=2) for a, b in zip(chans[:-1], chans[1:])]
        pools = [nn.MaxPool2d(3, 2, ceil_mode=True)] + [
            nn.AvgPool2d(3, 2, ceil_mode=True) for _ in hidden[1:]]
        side = cfg.image_size
        for _ in hidden:
            side = math.ceil((side - 3) / 2) + 1  # ceil-mode 3/2 pooling, as cuda-convnet does
        head = nn.Linear(chans[-1] * side * side, cfg.n_classes)
        small = cfg.init == "small_gaussian"
        super().__init__(hidden, head, cfg.activation, "default" if small else cfg.init,
                         pool=nn.Flatten())
        self.pools = nn.ModuleList(pools)
        self.norms = nn.ModuleList(nn.BatchNorm2d(c) if cfg.batch_norm else nn.Identity()
                                   for c in cfg.channels)
        self.rnorms = nn.ModuleList(ResponseNorm() if cfg.rnorm and k < 2 else nn.Identity()
                                    for k in range(len(hidden)))
        if small:
            if len(cfg.stds) != len(hidden) + 1:
                raise ValueError(f"stds needs one std per weight layer ({len(hidden) + 1}), "
                                 f"got {cfg.stds}")
            for layer, std in zip(self.weight_layers(), cfg.stds):
                nn.init.normal_(layer.weight, std=std)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, norm, act, pool, rnorm in zip(self.hidden, self.norms, self.acts, self.pools,
                                                self.rnorms):
            x = rnorm(pool(act(norm(conv(x)))))
        return self.head(self.pool(x))


RNN_INITS = ("default", "identity")  # identity: W_h = I (IRNN, Le, Jaitly and Hinton 2015)


@dataclass(frozen=True)
class RNNConfig:
    """An Elman network h_t = f(W_x x_t + W_h h_{t-1} + b), read out from the last state."""

    input_size: int
    output_size: int
    hidden_size: int = 128
    activation: str = "tanh"
    init: str = "default"  # "identity": W_h = I, as in Le, Jaitly and Hinton (2015)
    # None: PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for W_h (the gain 1/sqrt(3) below); a number g:
    # W_h ~ N(0, g^2 / H) with "default", or g I with "identity" (Le et al.'s scaled identity)
    rec_scale: float | None = None


class ElmanRNN(nn.Module):
    """A recurrent net with any registered activation (nn.RNN offers only tanh and ReLU)."""

    def __init__(self, cfg: RNNConfig) -> None:
        super().__init__()
        self.inp = nn.Linear(cfg.input_size, cfg.hidden_size)
        self.rec = nn.Linear(cfg.hidden_size, cfg.hidden_size, bias=False)
        self.act = activations.get(cfg.activation).module()
        self.head = nn.Linear(cfg.hidden_size, cfg.output_size)
        if cfg.init == "identity":
            nn.init.eye_(self.rec.weight)
            nn.init.zeros_(self.inp.bias)
        elif cfg.init not in RNN_INITS:
            raise ValueError(f"unknown RNN init {cfg.init!r}; valid choices: {', '.join(RNN_INITS)}")
        if cfg.rec_scale is not None:
            with torch.no_grad():
                if cfg.init == "identity":
                    self.rec.weight.mul_(cfg.rec_scale)
                else:
                    nn.init.normal_(self.rec.weight, std=cfg.rec_scale / math.sqrt(cfg.hidden_size))

    def weight_layers(self) -> list[nn.Module]:
        return [self.inp, self.rec, self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, time, input_size) -> (batch, output_size)."""
        u = self.inp(x)  # (batch, time, hidden), all time steps at once
        h = torch.zeros_like(u[:, 0])
        for u_t in u.unbind(1):  # unbind, not u[:, t]: each index would backpropagate a full zero tensor
            h = self.act(u_t + self.rec(h))
        return self.head(h)
