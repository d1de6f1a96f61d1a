"""Chapter 2: do gradients vanish in deep sigmoid and tanh networks, and does init matter?

Two experiments on MNIST-1D, over activation x initialisation x depth, for MLPs and CNNs:
``vanishing_init`` measures per-layer gradient norms of untrained networks;
``vanishing_train`` trains them and records curves and per-layer gradients along the way.

Run: ``python -m relu_tanh run vanishing_train --scale paper --device cuda``
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .. import data, diagnostics, models
from ..train import TrainConfig, train
from . import Experiment, register


@dataclass(frozen=True)
class SweepConfig:
    """The grid shared by both experiments; `archs` are "mlp" and/or "cnn"."""

    archs: tuple[str, ...] = ("mlp", "cnn")
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")
    inits: tuple[str, ...] = ("default", "xavier", "kaiming")
    depths: tuple[int, ...] = (2, 5, 10, 20)
    width: int = 64  # MLP hidden units
    channels: int = 16  # CNN channels
    n_train: int | None = None  # None: all 4,000 MNIST-1D training examples
    batch: int = 256  # examples behind one gradient measurement


@dataclass(frozen=True)
class TrainSweepConfig(SweepConfig):
    train: TrainConfig = field(default_factory=TrainConfig)


def model_config(cfg: SweepConfig, arch: str, activation: str, init: str, depth: int,
                 ds: data.Dataset) -> models.MLPConfig | models.CNNConfig:
    if arch == "mlp":
        return models.MLPConfig(int(np.prod(ds.input_shape)), ds.n_classes, cfg.width, depth,
                                activation, init)
    if arch == "cnn":
        return models.CNNConfig(ds.input_shape[0], ds.n_classes, 1, cfg.channels, depth,
                                activation=activation, init=init)
    raise ValueError(f"unknown arch {arch!r}; valid choices: mlp, cnn")


def grid(cfg: SweepConfig) -> list[tuple[str, str, str, int]]:
    return list(itertools.product(cfg.archs, cfg.activations, cfg.inits, cfg.depths))


def run_init(cfg: SweepConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Per-layer weight-gradient norms of freshly initialised networks on one batch."""
    ds = data.load("mnist1d", cfg.n_train)
    x, y = ds.x_train[: cfg.batch].to(device), ds.y_train[: cfg.batch].to(device)
    rows = []
    for arch, act, init, depth in grid(cfg):
        torch.manual_seed(seed)
        model = models.build(model_config(cfg, arch, act, init, depth, ds)).to(device)
        rows.append({"arch": arch, "activation": act, "init": init, "depth": depth,
                     "layer_grad_norms": diagnostics.layer_grad_norms(model, x, y)})
    return {"rows": rows}


