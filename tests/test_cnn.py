"""The CNN chapters' building blocks: the layers-18pct network and its response normalisation,
the 2012 input pipeline, fan-in matched weight scales, epochs to threshold, dead-unit counting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from relu_tanh import data
from relu_tanh.nets import models
from relu_tanh.experiments import krizhevsky, sparsity
from relu_tanh.training.loop import epochs_to_threshold


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


def test_response_norm_matches_cuda_convnets_formula():
    """u / (1 + scale / size^2 * sum of u^2 over the size x size window, cut at the edge)^pow."""
    g = torch.Generator().manual_seed(0)
    x = 30 * torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    size, scale, power = 3, 5e-5, 0.75
    expect = torch.empty_like(x)
    for n, c, i, j in itertools.product(*map(range, x.shape)):
        window = x[n, c, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
        expect[n, c, i, j] = x[n, c, i, j] / (1 + scale / size**2 * (window**2).sum()) ** power
    torch.testing.assert_close(models.ResponseNorm(size, scale, power)(x), expect)


def test_rnorm_follows_the_first_two_poolings_only():
    net = models.ConvNet(models.ConvNetConfig(rnorm=True))
    assert [type(r).__name__ for r in net.rnorms] == ["ResponseNorm", "ResponseNorm", "Identity"]
    assert all(isinstance(r, torch.nn.Identity) for r in models.ConvNet(models.ConvNetConfig()).rnorms)


def test_raw_pixels_are_the_stored_bytes():
    with np.load(data.ASSETS / "fashion_mnist_small.npz") as a:
        stored = torch.from_numpy(a["x_train"][:64]).float()
    raw = krizhevsky.raw_pixels("fashion-mnist-small", 64, 8)
    assert torch.equal(raw.x_train[:, 0], stored)
    padded = krizhevsky.raw_pixels("fashion-mnist-small", 64, 8, downsample=2, side=16)
    assert padded.input_shape == (1, 16, 16)
    assert torch.equal(padded.x_train[:, 0, 1:15, 1:15], F.avg_pool2d(stored[:, None], 2)[:, 0])
    assert padded.x_train[:, :, 0].abs().max() == 0  # the border is black, as the background
    with pytest.raises(ValueError, match="valid"):
        krizhevsky.raw_pixels("mnist1d", 8, 8)


def test_the_2012_input_is_mean_subtracted_raw_pixels_without_scaling():
    raw = krizhevsky.raw_pixels("fashion-mnist-small", 256, 64)
    x = krizhevsky.pipeline_input(raw, "mean-image")
    torch.testing.assert_close(x.x_train.mean(0), torch.zeros(1, 28, 28), atol=1e-3, rtol=0)
    torch.testing.assert_close(x.x_train, raw.x_train - raw.x_train.mean(0))
    assert 40 < x.x_train.std() < 120  # pixel units (0-255), not unit variance
    torch.testing.assert_close(x.x_test, raw.x_test - raw.x_train.mean(0))  # train statistics
    z = krizhevsky.pipeline_input(raw, "standardised").x_train
    assert abs(z.mean()) < 1e-4 and z.std() == pytest.approx(1, abs=1e-3)
    with pytest.raises(ValueError, match="valid"):
        krizhevsky.pipeline_input(raw, "whitened")


def test_matched_stds_keep_each_layers_starting_scale():
    assert krizhevsky.matched_stds(models.ConvNetConfig()) == pytest.approx(models.SMALL_GAUSSIAN_STDS)
    small = models.ConvNetConfig(in_channels=1, image_size=16, channels=(16, 16, 32))
    assert krizhevsky.fan_ins(small) == [25, 400, 400, 32 * 2 * 2]
    stds = krizhevsky.matched_stds(small)
    for std, ref, n_ref, n in zip(stds, models.SMALL_GAUSSIAN_STDS, [75, 800, 800, 1024],
                                  krizhevsky.fan_ins(small)):
        assert std**2 * n == pytest.approx(ref**2 * n_ref)  # equal Var(z) per unit-variance input


def test_pipelines_build_the_networks_they_name():
    raw = krizhevsky.raw_pixels("fashion-mnist-small", 8, 8, 2, 16)
    cfg = krizhevsky.BOOK
    nets = {v: models.ConvNet(krizhevsky.pipeline_config(cfg, raw, v, "tanh")) for v in cfg.variants}
    assert isinstance(nets["2012"].rnorms[0], models.ResponseNorm)
    assert nets["2012"].hidden[0].weight.std().item() == pytest.approx(
        krizhevsky.matched_stds(krizhevsky.pipeline_config(cfg, raw, "2012", "tanh"))[0], rel=0.3)
    assert isinstance(nets["bn"].norms[0], torch.nn.BatchNorm2d)
    assert not isinstance(nets["modern"].norms[0], torch.nn.BatchNorm2d)
    with pytest.raises(ValueError, match="valid"):
        krizhevsky.Figure1Config(variants=("2012", "1998"))


def test_signal_at_init_shows_the_input_scale_effect():
    rows = {r["pipeline"]: r for r in krizhevsky.signal_at_init(krizhevsky.BOOK, n=64)}
    assert rows["2012"]["input_rms"] > 30 and rows["modern"]["input_rms"] == pytest.approx(1, abs=0.01)
    ratio = rows["2012"]["conv1_rms"] / rows["standardised + 2012 stds"]["conv1_rms"]
    assert ratio == pytest.approx(rows["2012"]["input_rms"], rel=0.25)  # about, by (k-rms)
