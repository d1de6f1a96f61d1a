"""Chapter "Figure 1": does a ReLU CNN reach a training-error threshold several times faster
than the same CNN with tanh (Krizhevsky, Sutskever and Hinton 2012, Figure 1)?

Protocol: for each activation, initialisation variant and learning rate, train the
`models.ConvNet` (cuda-convnet's layers-18pct, no response normalisation, no weight decay, no
augmentation, SGD with momentum 0.9) and record the running training error of every epoch.
Each activation keeps its fastest learning rate; the ratio of epochs to the threshold
(tanh / ReLU) gets a bootstrap interval over seeds.

Run: ``python -m relu_tanh run krizhevsky --scale paper --device cuda``
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from .. import data, models
from ..batched import train_batched
from ..scale import override
from ..stats import bootstrap_ratio
from ..train import TrainConfig, epochs_to_threshold, train
from . import Experiment, register


@dataclass(frozen=True)
class Figure1Config:
    dataset: str = "fashion-mnist-small"
    n_train: int | None = 4000
    n_test: int | None = 1000
    downsample: int = 2  # average-pool images by this factor to fit a CPU budget; 1: full size
    channels: tuple[int, ...] = (16, 16, 32)  # half of layers-18pct's (32, 32, 64): CPU budget
    activations: tuple[str, ...] = ("relu", "tanh")
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)  # each activation keeps its fastest
    variants: tuple[str, ...] = ("small_gaussian", "kaiming", "small_gaussian+bn")  # init[+bn]
    epochs: int = 10  # at most; a run stops once below min(thresholds)
    batch_size: int = 64
    momentum: float = 0.9
    threshold: float = 0.25  # the one the verdict uses (the paper's 25%)
    thresholds: tuple[float, ...] = (0.6, 0.5, 0.4, 0.3, 0.25, 0.2)


def image_data(name: str, n_train: int | None, n_test: int | None, downsample: int) -> data.Dataset:
    """An image dataset cut to size and average-pooled by `downsample` (1 leaves it alone)."""
    ds = data.load(name, n_train, n_test)
    if downsample == 1:
        return ds
    pool = lambda x: F.avg_pool2d(x, downsample)
    return data.Dataset(ds.name, f"{ds.source}, average-pooled {downsample}x{downsample}",
                        pool(ds.x_train), ds.y_train, pool(ds.x_test), ds.y_test)


def convnet_config(ds: data.Dataset, activation: str, variant: str,
                   channels: tuple[int, ...] = (32, 32, 64)) -> models.ConvNetConfig:
    """The ConvNet for `ds`; `variant` is an init name, optionally with "+bn" (batch norm)."""
    init, _, bn = variant.partition("+")
    if bn not in ("", "bn"):
        raise ValueError(f"unknown variant {variant!r}; use an init name, optionally with '+bn'")
    return models.ConvNetConfig(ds.input_shape[0], ds.input_shape[-1], ds.n_classes, channels,
                                activation, init, batch_norm=bn == "bn")


def run_seed(cfg: Figure1Config, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Training-error curves of every (variant, activation, learning rate). On a GPU the
    learning rates of one variant and activation train as one batched model (`batched`)."""
    ds = image_data(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample)
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, momentum=cfg.momentum,
                       log_every=50)
    stop = min(cfg.thresholds)
    rows = []
    groups = list(itertools.product(cfg.variants, cfg.activations))
    for variant, act in tqdm(groups, desc=f"seed {seed}", disable=not progress, leave=False):
        mcfg = convnet_config(ds, act, variant, cfg.channels)
        if device.startswith("cuda") and not mcfg.batch_norm:
            k = len(cfg.lrs)
            hists = train_batched([mcfg] * k, list(cfg.lrs), [seed] * k, ds, tcfg, device=device,
                                  stop_below=stop)
        else:
            hists = []
            for lr in cfg.lrs:
                torch.manual_seed(seed)
                hists.append(train(models.ConvNet(mcfg), ds, override(tcfg, lr=lr), seed=seed,
                                   device=device, stop_below=stop))
        rows += [{"variant": variant, "activation": act, "lr": lr,
                  "train_error": h.epoch_train_error, "test_error": h.epoch_test_error,
                  "seconds": h.epoch_seconds, "diverged": h.diverged}
                 for lr, h in zip(cfg.lrs, hists)]
    return {"rows": rows, "data": ds.source}


