"""Chapter "Figure 1": does a ReLU CNN reach a training-error threshold several times faster
than the same CNN with tanh (Krizhevsky, Sutskever and Hinton 2012, Figure 1)?

Protocol. Three pipelines (`PIPELINES`) feed and start the layers-18pct `models.ConvNet`:
"2012" as cuda-convnet did (raw 0-255 pixels minus the training mean image, its initW weight
scales, response normalisation), "modern" (standardised pixels, Kaiming init) and "bn" (the
modern one with batch norm). For each pipeline, activation and learning rate on the
pipeline's grid, every seed trains with SGD and momentum 0.9, no weight decay, no augmentation,
and records its running training error per epoch. A seed gives ReLU and tanh the same initial
weights and data order, so the two arms are paired. For each seed, each arm's learning rate is
the one with the fewest median epochs to the threshold over the *other* seeds (a run that never
got there counts as +inf); the headline is the median over seeds of the per-seed ratio of
epochs (tanh / ReLU) with a distribution-free interval (`stats.paired_ratio`).

Paper scale (CIFAR-10, 50,000 images at 32x32) races the learning rates and trains in
resumable spans on a CPU: see `krizhevsky_units`; ``python -m relu_tanh paper --plan``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.nn import functional as F
from tqdm import tqdm

from .. import data
from ..nets import models
from .configs import override
from ..measure.stats import censored_median, paired_ratio
from ..training.loop import TrainConfig, epochs_to_threshold, train
from ..training.stacked import Stacked, members, train_stacked
from . import Experiment, register

Input = Literal["mean-image", "standardised"]
VERSION = 1  # of what a seed (and a paper-scale span) computes; see experiments.Experiment
# Caffe's reproduction of layers-18pct (cifar10_18pct_solver) first lowers its learning rate after
# this many steps of this many images: the schedule the constant rate here leaves out
LR_DROP_STEPS, LR_DROP_BATCH, CIFAR10_TRAIN = 60_000, 100, 50_000


@dataclass(frozen=True)
class Pipeline:
    """How images reach the network and how the network starts."""

    input: Input  # "mean-image": raw 0-255 pixels minus the training mean image (cuda-convnet)
    init: str  # "small_gaussian": layers-18pct's initW stds; or any name in models.INITS
    batch_norm: bool = False
    rnorm: bool = False  # layers-18pct's response normalisation after pool1 and pool2


PIPELINES = {
    "2012": Pipeline("mean-image", "small_gaussian", rnorm=True),
    "modern": Pipeline("standardised", "kaiming"),
    "bn": Pipeline("standardised", "kaiming", batch_norm=True),
}


@dataclass(frozen=True)
class Figure1Config:
    dataset: str = "fashion-mnist-small"
    n_train: int | None = 1024
    n_test: int | None = 128  # test error is recorded, not used: kept small
    downsample: int = 2  # average-pool images by this factor first (1: full size)
    side: int = 16  # then zero-pad (raw pixel value 0) to side x side
    channels: tuple[int, ...] = (16, 16, 32)  # half of layers-18pct's: CPU budget
    activations: tuple[str, ...] = ("relu", "tanh")
    variants: tuple[str, ...] = ("2012", "modern", "bn")  # names in PIPELINES
    # one rate per (variant, activation), in the order of itertools.product(variants,
    # activations); each arm's grid is its rate times lr_factors (layers-18pct's epsW is 1e-3)
    lr_base: tuple[float, ...] = (0.02, 0.3, 0.03, 0.1, 0.1, 0.1)
    lr_factors: tuple[float, ...] = (1 / 3, 1.0, 3.0)
    epochs: int = 20  # at most; a run stops once below min(thresholds)
    batch_size: int = 128  # layers-18pct's
    momentum: float = 0.9  # layers-18pct's momW
    threshold: float = 0.25  # the one the verdict uses (the paper's 25%)
    thresholds: tuple[float, ...] = (0.5, 0.4, 0.3, 0.25)
    level: float = 0.9  # least coverage of the interval for the median ratio
    channels_last: bool = False  # images in channels-last memory (faster on a CPU)
    # The raced protocol of `krizhevsky_units` (paper scale on a CPU) when race_epochs > 0:
    # each arm's rates race this many epochs on `tuning_seeds`, the grid (lrs) growing by
    # `lr_step` beyond an edge winner, at most `max_extensions` times; runs are stored in spans
    # of `span_epochs`; each of `check_arms` (variant, activation) also runs its winner and neighbours
    # to the end, and the rate fewest epochs to the threshold is its rate (krizhevsky_units). Unused
    # without a race.
    race_epochs: int = 0
    lr_step: float = 3.0
    max_extensions: int = 4
    tuning_seeds: tuple[int, ...] = (1000,)
    check_arms: tuple[tuple[str, str], ...] = (("modern", "relu"),)
    span_epochs: int = 15
    # The scale ladder (raced configs only): (training images, epoch cap) per smaller size; every
    # settled arm trains its evaluation seeds there too, at its full-size race's (and check's) rate
    ladder: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        if unknown := [v for v in self.variants if v not in PIPELINES]:
            raise ValueError(f"unknown variants {unknown}; valid: {', '.join(PIPELINES)}")
        if not 1 <= len(set(self.activations)) == len(self.activations) <= 2:
            raise ValueError(f"activations are one or two names, the baseline first (the ratio is "
                             f"the second's epochs over the first's), got {self.activations}")
        if self.race_epochs and not (self.tuning_seeds and 0 < self.race_epochs <= self.epochs
                                     and self.span_epochs > 0 and self.lr_step > 1):
            raise ValueError("a race needs tuning_seeds, 0 < race_epochs <= epochs, "
                             "span_epochs > 0 and lr_step > 1")
        if self.race_epochs and not all(len(a) == 2 and a[0] in self.variants
                                        and a[1] in self.activations for a in self.check_arms):
            raise ValueError(f"check_arms are (variant, activation) pairs with a variant in "
                             f"{self.variants} and an activation in {self.activations}, "
                             f"got {self.check_arms}")
        if self.ladder and not (self.race_epochs and all(
                0 < n < (self.n_train or math.inf) and cap > 0 for n, cap in self.ladder)):
            raise ValueError(f"a ladder is (training images, epoch cap) pairs, each with fewer "
                             f"images than n_train ({self.n_train}) and a positive cap, in a "
                             f"raced config (race_epochs > 0); got {self.ladder}")
        if len(self.lr_base) != len(self.variants) * len(self.activations):
            raise ValueError(f"lr_base needs one rate per (variant, activation), "
                             f"{len(self.variants) * len(self.activations)}, got {self.lr_base}")
        if self.threshold not in self.thresholds:
            raise ValueError(f"threshold {self.threshold} must be one of {self.thresholds}")

    def lrs(self, variant: str, activation: str) -> tuple[float, ...]:
        """The learning-rate grid of one arm, smallest first (rounded to 3 digits)."""
        arms = list(itertools.product(self.variants, self.activations))
        base = self.lr_base[arms.index((variant, activation))]
        return tuple(sorted(float(f"{base * f:.3g}") for f in self.lr_factors))


# --- data -----------------------------------------------------------------------------------

# the loaders' standardisation, per dataset: (mean, std) of pixels scaled to [0, 1]
STANDARDISED_WITH = {"fashion-mnist": (data.FASHION_MEAN, data.FASHION_STD),
                     "fashion-mnist-small": (data.FASHION_MEAN, data.FASHION_STD),
                     "cifar10": (data.CIFAR_MEAN, data.CIFAR_STD)}


def image_data(name: str, n_train: int | None, n_test: int | None, downsample: int) -> data.Dataset:
    """An image dataset as its loader standardises it, cut to size and average-pooled by
    `downsample` (1 leaves it alone)."""
    ds = data.load(name, n_train, n_test)
    if downsample == 1:
        return ds
    pool = lambda x: F.avg_pool2d(x, downsample)
    return data.Dataset(ds.name, f"{ds.source}, average-pooled {downsample}x{downsample}",
                        pool(ds.x_train), ds.y_train, pool(ds.x_test), ds.y_test)


def raw_pixels(name: str, n_train: int | None, n_test: int | None, downsample: int = 1,
               side: int | None = None) -> data.Dataset:
    """Images as raw 0-255 pixel values (the loader's standardisation undone and rounded back to
    the stored integers), average-pooled by `downsample`, zero-padded to `side` x `side`."""
    if name not in STANDARDISED_WITH:
        raise ValueError(f"no raw pixels for {name!r}; valid: {', '.join(STANDARDISED_WITH)}")
    ds = data.load(name, n_train, n_test)
    mean, std = (torch.tensor(v, dtype=torch.float32).view(1, -1, 1, 1)
                 for v in STANDARDISED_WITH[name])

    def raw(x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) standardised -> 0..255
        x = torch.round((x * std + mean) * 255)
        x = F.avg_pool2d(x, downsample) if downsample > 1 else x
        pad = (side or x.shape[-1]) - x.shape[-1]
        if pad < 0:
            raise ValueError(f"side {side} is smaller than the images ({x.shape[-1]})")
        return F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))

    note = (f", average-pooled {downsample}x{downsample}" if downsample > 1 else "") + (
        f", zero-padded to {side}x{side}" if side and side != ds.input_shape[-1] // downsample
        else "")
    return data.Dataset(ds.name, ds.source + note, raw(ds.x_train), ds.y_train, raw(ds.x_test),
                        ds.y_test)


def pipeline_input(raw: data.Dataset, kind: Input) -> data.Dataset:
    """The network's input from raw 0-255 pixels, with statistics of the training images only.

    "mean-image": minus the mean training image, pixel by pixel, nothing divided (cuda-convnet's
    CIFARDataProvider); "standardised": minus each channel's mean, over its std."""
    x = raw.x_train  # (N, C, H, W)
    if kind == "mean-image":
        shift, scale = x.mean(0, keepdim=True), torch.ones(())  # (1, C, H, W)
    elif kind == "standardised":
        shift, scale = x.mean((0, 2, 3), keepdim=True), x.std((0, 2, 3), keepdim=True)
    else:
        raise ValueError(f"unknown input {kind!r}; valid: mean-image, standardised")
    f = lambda t: (t - shift) / scale
    return data.Dataset(raw.name, raw.source, f(raw.x_train), raw.y_train, f(raw.x_test),
                        raw.y_test)


