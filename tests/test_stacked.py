"""Stacked training reproduces train.train model by model; dead channels and the saturation
course are counted as the chapters define them."""

from __future__ import annotations

import math

import pytest
import torch

from relu_tanh import data
from relu_tanh.measure import diagnostics
from relu_tanh.nets import models
from relu_tanh.training import stacked
from relu_tanh.experiments import saturation, sparsity
from relu_tanh.training.loop import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_data(n: int = 96, length: int = 12, seed: int = 0) -> data.Dataset:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, 1, length, generator=g), torch.randint(0, 4, (n,), generator=g)
    return data.Dataset("tiny", "random signals", x, y, x[:32], y[:32])


def make(arch: str, init: str, seed: int) -> models.DeepNet:
    torch.manual_seed(seed)
    cfg = (models.MLPConfig(12, 4, width=8, depth=3, activation="tanh", init=init) if arch == "mlp"
           else models.CNNConfig(1, 4, 1, channels=4, depth=3, activation="tanh", init=init))
    return models.build(cfg)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_train_stacked_matches_train_model_by_model(arch):
    ds = tiny_data()
    cfg = TrainConfig(epochs=2, batch_size=16, momentum=0.9, log_every=2)
    cells = [("default", 0.05, 0), ("xavier", 0.2, 1), ("kaiming", 0.01, 2)]
    nets = [make(arch, init, seed) for init, _, seed in cells]
    hists = stacked.train_stacked(nets, ds, cfg, [lr for _, lr, _ in cells], [s for *_, s in cells])
    for (init, lr, seed), net, hist in zip(cells, nets, hists):
        ref = make(arch, init, seed)
        expect = train(ref, ds, TrainConfig(**{**vars(cfg), "lr": lr}), seed=seed)
        assert hist.steps == expect.steps
        assert hist.loss == pytest.approx(expect.loss, rel=1e-4, abs=1e-6)
        assert hist.epoch_train_error == pytest.approx(expect.epoch_train_error)
        assert hist.epoch_test_error == pytest.approx(expect.epoch_test_error)
        flat = lambda rows: [g for row in rows for g in row]
        assert flat(hist.layer_grad_norms) == pytest.approx(flat(expect.layer_grad_norms), rel=1e-3)
        for p, q in zip(net.parameters(), ref.parameters()):  # trained weights written back
            assert torch.allclose(p, q, atol=1e-5)


def test_layer_grad_norms_match_the_diagnostic():
    ds = tiny_data()
    nets = [make("cnn", i, 0) for i in ("default", "xavier")]
    x, y = ds.x_train[:32], ds.y_train[:32]
    got = stacked.layer_grad_norms(nets, x, y)
    for net, norms in zip(nets, got):
        assert norms == pytest.approx(diagnostics.layer_grad_norms(net, x, y), rel=1e-4)


def test_diverged_model_is_marked_and_does_not_touch_the_others():
    ds = tiny_data()
    cfg = TrainConfig(epochs=2, batch_size=16, momentum=0.9, log_every=1)
    nets = [make("mlp", "kaiming", 0) for _ in range(2)]
    hists = stacked.train_stacked(nets, ds, cfg, [math.inf, 0.05], [0, 0])
    assert hists[0].diverged and not hists[1].diverged
    expect = train(make("mlp", "kaiming", 0), ds, TrainConfig(**{**vars(cfg), "lr": 0.05}), seed=0)
    assert hists[1].epoch_train_error == pytest.approx(expect.epoch_train_error)


def test_train_stacked_rejects_what_it_cannot_do():
    ds, net = tiny_data(), make("mlp", "default", 0)
    with pytest.raises(ValueError, match="as many"):
        stacked.train_stacked([net], ds, TrainConfig(), [0.1, 0.2], [0])
    with pytest.raises(ValueError, match="plain SGD"):
        stacked.train_stacked([net], ds, TrainConfig(optimizer="adam"), [0.1], [0])


def test_dead_channel_is_off_at_every_position_of_every_example():
    net = models.cnn(models.CNNConfig(1, 2, 1, channels=3, depth=1, kernel_size=1, activation="relu"))
    with torch.no_grad():
        net.hidden[0].weight.copy_(torch.tensor([[[1.0]], [[-1.0]], [[0.0]]]))
        net.hidden[0].bias.copy_(torch.tensor([0.0, 0.0, -1.0]))
    # channel 1 is on where x > 0, channel 2 where x < 0, channel 3 never: one of three dead,
    # although every (channel, position) pair of channels 1 and 2 is off somewhere
    x = torch.tensor([[[1.0, -1.0, 2.0]], [[-1.0, 1.0, -2.0]]])
    (layer,) = sparsity.unit_activity(net, x)
    assert layer["dead"] == pytest.approx(1 / 3)
    assert layer["zero"] == pytest.approx(12 / 18)  # 3 + 3 + 6 zeros of 18 outputs


def test_top_layer_course_reads_one_run():
    stat = lambda share: [{"frac_saturated": 0.0}, {"frac_saturated": share}]
    row = {"steps": [0, 10, 20, 30, 40], "stats": [stat(v) for v in (0.1, 0.8, 0.7, 0.5, 0.3)]}
    c = saturation.top_layer_course(row)
    assert c["peak"] == 0.8 and c["peak_at"] == pytest.approx(0.25)
    assert c["rise_steps"] == 10 and c["fall_steps"] == 30 and c["end"] == 0.3
    never = {"steps": [0, 10, 20], "stats": [stat(v) for v in (0.1, 0.8, 0.7)]}
    assert saturation.top_layer_course(never)["fall_steps"] == math.inf