def seconds_to(row: dict[str, Any], epochs: float) -> float:
    """Wall-clock training time at a fractional epoch count, interpolated between epoch ends."""
    if not math.isfinite(epochs):
        return math.inf
    return float(np.interp(epochs, range(len(row["seconds"]) + 1), [0.0, *row["seconds"]]))


def summarize(cfg: Figure1Config, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per variant and threshold: each activation's fastest learning rate and its epochs and
    seconds to the threshold over seeds, the tanh/ReLU ratio with a bootstrap interval, plus the
    runs themselves (for curves)."""
    runs: dict[tuple, list[dict]] = {}
    for s in seeds.values():
        for r in s["rows"]:
            runs.setdefault((r["variant"], r["activation"], r["lr"]), []).append(r)
    out: dict[str, Any] = {"runs": runs, "data": next(iter(seeds.values()))["data"], "ratios": {},
                           "threshold": cfg.threshold, "variants": cfg.variants,
                           "epochs_cap": cfg.epochs}
    for variant, threshold in itertools.product(cfg.variants, cfg.thresholds):
        best = {act: fastest(runs, variant, act, cfg.lrs, threshold) for act in cfg.activations}
        out["ratios"][(variant, threshold)] = {"best": best, **ratio(best, "tanh", "relu")}
    return out


def fastest(runs: dict[tuple, list[dict]], variant: str, act: str, lrs: tuple[float, ...],
            threshold: float) -> dict[str, Any]:
    """The learning rate with the fewest median epochs to `threshold` (diverged runs: never)."""
    def epochs(lr: float) -> list[float]:
        return [math.inf if r["diverged"] else epochs_to_threshold(r["train_error"], threshold)
                for r in runs[(variant, act, lr)]]
    lr = min(lrs, key=lambda lr: (float(np.median(epochs(lr))), lr))
    eps = epochs(lr)
    secs = [seconds_to(r, e) for r, e in zip(runs[(variant, act, lr)], eps)]
    return {"lr": lr, "epochs": eps, "seconds": secs}


def ratio(best: dict[str, dict], slow: str, fast: str) -> dict[str, float]:
    """Epoch and wall-clock ratios slow/fast; inf when the slow one never reached the threshold."""
    a, b = best[slow], best[fast]
    if not (all(map(math.isfinite, a["epochs"])) and all(map(math.isfinite, b["epochs"]))):
        reached = math.isfinite(np.mean(b["epochs"]))
        return {"ratio": math.inf if reached else math.nan, "low": math.nan, "high": math.nan,
                "time_ratio": math.nan}
    r, lo, hi = bootstrap_ratio(a["epochs"], b["epochs"])
    return {"ratio": r, "low": lo, "high": hi,
            "time_ratio": float(np.mean(a["seconds"]) / np.mean(b["seconds"]))}


BOOK = Figure1Config()

register(Experiment(
    name="krizhevsky",
    chapter="krizhevsky",
    description="epochs to a training-error threshold, ReLU vs tanh CNN (Krizhevsky 2012, Fig. 1)",
    configs={
        "smoke": Figure1Config(n_train=256, n_test=256, downsample=2, lrs=(0.03,),
                               variants=("small_gaussian", "kaiming+bn"), epochs=2,
                               batch_size=64, thresholds=(0.8, 0.6, 0.25), threshold=0.6),
        "book": BOOK,
        "paper": Figure1Config(dataset="cifar10", n_train=None, n_test=None, downsample=1,
                               channels=(32, 32, 64), batch_size=128, lrs=(0.003, 0.01, 0.03, 0.1),
                               variants=("small_gaussian", "kaiming", "small_gaussian+bn",
                                         "kaiming+bn"),
                               epochs=60, thresholds=(0.5, 0.4, 0.3, 0.25, 0.2)),
    },
    seeds={"smoke": 2, "book": 3, "paper": 5},
    run_seed=run_seed,
    summarize=summarize,
))