def run_train(cfg: TrainSweepConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Train every network of the grid; keep its curves and per-layer gradient norms."""
    ds = data.load("mnist1d", cfg.n_train)
    rows = []
    for arch, act, init, depth in tqdm(grid(cfg), desc=f"seed {seed}", disable=not progress, leave=False):
        torch.manual_seed(seed)
        model = models.build(model_config(cfg, arch, act, init, depth, ds))
        hist = train(model, ds, cfg.train, seed=seed, device=device)
        rows.append({"arch": arch, "activation": act, "init": init, "depth": depth,
                     "steps": hist.steps, "loss": hist.loss,
                     "layer_grad_norms": hist.layer_grad_norms,
                     "train_error": hist.epoch_train_error, "test_error": hist.epoch_test_error,
                     "diverged": hist.diverged})
    return {"rows": rows}


def first_to_last(norms: list[float]) -> float:
    """Gradient norm of the first hidden layer over that of the last hidden layer (head excluded)."""
    return norms[0] / norms[-2] if norms[-2] > 0 else math.nan


def per_layer_factor(norms: list[float]) -> float:
    """Geometric-mean shrink factor per layer between the last and the first hidden layer
    (0 when the first layer's gradient underflowed to exactly zero)."""
    hidden = len(norms) - 1
    ratio = first_to_last(norms)
    return ratio ** (1 / (hidden - 1)) if hidden > 1 and ratio >= 0 else math.nan


def _key(row: dict[str, Any]) -> tuple[str, str, str, int]:
    return row["arch"], row["activation"], row["init"], row["depth"]


def _stats(values: list[float], geometric: bool = False) -> dict[str, float]:
    """Centre (mean, or geometric mean for ratios) and min/max over seeds."""
    v = np.array(values, dtype=float)
    with np.errstate(divide="ignore"):  # a zero (underflowed) ratio makes the geometric mean 0
        centre = float(np.exp(np.log(v).mean())) if geometric else float(v.mean())
    return {"centre": centre, "min": float(v.min()), "max": float(v.max()), "n": len(v)}


def summarize_init(cfg: SweepConfig, seeds: dict[int, dict[str, Any]]) -> dict[tuple, dict]:
    """For each (arch, activation, init, depth): first/last gradient ratio and per-layer factor,
    geometric mean and range over seeds, plus the per-layer norms of every seed."""
    out: dict[tuple, dict] = {}
    for key in grid(cfg):
        norms = [r["layer_grad_norms"] for s in seeds.values() for r in s["rows"] if _key(r) == key]
        out[key] = {"ratio": _stats([first_to_last(n) for n in norms], geometric=True),
                    "factor": _stats([per_layer_factor(n) for n in norms], geometric=True),
                    "norms": norms}
    return out


def summarize_train(cfg: TrainSweepConfig, seeds: dict[int, dict[str, Any]]) -> dict[tuple, dict]:
    """For each grid point: final train/test error over seeds (a diverged run counts as chance
    level, 0.9 on 10 classes), the number of diverged seeds, and the runs themselves."""
    chance = 0.9
    out: dict[tuple, dict] = {}
    for key in grid(cfg):
        runs = [r for s in seeds.values() for r in s["rows"] if _key(r) == key]
        final = lambda r, k: chance if r["diverged"] or not r[k] else r[k][-1]
        out[key] = {"train_error": _stats([final(r, "train_error") for r in runs]),
                    "test_error": _stats([final(r, "test_error") for r in runs]),
                    "diverged": sum(r["diverged"] for r in runs), "runs": runs}
    return out


SMOKE = SweepConfig(activations=("sigmoid", "tanh", "relu"), inits=("default", "xavier", "kaiming"),
                    depths=(2, 6), n_train=512, batch=256)
SMOKE_TRAIN = TrainConfig(epochs=2, batch_size=128, lr=0.05, log_every=2)
BOOK_TRAIN = TrainConfig(epochs=10, batch_size=64, lr=0.05, log_every=10)

register(Experiment(
    name="vanishing_init",
    chapter="vanishing",
    description="per-layer gradient norms at initialisation vs depth, activation and init",
    configs={"smoke": SMOKE, "book": SweepConfig(),
             "paper": SweepConfig(depths=(2, 5, 10, 20, 30, 50), batch=2048)},
    seeds={"smoke": 2, "book": 3, "paper": 10},
    run_seed=run_init,
    summarize=summarize_init,
))

register(Experiment(
    name="vanishing_train",
    chapter="vanishing",
    description="training curves and gradients of deep sigmoid/tanh/ReLU nets on MNIST-1D",
    configs={"smoke": TrainSweepConfig(**vars(SMOKE), train=SMOKE_TRAIN),
             "book": TrainSweepConfig(archs=("mlp",), train=BOOK_TRAIN),
             "paper": TrainSweepConfig(depths=(2, 5, 10, 20, 30),
                                       train=TrainConfig(epochs=50, lr=0.05, log_every=25))},
    seeds={"smoke": 2, "book": 3, "paper": 5},
    run_seed=run_train,
    summarize=summarize_train,
))


def deepest(summary: dict[tuple, dict], arch: str, activation: str, field_: str = "ratio") -> dict[str, float]:
    """{init: centre of `field_`} at the largest depth, for one architecture and activation."""
    depth = max(k[3] for k in summary)
    return {i: v[field_]["centre"] for (a, act, i, d), v in summary.items()
            if (a, act, d) == (arch, activation, depth)}
