"""The training loop: it learns, clips, records divergence instead of raising, and logs on schedule."""

from __future__ import annotations

import math

import pytest
import torch

from relu_tanh.nets import models
from relu_tanh.data import Dataset
from relu_tanh.training.loop import History, TrainConfig, error_rate, make_optimizer, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blobs(n_train: int = 128, n_test: int = 64, seed: int = 0) -> Dataset:
    """Two well-separated Gaussian blobs in 2-D, shaped (N, 1, 2) like the real datasets."""
    g = torch.Generator().manual_seed(seed)

    def sample(n):
        y = torch.randint(0, 2, (n,), generator=g)
        x = torch.randn(n, 2, generator=g) * 0.5 + (2.0 * y[:, None] - 1) * 2.0
        return x.unsqueeze(1), y

    return Dataset("blobs", "synthetic", *sample(n_train), *sample(n_test))


def net(depth: int = 2, activation: str = "relu", seed: int = 0) -> models.DeepNet:
    torch.manual_seed(seed)
    return models.build(models.MLPConfig(2, 2, width=16, depth=depth, activation=activation))


def flat_params(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


def test_training_lowers_the_loss_on_a_separable_task():
    ds = blobs()
    model = net()
    before = error_rate(model, ds.x_test, ds.y_test)
    hist = train(model, ds, TrainConfig(epochs=15, batch_size=32, lr=0.1, log_every=1), seed=0)
    assert not hist.diverged and hist.diverged_at_step is None
    first, last = sum(hist.loss[:4]) / 4, sum(hist.loss[-4:]) / 4
    assert last < 0.3 * first
    assert hist.final_test_error <= 0.05 and hist.final_test_error <= before
    assert hist.epoch_train_error[-1] < hist.epoch_train_error[0] or hist.epoch_train_error[0] == 0


def test_adam_also_trains():
    ds = blobs()
    hist = train(net(), ds, TrainConfig(epochs=10, batch_size=32, lr=0.01, optimizer="adam"), seed=0)
    assert hist.final_test_error <= 0.05


def test_unknown_optimizer_lists_choices():
    with pytest.raises(ValueError, match="sgd, adam"):
        make_optimizer(net(), TrainConfig(optimizer="rmsprop"))  # type: ignore[arg-type]


def test_history_lengths_and_log_schedule():
    ds = blobs(n_train=100)
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.05, log_every=5)  # 4 batches per epoch
    hist = train(net(depth=3), ds, cfg, seed=1)
    n_steps = 3 * math.ceil(100 / 32)
    assert hist.steps == list(range(0, n_steps, 5))
    assert len(hist.loss) == len(hist.grad_norm) == len(hist.layer_grad_norms) == len(hist.steps)
    assert all(len(row) == 3 + 1 for row in hist.layer_grad_norms)
    assert len(hist.epoch_train_error) == len(hist.epoch_test_error) == 3
    assert all(0 <= e <= 1 for e in hist.epoch_train_error + hist.epoch_test_error)
    assert all(math.isfinite(v) and v > 0 for v in hist.loss + hist.grad_norm)


@pytest.mark.parametrize("log_every", [1, 3, 1000])
def test_log_every_is_respected(log_every):
    ds = blobs(n_train=64)
    hist = train(net(), ds, TrainConfig(epochs=2, batch_size=16, log_every=log_every), seed=0)
    assert hist.steps == list(range(0, 8, log_every))


def test_same_seed_same_history():
    ds = blobs()
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.1, log_every=1)
    a, b = train(net(seed=3), ds, cfg, seed=5), train(net(seed=3), ds, cfg, seed=5)
    assert a.loss == b.loss and a.epoch_test_error == b.epoch_test_error
    c = train(net(seed=3), ds, cfg, seed=6)  # another shuffle
    assert c.loss != a.loss


def one_step(clip: float | None) -> tuple[History, float]:
    """One full-batch SGD step (lr 1, no momentum): the recorded norm and the step's length."""
    ds = blobs(n_train=64)
    model = net(depth=3)
    before = flat_params(model)
    cfg = TrainConfig(epochs=1, batch_size=64, lr=1.0, momentum=0.0, clip=clip, log_every=1)
    hist = train(model, ds, cfg, seed=0)
    return hist, float((flat_params(model) - before).norm())


def test_without_clipping_the_step_is_the_gradient():
    hist, step = one_step(None)
    assert len(hist.grad_norm) == 1
    assert step == pytest.approx(hist.grad_norm[0], rel=1e-4)


@pytest.mark.parametrize("factor", [0.5, 0.05])
def test_clipping_bounds_the_update_but_not_the_recorded_norm(factor):
    unclipped, _ = one_step(None)
    c = factor * unclipped.grad_norm[0]
    hist, step = one_step(c)
    assert hist.grad_norm[0] > c  # the record is the norm before clipping
    assert hist.grad_norm[0] == pytest.approx(unclipped.grad_norm[0], rel=1e-6)
    assert step <= c * (1 + 1e-5)
    assert step == pytest.approx(c, rel=1e-4)  # a clipped step has exactly the clip length


def test_clip_above_the_norm_changes_nothing():
    unclipped, step_free = one_step(None)
    hist, step = one_step(10 * unclipped.grad_norm[0])
    assert step == pytest.approx(step_free, rel=1e-6)


def test_huge_learning_rate_is_recorded_as_divergence():
    ds = blobs()
    cfg = TrainConfig(epochs=5, batch_size=32, lr=1e20, log_every=1)
    hist = train(net(), ds, cfg, seed=0)  # must not raise
    assert hist.diverged is True
    assert hist.diverged_at_step is not None and 0 < hist.diverged_at_step < 5 * 4
    assert hist.steps == list(range(hist.diverged_at_step))  # logged up to the bad step
    assert all(math.isfinite(v) for v in hist.loss)
    assert len(hist.epoch_test_error) < 5
    if hist.epoch_test_error:  # epochs finished before the divergence keep their error
        assert hist.final_test_error == hist.epoch_test_error[-1]
    else:
        assert math.isnan(hist.final_test_error)


def test_infinite_input_diverges_at_step_zero():
    ds = blobs()
    x = ds.x_train.clone()
    x[:] = math.inf
    bad = Dataset("bad", "t", x, ds.y_train, ds.x_test, ds.y_test)
    hist = train(net(), bad, TrainConfig(epochs=3, batch_size=32, log_every=1), seed=0)
    assert hist.diverged and hist.diverged_at_step == 0
    assert hist.steps == [] and hist.loss == [] and hist.epoch_test_error == []
    assert math.isnan(hist.final_test_error)


def test_divergence_between_logged_steps_is_caught_at_the_epoch_end():
    ds = blobs()
    x = ds.x_train.clone()
    x[:] = math.inf
    bad = Dataset("bad", "t", x, ds.y_train, ds.x_test, ds.y_test)
    hist = train(net(), bad, TrainConfig(epochs=3, batch_size=32, log_every=1000), seed=0)
    assert hist.diverged and hist.diverged_at_step is not None
    assert len(hist.epoch_train_error) <= 1  # stopped after the first epoch


def test_error_rate_keeps_the_training_mode():
    ds = blobs()
    model = net()
    model.train()
    e = error_rate(model, ds.x_test, ds.y_test, batch_size=7)
    assert model.training and 0 <= e <= 1
    model.eval()
    assert error_rate(model, ds.x_test, ds.y_test) == e and not model.training
