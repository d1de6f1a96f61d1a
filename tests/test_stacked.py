"""The one K-model trainer: each model of a stack trains as `train.train` trains it alone, for
every kind of model a K-model sweep of the book stacks."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from relu_tanh.data import Dataset
from relu_tanh.nets import models, recurrent as R
from relu_tanh.nets.cells import GatedConfig, GatedRNN
from relu_tanh.training.loop import History, TrainConfig, train
from relu_tanh.training.stacked import Member, Stacked, train_stacked

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def images(n_train: int = 64, n_test: int = 24) -> Dataset:
    """8x8 noisy images whose class (of 3) is where a bright blob sits; float64, so that a
    rounding difference (grouped vs plain convolutions) cannot flip a prediction."""
    g = torch.Generator().manual_seed(0)

    def sample(n):
        y = torch.randint(0, 3, (n,), generator=g)
        x = 0.3 * torch.randn(n, 1, 8, 8, generator=g, dtype=torch.float64)
        for k, (r, c) in enumerate([(1, 1), (1, 5), (5, 3)]):
            x[y == k, :, r:r + 2, c:c + 2] += 2.0
        return x, y
    return Dataset("shapes", "synthetic", *sample(n_train), *sample(n_test))


def signals(n_train: int = 64, n_test: int = 24) -> Dataset:
    """1-D signals (1 channel, length 12), 3 classes by the sign pattern of a bump."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n_train + n_test, 1, 12, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (n_train + n_test,), generator=g)
    x[:, 0, 4:8] += (y[:, None] - 1).double() * 1.5
    return Dataset("signals", "synthetic", x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def sequences(n_train: int = 64, n_test: int = 24, length: int = 7) -> Dataset:
    """A regression over short sequences (the mean of the first input channel)."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(n_train + n_test, length, 2, generator=g, dtype=torch.float64)
    y = x[:, :, :1].mean(1)
    return Dataset("seq", "synthetic", x[:n_train], y[:n_train], x[n_train:], y[n_train:])


class _First(nn.Module):
    """Model 0 of a native stack as an ordinary (B, ...) -> (B, ...) module, for train.train."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x[None])[0]


def _gated_single(cell: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return GatedRNN(GatedConfig(cell, 2, 1, 5, ("sigmoid",), ("tanh",))).double()


def _recurrent_single(kind: str, seed: int) -> nn.Module:
    """A debate kind alone, from PyTorch's fused kernels where they compute it (`Reference`)."""
    cfg = R.RecurrentConfig(kind, 2, 1, hidden=5, length=7)
    return R.Reference(cfg, R.init_params(cfg, torch.Generator().manual_seed(seed))).double()


def _native_gated(cell: str, seeds: list[int]) -> Stacked:
    singles = [_gated_single(cell, s) for s in seeds]
    stack = GatedRNN(GatedConfig(cell, 2, 1, 5, ("sigmoid",) * len(seeds), ("tanh",) * len(seeds)))
    stack.double()
    with torch.no_grad():
        for p, *qs in zip(stack.parameters(), *(s.parameters() for s in singles)):
            p.copy_(torch.cat(qs))
    return Stacked.native(stack)


def _native_recurrent(kind: str, seeds: list[int]) -> Stacked:
    cfg = R.RecurrentConfig(kind, 2, 1, hidden=5, length=7)
    return Stacked.native(R.Stack(cfg, seeds).double())


def _of(make) -> callable:
    def build(seeds):
        nets = []
        for s in seeds:
            torch.manual_seed(s)
            nets.append(make().double())
        return Stacked.of(nets)
    return build


def _alone(make):
    def build(seed):
        torch.manual_seed(seed)
        return make().double()
    return build


CONV = models.ConvNetConfig(in_channels=1, image_size=8, channels=(4, 4, 8), init="kaiming")
# kind: (stack builder, single-model builder, data, optimiser, clip, momentum)
KINDS = {
    "convnet": (_of(lambda: models.ConvNet(CONV)), _alone(lambda: models.ConvNet(CONV)), images,
                "sgd", 0.5, 0.9),
    "convnet+bn": (_of(lambda: models.ConvNet(dataclasses.replace(CONV, batch_norm=True))),
                   _alone(lambda: models.ConvNet(dataclasses.replace(CONV, batch_norm=True))),
                   images, "sgd", None, 0.9),
    "mlp": (_of(lambda: models.mlp(models.MLPConfig(12, 3, 8, 3))),
            _alone(lambda: models.mlp(models.MLPConfig(12, 3, 8, 3))), signals, "sgd", None, 0.9),
    "cnn1d": (_of(lambda: models.cnn(models.CNNConfig(1, 3, 1, 4, 2))),
              _alone(lambda: models.cnn(models.CNNConfig(1, 3, 1, 4, 2))), signals, "sgd", None, 0.9),
    "elman": (_of(lambda: models.ElmanRNN(models.RNNConfig(2, 1, 6, "relu"))),
              _alone(lambda: models.ElmanRNN(models.RNNConfig(2, 1, 6, "relu"))), sequences,
              "sgd", 0.3, 0.0),
    **{f"gated-{cell}": (lambda seeds, c=cell: _native_gated(c, seeds),
                         lambda seed, c=cell: _First(_gated_single(c, seed)), sequences,
                         "adam", 0.5, 0.9) for cell in ("lstm", "gru")},
    **{f"debate-{kind}": (lambda seeds, k=kind: _native_recurrent(k, seeds),
                          lambda seed, k=kind: _recurrent_single(k, seed), sequences,
                          "adam" if kind in ("lstm", "lru") else "sgd", 1.0, 0.9)
       for kind in R.KINDS},
}


def assert_same(got: History, alone: History, tol: float = 1e-9) -> None:
    assert (got.steps, got.diverged, got.diverged_at_step) == (
        alone.steps, alone.diverged, alone.diverged_at_step)
    for a, b in [(got.loss, alone.loss), (got.grad_norm, alone.grad_norm),
                 (got.layer_grad_norms, alone.layer_grad_norms),
                 (got.epoch_test_error, alone.epoch_test_error)]:
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    # train.train sums a regression's running error in float32
    torch.testing.assert_close(got.epoch_train_error, alone.epoch_train_error, rtol=1e-6, atol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_each_model_trains_as_it_would_alone(kind):
    """Per-model learning rates, data orders, clipping and (for the debate) optimisers: every
    model's logged losses, gradient norms (per layer too), and training and test errors match
    `train.train` on that model alone."""
    stack_of, alone_of, data, optimizer, clip, momentum = KINDS[kind]
    ds = data()
    cfg = TrainConfig(epochs=2, batch_size=16, optimizer=optimizer, clip=clip, momentum=momentum,
                      log_every=2)
    seeds, lrs = [3, 4, 3], [0.05, 0.02, 0.01]
    optimisers = [optimizer, "adam" if kind.startswith("debate") else optimizer, optimizer]
    clips = [clip, 0.1 if clip else None, clip]
    stack = [Member(lr, s, o, c) for lr, s, o, c in zip(lrs, seeds, optimisers, clips)]
    runs, clock = train_stacked(stack_of(seeds), stack, ds, cfg)
    assert len(clock["wall"]) == 2 * math.ceil(len(ds.x_train) / 16)
    for run, m in zip(runs, stack):
        alone = train(alone_of(m.seed), ds, dataclasses.replace(cfg, lr=m.lr, optimizer=m.optimizer,
                                                                clip=m.clip), seed=m.seed)
        assert not run.diverged and len(run.epoch_test_error) == 2
        assert_same(run, alone)


def test_trained_parameters_and_batch_norm_statistics_are_each_models_own():
    ds = images()
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.05, clip=0.5)
    make = lambda: models.ConvNet(dataclasses.replace(CONV, batch_norm=True))
    model = _of(make)([0, 1])
    train_stacked(model, [Member(0.05, 0, clip=0.5), Member(0.02, 1, clip=0.5)], ds, cfg)
    for k, (seed, lr) in enumerate([(0, 0.05), (1, 0.02)]):
        net = _alone(make)(seed)
        train(net, ds, dataclasses.replace(cfg, lr=lr), seed=seed)
        for name, value in [*net.named_parameters(), *net.named_buffers()]:
            stacked = {**model.params, **model.buffers}[name][k]
            torch.testing.assert_close(stacked, value.detach(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("log_every", [2, 1000])  # caught at a logged step, or at the epoch's end
def test_a_diverging_model_is_marked_and_the_others_train_on(log_every):
    ds = signals()
    cfg = TrainConfig(epochs=2, batch_size=16, log_every=log_every)
    make = lambda: models.mlp(models.MLPConfig(12, 3, 8, 3))
    stack = [Member(0.05, 0), Member(1e30, 0), Member(0.05, 1)]
    runs, _ = train_stacked(_of(make)([0, 0, 1]), stack, ds, cfg)
    for run, m in zip(runs, stack):
        alone = train(_alone(make)(0 if m.seed == 0 else 1), ds,
                      dataclasses.replace(cfg, lr=m.lr), seed=m.seed)
        assert_same(run, alone)
    assert runs[1].diverged and not runs[0].diverged and not runs[2].diverged


def test_each_model_stops_where_train_would():
    ds = images()
    cfg = TrainConfig(epochs=4, batch_size=16, clip=0.5)
    make = lambda: models.ConvNet(CONV)
    stack = [Member(0.05, 0, clip=0.5), Member(0.001, 0, clip=0.5)]
    runs, _ = train_stacked(_of(make)([0, 0]), stack, ds, cfg, stop_below=0.5)
    for run, m in zip(runs, stack):
        alone = train(_alone(make)(0), ds, dataclasses.replace(cfg, lr=m.lr), seed=0, stop_below=0.5)
        assert_same(run, alone)
    assert len(runs[0].epoch_train_error) < len(runs[1].epoch_train_error) == 4


def test_a_step_budget_draws_with_replacement_evaluates_and_constrains():
    """The debate's budget: batches drawn with replacement from each seed's generator, test
    error every eval_every steps, a blow-up marks a model diverged, IndRNN's bound holds."""
    ds = sequences()
    cfg = TrainConfig(batch_size=8, log_every=1000)
    rcfg = R.RecurrentConfig("indrnn", 2, 1, hidden=5, length=7)
    stack = [Member(0.05, 0, "sgd", 1.0), Member(1e4, 1, "sgd", 1e30), Member(0.01, 2, "adam", 1.0)]
    model = Stacked.native(R.Stack(rcfg, [0, 1, 2]).double())
    bound = rcfg.indrnn_bound
    runs, clock = train_stacked(model, stack, ds, cfg, steps=6, eval_every=3, eval_examples=16,
                                blowup=1.0, constrain=lambda p: p["u"].clamp_(-bound, bound))
    assert model.params["u"].abs().max() <= bound
    assert [s for s, _ in runs[0].evals] == [3, 6] and runs[1].diverged_at_step == 3
    for k in (0, 2):  # against model k alone, steps drawn the same way
        ref = _recurrent_single("indrnn", k)
        ref.stack.cfg = rcfg
        opt = (torch.optim.SGD(ref.parameters(), lr=stack[k].lr, momentum=0.9) if k == 0
               else torch.optim.Adam(ref.parameters(), lr=stack[k].lr))
        gen, evals = torch.Generator().manual_seed(k), []
        for step in range(1, 7):
            idx = torch.randint(0, len(ds.x_train), (8,), generator=gen)
            opt.zero_grad()
            nn.functional.mse_loss(ref(ds.x_train[idx]), ds.y_train[idx]).backward()
            nn.utils.clip_grad_norm_(ref.parameters(), 1.0)
            opt.step()
            ref.stack.constrain()
            if step % 3 == 0:
                with torch.no_grad():
                    evals.append(nn.functional.mse_loss(ref(ds.x_test[:16]), ds.y_test[:16]).item())
        torch.testing.assert_close([e for _, e in runs[k].evals], evals, rtol=1e-9, atol=1e-12)


def test_mismatched_members_and_architectures_are_refused():
    with pytest.raises(ValueError, match="valid choices: sgd, adam"):
        Member(0.1, 0, "rmsprop")
    with pytest.raises(ValueError, match="one architecture"):
        Stacked.of([models.ConvNet(CONV), models.ConvNet(dataclasses.replace(CONV, channels=(4, 4, 4)))])
    with pytest.raises(ValueError, match="one member per model"):
        train_stacked(_of(lambda: models.ConvNet(CONV))([0, 1]), [Member(0.1, 0)], images(),
                      TrainConfig())
