"""Chapter "Saturation": how many sigmoid and tanh units sit on the flat parts of their curves,
at initialisation and during training, and does the top sigmoid layer of a deep MLP saturate
early, as Glorot and Bengio (2010, Section 3) found?

Learning rates: each (architecture, activation) keeps the best rate of `lrs`, the one with the
lowest running training error after `tune_epochs` epochs on a tuning seed (`TUNE_SEED`) that is
none of the measured seeds; the summary says whether that rate is interior to the grid.
Training is plain SGD (momentum 0) on small batches, as in Glorot and Bengio (2010).

Statistics are taken on a fixed probe batch at every logged step: per hidden layer, the share
of saturated units (`diagnostics.SATURATED`), the share of exact zeros, the mean derivative, and
histograms of the pre-activations at the start and the end of training.

Run: ``python -m relu_tanh run saturation --scale paper --device cuda``
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..measure import diagnostics
from ..nets import models
from .configs import override
from ..training.loop import TrainConfig, train
from . import Experiment, register
from .krizhevsky import convnet_config, image_data


ARCHS = ("cnn", "mlp")


@dataclass(frozen=True)
class SaturationConfig:
    dataset: str = "fashion-mnist-small"
    n_train: int | None = 4000
    n_test: int | None = 1000
    downsample: int = 2
    archs: tuple[str, ...] = ("cnn", "mlp")  # mlp: Glorot and Bengio's stack of hidden layers
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")
    lrs: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)  # each (arch, activation) keeps its best
    tune_epochs: int = 1  # epochs behind the choice of learning rate
    init: str = "default"  # PyTorch's default is Glorot and Bengio's "standard" U[-1/sqrt(n), 1/sqrt(n)]
    channels: tuple[int, ...] = (16, 16, 32)
    mlp_width: int = 256
    mlp_depth: int = 4
    # plain SGD on small batches, as Glorot and Bengio; its lr is unused: `lrs` are tuned
    train: TrainConfig = TrainConfig(epochs=8, batch_size=64, momentum=0.0, log_every=10)
    probe: int = 500  # examples behind every statistic
    hist_range: float = 6.0  # pre-activation histograms over [-range, range]
    hist_bins: int = 48

    def validate(self) -> None:
        if unknown := [a for a in self.archs if a not in ARCHS]:
            raise ValueError(f"archs: unknown {unknown}; valid choices: {', '.join(ARCHS)}")
        if self.init not in models.INITS:  # the MLP takes these; the CNN too
            raise ValueError(f"init: unknown {self.init!r}; valid choices: {', '.join(models.INITS.names())}")


def build(cfg: SaturationConfig, arch: str, act: str, ds) -> torch.nn.Module:
    if arch == "cnn":
        return models.ConvNet(convnet_config(ds, act, cfg.init, cfg.channels))
    if arch == "mlp":
        return models.mlp(models.MLPConfig(int(np.prod(ds.input_shape)), ds.n_classes,
                                           cfg.mlp_width, cfg.mlp_depth, act, cfg.init))
    raise ValueError(f"unknown arch {arch!r}; valid choices: {', '.join(ARCHS)}")


def histograms(model: torch.nn.Module, x: torch.Tensor, cfg: SaturationConfig) -> list[list[int]]:
    """Counts of each layer's pre-activations in `hist_bins` bins (outliers in the end bins)."""
    r = cfg.hist_range
    return [np.histogram(z.clamp(-r, r).flatten().cpu().numpy(), cfg.hist_bins, (-r, r))[0].tolist()
            for z in diagnostics.preactivations(model, x)]


TUNE_SEED = 1000  # the learning rate is chosen on this seed, never on a measured one


@functools.lru_cache(maxsize=None)
def tune(cfg: SaturationConfig, arch: str, act: str) -> dict[str, Any]:
    """Running training error after `tune_epochs` epochs at every rate of `lrs` (inf if the run
    diverged) on `TUNE_SEED`, and the best rate. Cached: every measured seed gets the same."""
    ds = image_data(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample)
    errors = []
    for lr in cfg.lrs:
        torch.manual_seed(TUNE_SEED)
        hist = train(build(cfg, arch, act, ds), ds,
                     override(cfg.train, lr=lr, epochs=cfg.tune_epochs), seed=TUNE_SEED)
        errors.append(math.inf if hist.diverged or not hist.epoch_train_error
                      else hist.epoch_train_error[-1])
    best = int(np.argmin(errors))
    return {"lrs": list(cfg.lrs), "errors": errors, "lr": cfg.lrs[best],
            "interior": 0 < best < len(cfg.lrs) - 1}


