"""The CNN chapters' building blocks: the layers-18pct network, epochs to threshold, the
bootstrap ratio, dead-unit counting and the Figure 1 summary."""

from __future__ import annotations

import math

import pytest
import torch

from relu_tanh import models
from relu_tanh.experiments import krizhevsky, sparsity
from relu_tanh.stats import bootstrap_ratio
from relu_tanh.train import epochs_to_threshold


@pytest.mark.parametrize("side, channels, sides", [(32, 3, [16, 8, 4]), (28, 1, [14, 7, 3]),
                                                   (14, 1, [7, 3, 1])])
def test_convnet_layer_shapes_follow_ceil_mode_pooling(side, channels, sides):
    net = models.ConvNet(models.ConvNetConfig(in_channels=channels, image_size=side))
    x = torch.zeros(2, channels, side, side)
    for conv, norm, act, pool, expect, width in zip(net.hidden, net.norms, net.acts, net.pools,
                                                    sides, (32, 32, 64)):
        x = pool(act(norm(conv(x))))
        assert x.shape == (2, width, expect, expect)
    assert net.head.in_features == 64 * sides[-1] ** 2
    assert net(torch.zeros(2, channels, side, side)).shape == (2, 10)
    assert [type(p).__name__ for p in net.pools] == ["MaxPool2d", "AvgPool2d", "AvgPool2d"]


def test_small_gaussian_init_uses_the_2012_scales():
    torch.manual_seed(0)
    net = models.ConvNet(models.ConvNetConfig())
    for layer, std in zip(net.weight_layers(), models.SMALL_GAUSSIAN_STDS):
        assert layer.weight.std().item() == pytest.approx(std, rel=0.1)
        assert torch.all(layer.bias == 0)


def test_convnet_batch_norm_and_kaiming_variant():
    net = models.ConvNet(krizhevsky.convnet_config(
        krizhevsky.image_data("fashion-mnist-small", 8, 8, 2), "tanh", "kaiming+bn", (4, 4, 8)))
    assert all(isinstance(n, torch.nn.BatchNorm2d) for n in net.norms)
    assert net(torch.zeros(3, 1, 14, 14)).shape == (3, 10)
    with pytest.raises(ValueError, match="variant"):
        krizhevsky.convnet_config(krizhevsky.image_data("fashion-mnist-small", 8, 8, 2), "relu", "kaiming+ln")


def test_elman_rnn_identity_init_and_shapes():
    rnn = models.ElmanRNN(models.RNNConfig(input_size=2, output_size=1, hidden_size=8,
                                           activation="relu", init="identity"))
    assert torch.equal(rnn.rec.weight, torch.eye(8))
    assert rnn(torch.randn(5, 7, 2)).shape == (5, 1)
    with pytest.raises(ValueError, match="valid choices"):
        models.ElmanRNN(models.RNNConfig(2, 1, init="orthogonal"))


def test_epochs_to_threshold():
    assert epochs_to_threshold([0.5, 0.3, 0.2], 0.25) == pytest.approx(2.5)
    assert epochs_to_threshold([0.3, 0.25], 0.25) == pytest.approx(2.0)
    assert epochs_to_threshold([0.5], 0.5) == pytest.approx(1.0)
    assert epochs_to_threshold([0.5, 0.4], 0.25) == math.inf
    # first epoch already below: a fraction of an epoch, interpolated from chance (0.9)
    assert epochs_to_threshold([0.1], 0.5) == pytest.approx(0.5)


def test_bootstrap_ratio_brackets_the_point_estimate():
    ratio, low, high = bootstrap_ratio([6.0, 6.5, 5.5, 6.2], [1.0, 1.1, 0.9, 1.0])
    assert ratio == pytest.approx(6.2 / 1.0, rel=0.05)
    assert low <= ratio <= high and high - low < 2
    same = bootstrap_ratio([2.0, 2.0], [1.0, 1.0])
    assert same == (2.0, 2.0, 2.0)


def test_unit_activity_counts_zeros_and_dead_units():
    net = models.mlp(models.MLPConfig(in_features=2, n_classes=2, width=3, depth=1))
    with torch.no_grad():
        net.hidden[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        net.hidden[0].bias.copy_(torch.tensor([0.0, 0.0, -1.0]))  # unit 3 is never positive
    x = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [2.0, 2.0], [-1.0, -1.0]])
    (layer,) = sparsity.unit_activity(net, x, batch=3)
    assert layer["dead"] == pytest.approx(1 / 3)
    # zeros: unit 1 off twice, unit 2 off twice, unit 3 off four times -> 8 of 12
    assert layer["zero"] == pytest.approx(8 / 12)
    assert layer["nonpositive"] == pytest.approx(8 / 12)


def test_fastest_learning_rate_and_ratio():
    run = lambda errs, diverged=False: {"train_error": errs, "seconds": [1.0] * len(errs),
                                        "diverged": diverged}
    runs = {("v", "relu", 0.1): [run([0.2]), run([0.2])],
            ("v", "relu", 0.3): [run([0.9], diverged=True)] * 2,
            ("v", "tanh", 0.1): [run([0.5, 0.2]), run([0.5, 0.2])],
            ("v", "tanh", 0.3): [run([0.5, 0.4, 0.3]), run([0.5, 0.4, 0.3])]}
    best = {a: krizhevsky.fastest(runs, "v", a, (0.1, 0.3), 0.25) for a in ("relu", "tanh")}
    assert best["relu"]["lr"] == 0.1 and best["tanh"]["lr"] == 0.1
    r = krizhevsky.ratio(best, "tanh", "relu")
    assert r["ratio"] == pytest.approx(best["tanh"]["epochs"][0] / best["relu"]["epochs"][0])
    never = dict(best, tanh={"lr": 0.3, "epochs": [math.inf] * 2, "seconds": [math.inf] * 2})
    assert krizhevsky.ratio(never, "tanh", "relu")["ratio"] == math.inf