def convnet_config(ds: data.Dataset, activation: str, variant: str,
                   channels: tuple[int, ...] = (32, 32, 64), **kw: Any) -> models.ConvNetConfig:
    """The ConvNet for `ds`; `variant` is an init name, optionally with "+bn" (batch norm)."""
    init, _, bn = variant.partition("+")
    if bn not in ("", "bn"):
        raise ValueError(f"unknown variant {variant!r}; use an init name, optionally with '+bn'")
    return models.ConvNetConfig(ds.input_shape[0], ds.input_shape[-1], ds.n_classes, channels,
                                activation, init, batch_norm=bn == "bn", **kw)


def fan_ins(cfg: models.ConvNetConfig) -> list[int]:
    """Inputs per unit of each weight layer: 5x5 kernels over the channels below, then the
    read-out over the last feature map."""
    net = models.ConvNet(models.ConvNetConfig(cfg.in_channels, cfg.image_size, cfg.n_classes,
                                              cfg.channels, init="default"))
    return [layer.weight[0].numel() for layer in net.weight_layers()]


def matched_stds(cfg: models.ConvNetConfig,
                 reference: models.ConvNetConfig = models.ConvNetConfig()) -> tuple[float, ...]:
    """layers-18pct's weight stds, each times sqrt(fan-in in `reference` / fan-in in `cfg`), so
    that every layer of a smaller network starts with the pre-activation scale the 2012 one had
    on inputs of the same scale. The identity for the 2012 geometry (CIFAR-10, 32x32, 32-32-64)."""
    return tuple(std * math.sqrt(a / b) for std, a, b in
                 zip(models.SMALL_GAUSSIAN_STDS, fan_ins(reference), fan_ins(cfg)))


