"""Chapter "The negative half": how sparse are ReLU networks, how many units die, and does the
sparsity regularise (Glorot, Bordes and Bengio 2011)?

For ReLU, leaky ReLU (the control: its negative half keeps a small slope, so no unit can die
outright) and tanh CNNs, across learning rates and initialisations: train until the running
training error reaches `target_error` (so that generalisation is compared at equal training
error; a run that never gets there is reported, not compared), then measure over the whole
training set each hidden layer's share of exact zeros and of dead units, and the train/test
error gap. A dead unit is a channel (of a convolution) or a unit (of a dense layer) whose
pre-activation is not positive on any training example at any position; the same count at
initialisation says how many were dead from the start.

Run: ``python -m relu_tanh run sparsity --scale paper --device cuda``
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..measure import diagnostics
from ..nets import models
from ..training.loop import TrainConfig, error_rate, train
from . import Experiment, register
from .krizhevsky import convnet_config, image_data


@dataclass(frozen=True)
class SparsityConfig:
    dataset: str = "fashion-mnist-small"
    n_train: int | None = 4000
    n_test: int | None = 1000
    downsample: int = 2
    channels: tuple[int, ...] = (16, 16, 32)
    activations: tuple[str, ...] = ("relu", "leaky_relu", "tanh")
    inits: tuple[str, ...] = ("kaiming", "default")
    lrs: tuple[float, ...] = (0.02, 0.2)
    target_error: float = 0.2  # training stops once the running training error is below this
    train: TrainConfig = TrainConfig(epochs=12, batch_size=64, log_every=50)

    def validate(self) -> None:
        """Each init is a ConvNet init, optionally with "+bn" (`krizhevsky.convnet_config`)."""
        valid = [*models.INITS.names(), "small_gaussian"]
        known = lambda variant: (variant.partition("+")[0] in valid
                                 and variant.partition("+")[2] in ("", "bn"))
        if bad := [i for i in self.inits if not known(i)]:
            raise ValueError(f"inits: unknown {bad}; valid choices: {', '.join(valid)}, each "
                             f"optionally with +bn")


@torch.no_grad()
def unit_activity(model: torch.nn.Module, x: torch.Tensor, batch: int = 1000) -> list[dict[str, float]]:
    """Per hidden layer, over all of x: the share of outputs that are exactly zero, of
    pre-activations that are not positive, and of dead units: channels (dim 1 of a conv map) or
    dense units that are never positive, on any example at any position."""
    zeros: list[float] = []
    nonpos: list[float] = []
    ever_on: list[torch.Tensor] = []
    sizes: list[int] = []
    for i in range(0, len(x), batch):
        for k, z in enumerate(diagnostics.preactivations(model, x[i:i + batch])):  # z (B, C, ...)
            out = model.acts[k](z)
            on = (z > 0).transpose(0, 1).flatten(1).any(1)  # (C,): positive somewhere
            if k == len(ever_on):
                ever_on.append(on)
                zeros.append(0.0)
                nonpos.append(0.0)
                sizes.append(z[0].numel())
            else:
                ever_on[k] |= on
            zeros[k] += float((out == 0).sum())
            nonpos[k] += float((z <= 0).sum())
    return [{"zero": zeros[k] / (len(x) * sizes[k]), "nonpositive": nonpos[k] / (len(x) * sizes[k]),
             "dead": float((~ever_on[k]).float().mean())} for k in range(len(ever_on))]


def run_seed(cfg: SparsityConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    ds = image_data(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample)
    x, y = ds.x_train.to(device), ds.y_train.to(device)
    rows = []
    grid = list(itertools.product(cfg.activations, cfg.inits, cfg.lrs))
    for act, init, lr in tqdm(grid, desc=f"seed {seed}", disable=not progress, leave=False):
        torch.manual_seed(seed)
        model = models.ConvNet(convnet_config(ds, act, init, cfg.channels)).to(device)
        at_init = unit_activity(model, x)
        tcfg = TrainConfig(**{**vars(cfg.train), "lr": lr})
        hist = train(model, ds, tcfg, seed=seed, device=device, stop_below=cfg.target_error)
        done = not hist.diverged
        rows.append({"activation": act, "init": init, "lr": lr, "seed": seed,
                     "diverged": hist.diverged,
                     "epochs": len(hist.epoch_train_error),
                     "reached": done and hist.epoch_train_error[-1] < cfg.target_error,
                     "train_error": error_rate(model, x, y) if done else None,
                     "test_error": hist.epoch_test_error[-1] if done else None,
                     "layers": unit_activity(model, x) if done else None,
                     "layers_init": at_init})
    return {"rows": rows, "data": ds.source}


def summarize(cfg: SparsityConfig, seeds: dict[int, dict[str, Any]]) -> dict[tuple, dict]:
    """Per (activation, init, lr): over the seeds that did not diverge, each layer's mean zero
    and dead shares, the dead shares at initialisation, and the largest per-seed rise of the
    dead share over initialisation; the generalisation gap (test - train error) per seed
    (None where the run diverged or did not reach the target), and the counts."""
    out: dict[tuple, dict] = {}
    for key in itertools.product(cfg.activations, cfg.inits, cfg.lrs):
        runs = sorted((r for s in seeds.values() for r in s["rows"]
                       if (r["activation"], r["init"], r["lr"]) == key), key=lambda r: r["seed"])
        ok = [r for r in runs if not r["diverged"]]
        entry: dict[str, Any] = {"n": len(runs), "diverged": len(runs) - len(ok),
                                 "reached": sum(r["reached"] for r in ok),
                                 "seeds": [r["seed"] for r in runs],
                                 "gaps": [r["test_error"] - r["train_error"] if r["reached"] and
                                          not r["diverged"] else None for r in runs]}
        if ok:
            layer = lambda field, k="layers": np.array([[l[field] for l in r[k]] for r in ok])
            rise = layer("dead") - layer("dead", "layers_init")  # (seeds, layers)
            entry.update(zero=layer("zero").mean(0).tolist(), dead=layer("dead").mean(0).tolist(),
                         dead_init=layer("dead", "layers_init").mean(0).tolist(),
                         dead_rise_max=float(rise.max()), dead_rise_min=float(rise.max(1).min()),
                         train_error=float(np.mean([r["train_error"] for r in ok])),
                         test_error=float(np.mean([r["test_error"] for r in ok])))
        out[key] = entry
    return out


def as_seeds(strata: dict[str, list[dict[str, Any]]]) -> dict[int, dict[str, Any]]:
    """Replicates (seeds) back into `summarize`'s input as seeds 0..n-1, each row relabelled, so
    a seed drawn twice is paired with its own rows twice, never merged (claims.stability)."""
    return {i: {**out, "rows": [{**r, "seed": i} for r in out["rows"]]}
            for i, out in enumerate(strata["seeds"])}


register(Experiment(
    name="sparsity",
    chapter="sparsity",
    version=1,
    description="exact zeros, dead units and the train/test gap of ReLU vs leaky ReLU vs tanh CNNs",
    as_seeds=as_seeds,
    configs={
        "smoke": SparsityConfig(n_train=256, n_test=128, target_error=0.6, lrs=(0.05,),
                                train=TrainConfig(epochs=2, batch_size=64, log_every=50)),
        "book": SparsityConfig(),
        "paper": SparsityConfig(dataset="cifar10", n_train=None, n_test=None, downsample=1,
                                channels=(32, 32, 64), lrs=(0.003, 0.01, 0.03, 0.1),
                                target_error=0.1, train=TrainConfig(epochs=60, batch_size=128,
                                                                    log_every=200)),
    },
    seeds={"smoke": 2, "book": 3, "paper": 5},
    run_seed=run_seed,
    summarize=summarize,
))
