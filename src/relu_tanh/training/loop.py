"""One training loop for every experiment: full-batch data on the device, SGD or Adam,
gradient-norm clipping, per-step metrics, and divergence recorded instead of raised."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import torch
from torch import nn
from tqdm import tqdm

from ..data import Dataset


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.01
    optimizer: Literal["sgd", "adam"] = "sgd"
    momentum: float = 0.9
    clip: float | None = None  # max global gradient norm; None: no clipping
    log_every: int = 10  # steps between recorded metrics (each costs one host sync)
    # images in channels-last memory: 1.3-1.7x faster convolutions on a CPU (oneDNN), the same
    # fp32 arithmetic in another order (scripts/bench_cifar_step.py)
    channels_last: bool = False


@dataclass
class History:
    """What one run measured. Per-step lists share the index `steps`; per-epoch lists have one
    entry per finished epoch. `layer_grad_norms[i][k]` is layer k's weight-gradient norm at step i."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)  # before clipping
    layer_grad_norms: list[list[float]] = field(default_factory=list)
    epoch_train_error: list[float] = field(default_factory=list)  # running error over the epoch
    epoch_test_error: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # wall clock at each epoch's end
    diverged: bool = False
    diverged_at_step: int | None = None

    @property
    def final_test_error(self) -> float:
        return self.epoch_test_error[-1] if self.epoch_test_error else math.nan


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; valid choices: sgd, adam")


def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for class labels, mean squared error for float targets."""
    if y.is_floating_point():
        return nn.functional.mse_loss(out, y)
    return nn.functional.cross_entropy(out, y)


def errors(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Summed error of a batch: misclassified examples, or squared error for float targets
    (so an "error rate" of a regression task is its mean squared error)."""
    if y.is_floating_point():
        return ((out - y) ** 2).mean(dim=tuple(range(1, y.dim()))).sum()
    return (out.argmax(1) != y).sum()


@torch.no_grad()
def error_rate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2048) -> float:
    """Fraction of misclassified examples (MSE for float targets), evaluated in eval mode."""
    was_training = model.training
    model.eval()
    wrong = sum(float(errors(model(x[i:i + batch_size]), y[i:i + batch_size]))
                for i in range(0, len(x), batch_size))
    model.train(was_training)
    return wrong / len(x)


def train(model: nn.Module, data: Dataset, cfg: TrainConfig, *, seed: int, device: str = "cpu",
          progress: bool = False, on_log: Callable[[int, nn.Module], None] | None = None,
          stop_below: float | None = None, resume: dict[str, Any] | None = None,
          until_epoch: int | None = None,
          on_stop: Callable[[dict[str, Any]], None] | None = None) -> History:
    """Train `model` on `data` with cross-entropy (MSE for float targets); stop early, marked diverged, on a NaN/inf loss
    or gradient (detected at the next logged step or epoch end, without a per-step host sync).

    `on_log(step, model)` runs at every logged step (diagnostics during training); with
    `stop_below`, training ends after the first epoch whose running error is below it.
    A run can go in spans: `until_epoch` ends this call after that many epochs in all,
    `on_stop(state)` receives the state where it ended (`train_state`), and `resume=state`
    continues from it, bitwise as if never stopped (the same device and threads)."""
    fmt = torch.channels_last if cfg.channels_last else torch.preserve_format
    model.to(device, memory_format=fmt)
    x, y = _layout(data.x_train.to(device), fmt), data.y_train.to(device)
    x_test, y_test = _layout(data.x_test.to(device), fmt), data.y_test.to(device)
    opt = make_optimizer(model, cfg)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    hist, step, offset = History(), 0, 0.0
    if resume is not None:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        gen.set_state(resume["generator"])
        hist, step = History(**resume["history"]), resume["step"]
        offset = hist.epoch_seconds[-1] if hist.epoch_seconds else 0.0
    weights = [m.weight for m in model.weight_layers()] if hasattr(model, "weight_layers") else []
    max_norm = cfg.clip if cfg.clip is not None else math.inf
    last = min(cfg.epochs, until_epoch if until_epoch is not None else cfg.epochs)
    bar = tqdm(total=(last - len(hist.epoch_train_error)) * math.ceil(len(x) / cfg.batch_size),
               disable=not progress, leave=False)
    start = time.perf_counter() - offset
    for _ in range(len(hist.epoch_train_error), last):
        wrong = torch.zeros((), device=device)
        for idx in torch.randperm(len(x), generator=gen).to(device).split(cfg.batch_size):
            out = model(x[idx])
            loss = loss_fn(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            logging = step % cfg.log_every == 0
            if logging or cfg.clip is not None:  # an unclipped step needs no norm in between
                layer_norms = [w.grad.norm() for w in weights] if logging else []  # before clipping
                norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            if logging and not _log(hist, step, loss, norm, layer_norms):
                break
            if logging and on_log is not None:
                on_log(step, model)
            opt.step()
            wrong += errors(out.detach(), y[idx])
            step += 1
            bar.update()
        if hist.diverged or not _finite(loss, _grad_norm(model)):
            _mark_diverged(hist, step)
            break
        hist.epoch_train_error.append(float(wrong) / len(x))
        hist.epoch_test_error.append(error_rate(model, x_test, y_test))
        hist.epoch_seconds.append(time.perf_counter() - start)
        if stop_below is not None and hist.epoch_train_error[-1] < stop_below:
            break
    bar.close()
    if on_stop is not None:
        on_stop(train_state(model, opt, gen, step, hist))
    return hist


def train_state(model: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator, step: int,
                hist: History) -> dict[str, Any]:
    """What `train(resume=...)` continues from: weights, optimiser, data-order RNG, step, history."""
    return {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "generator": gen.get_state(), "step": step, "history": dataclasses.asdict(hist)}


def _layout(x: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    return x.contiguous(memory_format=fmt) if x.dim() == 4 else x


def _grad_norm(model: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])) if grads else torch.zeros(())


def _finite(*values: torch.Tensor) -> bool:
    return all(map(math.isfinite, torch.stack([v.detach() for v in values]).tolist()))


def _log(hist: History, step: int, loss: torch.Tensor, norm: torch.Tensor,
         layer_norms: list[torch.Tensor]) -> bool:
    """Record one step's metrics with one host sync; False (and the run marked diverged) when
    they are not finite."""
    loss_v, norm_v, *layer_v = torch.stack([loss.detach(), norm, *layer_norms]).tolist()
    if not all(map(math.isfinite, (loss_v, norm_v, *layer_v))):
        _mark_diverged(hist, step)
        return False
    hist.steps.append(step)
    hist.loss.append(loss_v)
    hist.grad_norm.append(norm_v)
    hist.layer_grad_norms.append(layer_v)
    return True


def _mark_diverged(hist: History, step: int) -> None:
    if not hist.diverged:
        hist.diverged, hist.diverged_at_step = True, step


def epochs_to_threshold(errors: list[float], threshold: float, start: float = 0.9) -> float:
    """Fractional epochs until the running training error first reaches `threshold`.

    `errors[k]` is the running error over epoch k+1. Between epoch ends the error is taken as
    linear, starting from `start` (chance on 10 classes) at epoch 0; inf if never reached.
    Krizhevsky et al. (2012, Figure 1) count epochs to 25% training error this way, without
    the interpolation."""
    prev = start
    for k, err in enumerate(errors):
        if err <= threshold:
            frac = (prev - threshold) / (prev - err) if prev > err else 1.0
            return k + min(max(frac, 0.0), 1.0)
        prev = err
    return math.inf
