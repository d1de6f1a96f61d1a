"""MLP and CNN shapes, layer bookkeeping and the three initialisations."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from relu_tanh.nets import models
from relu_tanh.nets.models import CNNConfig, MLPConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_mlp_shapes_and_weight_layers(depth):
    torch.manual_seed(0)
    net = models.build(MLPConfig(in_features=40, n_classes=10, width=16, depth=depth))
    assert net(torch.randn(7, 1, 40)).shape == (7, 10)
    layers = net.weight_layers()
    assert len(layers) == depth + 1
    assert all(isinstance(m, nn.Linear) for m in layers)
    assert layers[0].in_features == 40 and layers[-1].out_features == 10
    assert len(net.acts) == depth
    expected = 40 * 16 + 16 + (depth - 1) * (16 * 16 + 16) + 16 * 10 + 10
    assert models.n_params(net) == expected


@pytest.mark.parametrize("dims,shape", [(1, (5, 2, 40)), (2, (5, 3, 12, 10))])
@pytest.mark.parametrize("depth", [1, 4])
def test_cnn_shapes_and_weight_layers(dims, shape, depth):
    torch.manual_seed(0)
    cfg = CNNConfig(in_channels=shape[1], n_classes=7, spatial_dims=dims, channels=8, depth=depth)
    net = models.build(cfg)
    assert net(torch.randn(*shape)).shape == (5, 7)
    layers = net.weight_layers()
    assert len(layers) == depth + 1
    conv = nn.Conv1d if dims == 1 else nn.Conv2d
    assert all(isinstance(m, conv) for m in layers[:-1]) and isinstance(layers[-1], nn.Linear)
    # 'same' padding keeps the spatial size through the hidden stack
    x = torch.randn(*shape)
    for layer in net.hidden:
        x = layer(x)
        assert x.shape[2:] == shape[2:]


def test_cnn_rejects_other_spatial_dims():
    with pytest.raises(ValueError, match="spatial_dims"):
        models.cnn(CNNConfig(in_channels=1, n_classes=2, spatial_dims=3))


def test_activation_modules_follow_the_config():
    net = models.build(MLPConfig(4, 2, width=4, depth=3, activation="tanh"))
    assert all(isinstance(a, nn.Tanh) for a in net.acts)
    net = models.build(CNNConfig(1, 2, depth=2, activation="sigmoid"))
    assert all(isinstance(a, nn.Sigmoid) for a in net.acts)


def _wide_layer(init: str, arch: str) -> tuple[nn.Module, int, int]:
    """A big hidden weight layer under `init`, with its fan_in and fan_out."""
    torch.manual_seed(0)
    if arch == "mlp":
        net = models.build(MLPConfig(in_features=600, n_classes=10, width=400, depth=2, init=init))
        return net.hidden[0], 600, 400
    net = models.build(CNNConfig(in_channels=3, n_classes=10, spatial_dims=2, channels=96,
                                 depth=2, kernel_size=5, init=init))
    return net.hidden[1], 96 * 25, 96 * 25


EXPECTED_VAR = {
    "default": lambda fi, fo: 1 / (3 * fi),  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    "xavier": lambda fi, fo: 2 / (fi + fo),
    "kaiming": lambda fi, fo: 2 / fi,
}


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("init", ["default", "xavier", "kaiming"])
def test_init_gives_the_expected_weight_variance(init, arch):
    layer, fan_in, fan_out = _wide_layer(init, arch)
    w = layer.weight.detach().double()
    expected_std = math.sqrt(EXPECTED_VAR[init](fan_in, fan_out))
    assert float(w.std()) == pytest.approx(expected_std, rel=0.05)
    assert abs(float(w.mean())) < 0.05 * expected_std
    if init != "default":
        assert bool((layer.bias == 0).all())


def test_inits_differ_as_the_formulas_say():
    """kaiming/default variance ratio is 6; xavier lies between on a square-ish layer."""
    std = {init: float(_wide_layer(init, "mlp")[0].weight.detach().std()) for init in EXPECTED_VAR}
    assert (std["kaiming"] / std["default"]) ** 2 == pytest.approx(6, rel=0.05)
    assert std["default"] < std["xavier"] < std["kaiming"]


def test_kaiming_is_normal_and_xavier_uniform():
    k = _wide_layer("kaiming", "mlp")[0].weight.detach()
    x, fan_in, fan_out = _wide_layer("xavier", "mlp")
    bound = math.sqrt(6 / (fan_in + fan_out))
    assert float(x.weight.detach().abs().max()) <= bound
    assert float(k.abs().max()) > 3 * float(k.std())  # a Gaussian has tails past 3 sigma


def test_init_applies_to_the_head_too():
    torch.manual_seed(0)
    net = models.build(MLPConfig(64, 500, width=800, depth=1, init="kaiming"))
    assert float(net.head.weight.detach().std()) == pytest.approx(math.sqrt(2 / 800), rel=0.05)
    assert bool((net.head.bias == 0).all())


def test_unknown_init_lists_choices():
    with pytest.raises(KeyError) as err:
        models.build(MLPConfig(4, 2, init="orthogonal"))
    msg = err.value.args[0]
    assert "orthogonal" in msg and all(i in msg for i in ("default", "xavier", "kaiming"))


def test_unknown_activation_lists_choices():
    with pytest.raises(KeyError) as err:
        models.build(CNNConfig(1, 2, activation="swish2"))
    msg = err.value.args[0]
    assert "swish2" in msg and "relu" in msg and "tanh" in msg and "sigmoid" in msg
