"""K ConvNets trained as one batched model train exactly like K separate `train.train` runs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from relu_tanh.training import batched
from relu_tanh.training.batched import train_batched
from relu_tanh.data import Dataset
from relu_tanh.nets.models import ConvNet, ConvNetConfig
from relu_tanh.training.loop import History, TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ConvNetConfig(in_channels=1, image_size=8, channels=(4, 4, 8), init="kaiming")


def shapes(n_train: int = 100, n_test: int = 40, dtype: torch.dtype = torch.float64) -> Dataset:
    """Noisy 8x8 images whose class (of 3) is where a bright 2x2 blob sits. Float64 by default,
    so that rounding differences (grouped vs. plain convolutions) cannot flip a prediction."""
    g = torch.Generator().manual_seed(0)

    def sample(n):
        y = torch.randint(0, 3, (n,), generator=g)
        x = 0.3 * torch.randn(n, 1, 8, 8, generator=g, dtype=dtype)
        for k, (r, c) in enumerate([(1, 1), (1, 5), (5, 3)]):
            x[y == k, :, r:r + 2, c:c + 2] += 2.0
        return x, y

    return Dataset("shapes", "synthetic", *sample(n_train), *sample(n_test))


def separate(config: ConvNetConfig, lr: float, seed: int, data: Dataset, cfg: TrainConfig,
             stop_below: float | None) -> tuple[History, torch.nn.Module]:
    torch.manual_seed(seed)
    model = ConvNet(config).to(data.x_train.dtype)
    hist = train(model, data, dataclasses.replace(cfg, lr=lr), seed=seed, stop_below=stop_below)
    return hist, model


def assert_same_histories(got: History, alone: History, tol: float) -> None:
    assert got.epoch_train_error == alone.epoch_train_error  # identical, not close
    assert got.epoch_test_error == alone.epoch_test_error
    assert (got.steps, got.diverged, got.diverged_at_step) == (
        alone.steps, alone.diverged, alone.diverged_at_step)
    for a, b in [(got.loss, alone.loss), (got.grad_norm, alone.grad_norm),
                 (got.layer_grad_norms, alone.layer_grad_norms)]:
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def stacked_params(monkeypatch) -> dict[str, torch.Tensor]:
    """Filled with train_batched's stacked (K, ...) parameters, which it updates in place."""
    stacked = {}

    def spy(nets):
        params, buffers = torch.func.stack_module_state(nets)
        stacked.update(params)
        return params, buffers

    monkeypatch.setattr(batched, "stack_module_state", spy)
    return stacked


def check_against_separate(hists, stacked, configs, lrs, seeds, data, cfg, stop_below=None):
    """Histories as `train.train` records them, and final parameters equal up to rounding."""
    tol = 1e-5 if data.x_train.dtype == torch.float32 else 1e-10
    for k, (config, lr, seed) in enumerate(zip(configs, lrs, seeds)):
        alone, model = separate(config, lr, seed, data, cfg, stop_below)
        assert_same_histories(hists[k], alone, tol)
        if not alone.diverged:
            for name, p in model.named_parameters():
                torch.testing.assert_close(stacked[name][k], p.detach(), rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("clip", [None, 0.5])
def test_batched_models_train_exactly_like_separate_ones(clip, dtype, monkeypatch):
    data, cfg = shapes(dtype=dtype), TrainConfig(epochs=2, batch_size=16, clip=clip, log_every=3)
    configs = [TINY, dataclasses.replace(TINY, init="small_gaussian"), TINY]
    lrs, seeds = [0.05, 0.1, 0.02], [0, 1, 2]
    stacked = stacked_params(monkeypatch)
    hists = train_batched(configs, lrs, seeds, data, cfg)
    assert all(len(h.epoch_train_error) == 2 and not h.diverged for h in hists)
    check_against_separate(hists, stacked, configs, lrs, seeds, data, cfg)


def test_batch_normalised_models_train_like_separate_ones(monkeypatch):
    """Each model keeps its own running statistics, used for its test error."""
    data, cfg = shapes(), TrainConfig(epochs=2, batch_size=16, log_every=3)
    config = dataclasses.replace(TINY, batch_norm=True)
    lrs, seeds = [0.05, 0.1, 0.2], [0, 1, 2]
    stacked = stacked_params(monkeypatch)
    hists = train_batched([config] * 3, lrs, seeds, data, cfg)
    assert len({tuple(h.epoch_test_error) for h in hists}) > 1
    check_against_separate(hists, stacked, [config] * 3, lrs, seeds, data, cfg)


def test_response_normalised_models_train_like_separate_ones(monkeypatch):
    data, cfg = shapes(), TrainConfig(epochs=2, batch_size=16, log_every=3)
    config = dataclasses.replace(TINY, init="small_gaussian", rnorm=True)
    lrs, seeds = [0.05, 0.1], [0, 1]
    stacked = stacked_params(monkeypatch)
    hists = train_batched([config] * 2, lrs, seeds, data, cfg)
    check_against_separate(hists, stacked, [config] * 2, lrs, seeds, data, cfg)


@pytest.mark.parametrize("log_every", [4, 1000])  # caught at a logged step, or at the epoch's end
def test_a_diverging_model_is_masked_and_the_others_train_on(log_every, monkeypatch):
    data, cfg = shapes(), TrainConfig(epochs=2, batch_size=16, log_every=log_every)
    configs, lrs, seeds = [TINY] * 3, [0.05, 1e20, 0.02], [0, 1, 2]
    stacked = stacked_params(monkeypatch)
    hists = train_batched(configs, lrs, seeds, data, cfg)
    assert [h.diverged for h in hists] == [False, True, False]
    assert hists[1].diverged_at_step == min(log_every, 7) and hists[1].epoch_train_error == []
    assert len(hists[0].epoch_train_error) == len(hists[2].epoch_train_error) == 2
    check_against_separate(hists, stacked, configs, lrs, seeds, data, cfg)


def test_each_model_stops_where_train_would(monkeypatch):
    data, cfg = shapes(), TrainConfig(epochs=6, batch_size=16)
    lrs, seeds = [0.05, 0.1, 0.02], [0, 1, 2]
    stacked = stacked_params(monkeypatch)
    hists = train_batched([TINY] * 3, lrs, seeds, data, cfg, stop_below=0.4)
    assert [len(h.epoch_train_error) for h in hists] == [4, 2, 2]  # they stop at different epochs
    check_against_separate(hists, stacked, [TINY] * 3, lrs, seeds, data, cfg, stop_below=0.4)


@pytest.mark.parametrize("other", [dataclasses.replace(TINY, channels=(4, 4, 4)),
                                   dataclasses.replace(TINY, activation="tanh")])
def test_mismatched_architectures_are_refused(other):
    with pytest.raises(ValueError, match="one architecture"):
        train_batched([TINY, other], [0.1, 0.1], [0, 1], shapes(), TrainConfig(epochs=1))


def test_throughput_smoke():
    row = batched.throughput(TINY, shapes(32, 4, torch.float32), batch_size=16, steps=2,
                             ks=(1, 2), repeats=1)
    assert set(row) == {"train_images_per_s", "bare_images_per_s", "batched_k1_images_per_s",
                        "batched_k2_images_per_s", "train_over_bare"}
    assert all(v > 0 for v in row.values())