def run_seed(cfg: SaturationConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    ds = image_data(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample)
    probe = ds.x_train[: cfg.probe].to(device)
    rows = []
    for arch, act in tqdm(list(itertools.product(cfg.archs, cfg.activations)),
                          desc=f"seed {seed}", disable=not progress, leave=False):
        tuning = tune(cfg, arch, act)
        torch.manual_seed(seed)
        model = build(cfg, arch, act, ds).to(device)
        hist_init = histograms(model, probe, cfg)
        timeline: list[list[dict]] = []
        log = lambda step, m: timeline.append(diagnostics.activation_stats(m, probe, act))
        hist = train(model, ds, override(cfg.train, lr=tuning["lr"]), seed=seed, device=device,
                     on_log=log)
        rows.append({"arch": arch, "activation": act, "lr": tuning["lr"], "tuning": tuning,
                     "steps": hist.steps, "stats": timeline,
                     "hist_init": hist_init, "hist_final": histograms(model, probe, cfg),
                     "train_error": hist.epoch_train_error, "test_error": hist.epoch_test_error,
                     "diverged": hist.diverged})
    return {"rows": rows, "data": ds.source}


def layer_series(row: dict[str, Any], key: str) -> np.ndarray:
    """(steps, layers) array of one statistic; None (not applicable) becomes NaN."""
    return np.array([[np.nan if s[key] is None else s[key] for s in step] for step in row["stats"]])


def top_layer_course(row: dict[str, Any]) -> dict[str, float]:
    """One run's top hidden layer: saturated share at the start, its peak, the step of the peak
    as a fraction of training, the share at the end, and how long it took to fall from the peak
    to half of it (steps, inf if it never did) against how long it took to get to the peak."""
    sat = layer_series(row, "frac_saturated")[:, -1]  # (steps,)
    steps = np.asarray(row["steps"], float)
    peak_i = int(np.nanargmax(sat))
    after = np.flatnonzero(sat[peak_i:] <= sat[peak_i] / 2)
    return {"start": float(sat[0]), "peak": float(sat[peak_i]), "end": float(sat[-1]),
            "peak_at": float(steps[peak_i] / steps[-1]) if steps[-1] > 0 else math.nan,
            "rise_steps": float(steps[peak_i] - steps[0]),
            "fall_steps": float(steps[peak_i + after[0]] - steps[peak_i]) if len(after) else math.inf}


def summarize(cfg: SaturationConfig, seeds: dict[int, dict[str, Any]]) -> dict[tuple, dict]:
    """Per (arch, activation): each layer's saturated share at the start, its peak and at the
    end, and the mean derivative at start and end, mean over the seeds that did not diverge;
    the top layer's course per seed (`top_layer_course`); the learning rate and its tuning."""
    out: dict[tuple, dict] = {}
    for arch, act in itertools.product(cfg.archs, cfg.activations):
        runs = [r for s in seeds.values() for r in s["rows"]
                if (r["arch"], r["activation"]) == (arch, act)]
        ok = [r for r in runs if not r["diverged"] and r["stats"]]
        entry: dict[str, Any] = {"n": len(runs), "diverged": len(runs) - len(ok),
                                 "lr": runs[0]["lr"], "tuning": runs[0]["tuning"], "runs": runs}
        if ok:
            n_steps = min(len(r["stats"]) for r in ok)
            sat = np.stack([layer_series(r, "frac_saturated")[:n_steps] for r in ok])  # (seeds, steps, layers)
            deriv = np.stack([layer_series(r, "mean_derivative")[:n_steps] for r in ok])
            entry.update(
                saturated_start=sat[:, 0].mean(0).tolist(),
                saturated_peak=sat.max(1).mean(0).tolist(),
                saturated_end=sat[:, -1].mean(0).tolist(),
                derivative_start=deriv[:, 0].mean(0).tolist(),
                derivative_end=deriv[:, -1].mean(0).tolist(),
                final_train_error=float(np.mean([r["train_error"][-1] for r in ok if r["train_error"]] or [np.nan])),
                top=[top_layer_course(r) for r in ok] if act in diagnostics.SATURATED else [])
        out[(arch, act)] = entry
    return out


register(Experiment(
    name="saturation",
    chapter="saturation",
    version=1,
    description="saturated units and pre-activation histograms of sigmoid/tanh/ReLU nets in training",
    configs={
        "smoke": SaturationConfig(n_train=256, n_test=128, probe=128, mlp_width=32,
                                  lrs=(0.1, 1.0, 3.0),
                                  train=TrainConfig(epochs=1, batch_size=64, momentum=0.0,
                                                    log_every=2)),
        "book": SaturationConfig(),
        "paper": SaturationConfig(dataset="cifar10", n_train=None, n_test=None, downsample=1,
                                  channels=(32, 32, 64), mlp_width=1000, probe=2000,
                                  lrs=(0.01, 0.03, 0.1, 0.3, 1.0, 3.0), tune_epochs=3,
                                  train=TrainConfig(epochs=30, batch_size=10, momentum=0.0,
                                                    log_every=500)),
    },
    seeds={"smoke": 2, "book": 3, "paper": 5},
    run_seed=run_seed,
    summarize=summarize,
))