def pipeline_config(cfg: Figure1Config, ds: data.Dataset, variant: str,
                    activation: str) -> models.ConvNetConfig:
    """The ConvNet of `variant` (a name in PIPELINES) for `ds`, with `matched_stds`."""
    p = PIPELINES[variant]
    mcfg = convnet_config(ds, activation, p.init + ("+bn" if p.batch_norm else ""), cfg.channels,
                          rnorm=p.rnorm)
    return override(mcfg, stds=matched_stds(mcfg))


# --- training -------------------------------------------------------------------------------


def run_seed(cfg: Figure1Config, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Training-error curves of every (variant, activation, learning rate). On a GPU the
    learning rates of one variant and activation train as one stacked model
    (`training.stacked`)."""
    if cfg.race_epochs:
        raise ValueError("a raced config runs in spans, not seeds: "
                         "`python -m relu_tanh paper --only krizhevsky` (see krizhevsky_units)")
    raw = raw_pixels(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample, cfg.side)
    inputs = {kind: pipeline_input(raw, kind) for kind in {PIPELINES[v].input for v in cfg.variants}}
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, momentum=cfg.momentum,
                       log_every=50, channels_last=cfg.channels_last)
    stop = min(cfg.thresholds)
    rows = []
    groups = list(itertools.product(cfg.variants, cfg.activations))
    for variant, act in tqdm(groups, desc=f"seed {seed}", disable=not progress, leave=False):
        ds = inputs[PIPELINES[variant].input]
        mcfg, lrs = pipeline_config(cfg, ds, variant, act), cfg.lrs(variant, act)
        if device.startswith("cuda"):
            nets = []
            for _ in lrs:
                torch.manual_seed(seed)  # the same initial weights for every rate
                nets.append(models.ConvNet(mcfg).to(device, ds.x_train.dtype))
            hists, _ = train_stacked(Stacked.of(nets), members(tcfg, list(lrs), [seed] * len(lrs)),
                                     ds, tcfg, device=device, stop_below=stop)
        else:
            hists = []
            for lr in lrs:
                torch.manual_seed(seed)  # the same initial weights for both activations
                hists.append(train(models.ConvNet(mcfg), ds, override(tcfg, lr=lr), seed=seed,
                                   device=device, stop_below=stop))
        rows += [{"variant": variant, "activation": act, "lr": lr,
                  "train_error": h.epoch_train_error, "test_error": h.epoch_test_error,
                  "seconds": h.epoch_seconds, "diverged": h.diverged}
                 for lr, h in zip(lrs, hists)]
    return {"rows": rows, "data": raw.source}


# --- summary --------------------------------------------------------------------------------


def epochs_to(row: dict[str, Any], threshold: float) -> float:
    """Epochs until the run's running training error reached `threshold`; inf if it never did
    (within the epoch cap, or because it diverged)."""
    return math.inf if row["diverged"] else epochs_to_threshold(row["train_error"], threshold)


def choose_lr(epochs: dict[float, list[float]], keep: list[int]) -> float | None:
    """The learning rate with the fewest median epochs over the seeds at positions `keep`
    (never reached: +inf); ties go to the one that reached in more seeds, then the smaller rate.
    None when no rate's median is finite: nothing to call tuned."""
    def key(lr: float) -> tuple[float, int, float]:
        sub = [epochs[lr][i] for i in keep]
        return censored_median(sub), -sum(map(math.isfinite, sub)), lr
    best = min(epochs, key=key)
    return best if math.isfinite(key(best)[0]) else None


def arm(epochs: dict[float, list[float]], diverged: dict[float, list[bool]]) -> dict[str, Any]:
    """One activation of one pipeline at one threshold: its best rate on all seeds (None: no
    rate reached in most seeds), whether that rate is interior to the grid, and for each seed
    the rate chosen on the other seeds with the epochs it took (inf: never reached)."""
    lrs = sorted(epochs)
    n = len(next(iter(epochs.values())))
    best = choose_lr(epochs, list(range(n)))
    held_out = [choose_lr(epochs, [j for j in range(n) if j != i]) for i in range(n)]
    times = [math.inf if lr is None else epochs[lr][i] for i, lr in enumerate(held_out)]
    return {"lr": best, "interior": best is not None and lrs[0] < best < lrs[-1],
            "grid": {lr: cell(e, diverged[lr]) for lr, e in epochs.items()},
            "held_out_lrs": held_out, "epochs": times,
            "reached": sum(map(math.isfinite, times)), "total": n}


def raced_arm(epochs: list[float], diverged: list[bool], race: dict[str, Any]) -> dict[str, Any]:
    """`arm` for a raced config: every seed ran the rate the arm's race (and check) chose on the
    tuning seeds, so that rate is the tuned one (interior as they found it) and no seed chose it."""
    lr = race["lr"]
    return {"lr": lr, "interior": race["interior"], "grid": {lr: cell(epochs, diverged)},
            "held_out_lrs": [lr] * len(epochs), "epochs": epochs,
            "reached": sum(map(math.isfinite, epochs)), "total": len(epochs), "race": race}


def cell(epochs: list[float], diverged: list[bool]) -> dict[str, Any]:
    """One rate of an arm: median epochs (censored runs count as +inf), reached, diverged."""
    return {"median": censored_median(epochs), "reached": sum(map(math.isfinite, epochs)),
            "diverged": sum(diverged), "epochs": epochs}


def summarize(cfg: Figure1Config, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per variant and threshold: each activation's `arm` over the rates its seeds ran, and the
    `stats.paired_ratio` of the second activation over the first (tanh / ReLU) over seeds; plus
    the runs themselves (for curves) and what the numbers came from."""
    runs: dict[tuple, list[dict]] = {}
    for s in (seeds[k] for k in sorted(seeds)):
        for r in s["rows"]:
            runs.setdefault((r["variant"], r["activation"], r["lr"]), []).append(r)
    first = seeds[min(seeds)]
    races = {(r["variant"], r["activation"]): r for r in first.get("races", [])}
    out: dict[str, Any] = {"runs": runs, "data": first["data"], "arms": {}, "ratios": {},
                           "threshold": cfg.threshold, "variants": cfg.variants,
                           "epochs_cap": cfg.epochs, "seeds": len(seeds),
                           "setting": setting(cfg, first["data"], first["rows"][0].get("images")), "raced": bool(races),
                           "check": first.get("check"), "ladder": ladder(cfg, seeds)}
    for variant, threshold in itertools.product(cfg.variants, cfg.thresholds):
        arms = {}
        for act in cfg.activations:
            cells = {lr: rs for (v, a, lr), rs in sorted(runs.items()) if (v, a) == (variant, act)}
            epochs = {lr: [epochs_to(r, threshold) for r in rs] for lr, rs in cells.items()}
            diverged = {lr: [r["diverged"] for r in rs] for lr, rs in cells.items()}
            if races:
                (lr,) = cells  # a raced config's seeds ran one rate per arm: the race's
                arms[act] = raced_arm(epochs[lr], diverged[lr], races[(variant, act)])
            else:
                arms[act] = arm(epochs, diverged)
            out["arms"][(variant, act, threshold)] = arms[act]
        if len(cfg.activations) == 2:
            base, other = cfg.activations
            out["ratios"][(variant, threshold)] = paired_ratio(
                arms[other]["epochs"], arms[base]["epochs"], cfg.epochs, cfg.level)
    return out


def ladder(cfg: Figure1Config, seeds: dict[int, dict[str, Any]]) -> dict[tuple[str, int], Any]:
    """The scale ladder of a raced config: per (pipeline, training images) the paired ratio of
    epochs to the threshold (tanh over ReLU) over the seeds whose two runs at that size are in,
    with each activation's epochs and, under "test", the test error where each run that reached
    the threshold stopped; the full size comes from the evaluation runs."""
    if not cfg.race_epochs or len(cfg.activations) != 2:
        return {}
    base, other = cfg.activations
    rows = [(k, r) for k, s in seeds.items() for r in (*s["rows"], *s.get("ladder", []))]
    caps = dict(cfg.ladder or ())
    out = {}
    for variant, images in sorted({(r["variant"], r["images"]) for _, r in rows}):
        pair: dict[int, dict[str, dict[str, Any]]] = {}
        for k, r in rows:
            if (r["variant"], r["images"]) == (variant, images):
                pair.setdefault(k, {})[r["activation"]] = r
        done = [p for _, p in sorted(pair.items()) if len(p) == 2]
        if not done:
            continue
        cap = caps.get(images, cfg.epochs)
        epochs = {act: [epochs_to(p[act], cfg.threshold) for p in done] for act in (base, other)}
        out[(variant, images)] = {
            "cap": cap, **epochs, "ratio": paired_ratio(epochs[other], epochs[base], cap, cfg.level),
            "test": {act: [p[act]["test_error"][-1] for p, e in zip(done, epochs[act])
                           if math.isfinite(e)] for act in (base, other)}}
    return out


def setting(cfg: Figure1Config, source: str, images: int | None = None) -> str:
    """What a ratio was measured on, for verdicts and tables (`images`: how many the runs
    had, where the config says "all")."""
    n = f"{cfg.n_train or images:,}" if cfg.n_train or images else "all"
    return f"{source.split(' (')[0]}, {n} training images at {cfg.side}x{cfg.side}"


BOOK = Figure1Config()

register(Experiment(
    name="krizhevsky",
    chapter="krizhevsky",
    version=VERSION,
    description="epochs to a training-error threshold, ReLU vs tanh CNN (Krizhevsky 2012, Fig. 1)",
    configs={
        "smoke": Figure1Config(n_train=256, n_test=128, side=16, lr_factors=(1.0, 3.0),
                               epochs=2, thresholds=(0.8, 0.6), threshold=0.6),
        "book": BOOK,
        # CIFAR-10 on a 2-core CPU (krizhevsky_units): 2012 and modern (bn left out: a third
        # of the hours); each arm's race starts from base x (1/3, 1, 3), layers-18pct's 1e-3
        # the 2012 ReLU base; 45 epochs let the 2012 tanh arm reach 25% (about 35 in the paper)
        "paper": Figure1Config(dataset="cifar10", n_train=None, n_test=1000, downsample=1,
                               side=32, channels=(32, 32, 64), variants=("2012", "modern"),
                               lr_base=(1e-3, 1e-2, 1e-2, 3e-2), lr_factors=(1 / 3, 1.0, 3.0),
                               epochs=45, thresholds=(0.5, 0.4, 0.3, 0.25), channels_last=True,
                               race_epochs=3, tuning_seeds=(1000,),
                               check_arms=(("2012", "relu"), ("2012", "tanh"), ("modern", "relu"),
                                           ("modern", "tanh")),
                               span_epochs=15, max_extensions=4, lr_step=3.0,
                               ladder=((1000, 300), (4000, 150), (16000, 75))),
    },
    seeds={"smoke": 2, "book": 5, "paper": 5},
    run_seed=run_seed,
    summarize=summarize,
))


@torch.no_grad()
def signal_at_init(cfg: Figure1Config, n: int = 256, seed: int = 0) -> list[dict[str, Any]]:
    """The input's scale and the root-mean-square pre-activation of conv1 and of the read-out at
    initialisation (ReLU), per pipeline, plus the pre-2012-fix mix of standardised pixels with
    layers-18pct's weight scales ("standardised + 2012 stds"): what the input scale does to the
    signal before any training."""
    raw = raw_pixels(cfg.dataset, n, 1, cfg.downsample, cfg.side)
    cases = [(v, PIPELINES[v]) for v in cfg.variants]
    cases.append(("standardised + 2012 stds", Pipeline("standardised", "small_gaussian", rnorm=True)))
    rms = lambda t: float(t.pow(2).mean().sqrt())
    out = []
    for name, p in cases:
        x = pipeline_input(raw, p.input).x_train  # (n, C, side, side)
        mcfg = convnet_config(raw, "relu", p.init + ("+bn" if p.batch_norm else ""), cfg.channels,
                              rnorm=p.rnorm)
        torch.manual_seed(seed)
        net = models.ConvNet(override(mcfg, stds=matched_stds(mcfg))).eval()
        out.append({"pipeline": name, "input": p.input, "init": p.init, "input_rms": rms(x),
                    "conv1_rms": rms(net.hidden[0](x)), "logit_rms": rms(net(x))})
    return out
