"""Chapter "through_time": gradients through time, and ReLU in the recurrence (claims R3, R4).

One experiment, two parts per seed:

- the map: ||dh_T/ds_t|| against the gap T - t for Elman RNNs with sigmoid, tanh and ReLU and
  for PyTorch's LSTM and GRU, over a sweep of the recurrent weight scale g (W_hh ~ N(0, g^2/H)),
  at initialisation, driven by adding-problem inputs; with the hidden state's size over time;
- divergence: tanh and ReLU RNNs trained on the adding problem with plain SGD over a grid of
  learning rates, without clipping, then with gradient-norm clipping at a threshold read off the
  unclipped runs (Pascanu, Mikolov and Bengio 2013, Algorithm 1 and section 3.2), under the
  default and the identity initialisation (IRNN; Le, Jaitly and Hinton 2015).

Run: ``python -m relu_tanh run through_time --scale paper --device cuda``
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..measure import jacobians
from ..nets.models import RNN_INITS
from ..training import sequences
from ..measure.bench import num_threads
from ..nets.models import ElmanRNN, RNNConfig
from ..training.loop import TrainConfig
from ..training.stacked import Member, Stacked, train_stacked
from . import Experiment, register

NORM_FLOOR, NORM_CEIL = 1e-300, 1e300  # an under- or overflowed norm is stored at these bounds
ELMAN = ("tanh", "relu")  # the divergence sweep's Elman RNNs: what its trainer and verdicts take


@dataclass(frozen=True)
class MapConfig:
    kinds: tuple[str, ...] = jacobians.KINDS
    scales: tuple[float, ...] = (0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0)  # powers of sqrt 2
    hidden: int = 64
    length: int = 60  # T: the largest gap measured
    sequences: int = 4  # adding-problem input sequences per net

    def validate(self) -> None:
        if unknown := [k for k in self.kinds if k not in jacobians.KINDS]:
            raise ValueError(f"map kinds: unknown {unknown}; valid choices: {', '.join(jacobians.KINDS)}")


@dataclass(frozen=True)
class DivergenceConfig:
    activations: tuple[str, ...] = ("tanh", "relu")
    inits: tuple[str, ...] = ("default", "identity")
    lrs: tuple[float, ...] = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
    length: int = 20  # adding-problem steps
    hidden: int = 32
    n_train: int = 2000
    n_test: int = 500
    epochs: int = 4
    batch_size: int = 50
    blowup: float = 10.0  # diverged: NaN/inf, or a loss above blowup x its first value
    log_every: int = 5  # steps between the loss values kept in the record

    def validate(self) -> None:
        if unknown := [a for a in self.activations if a not in ELMAN]:
            raise ValueError(f"divergence activations: unknown {unknown}; valid choices: {', '.join(ELMAN)}")
        if unknown := [i for i in self.inits if i not in RNN_INITS]:
            raise ValueError(f"divergence inits: unknown {unknown}; valid choices: {', '.join(RNN_INITS)}")


@dataclass(frozen=True)
class ThroughTimeConfig:
    map: MapConfig = field(default_factory=MapConfig)
    divergence: DivergenceConfig = field(default_factory=DivergenceConfig)
    # torch CPU threads during a run (None: torch's default). The nets are tiny and step through
    # time one small matmul after another; a second thread only adds synchronisation, and on a
    # loaded 2-core machine it made a seed several times slower.
    threads: int | None = 1


@dataclass
class Trace:
    """What one net of a stack measured: per-step loss and gradient norm before clipping (index =
    step), the step at which either became NaN/inf (the net is then frozen), the final test MSE."""

    loss: list[float]
    grad_norm: list[float]
    nonfinite_at: int | None
    test_mse: float


def train_nets(act: str, arms: list[tuple[str, float, float | None]], data, cfg: DivergenceConfig,
               seed: int, device: str) -> tuple[list[Trace], dict[str, list[float]]]:
    """One stack of Elman RNNs with activation `act`, one per (init, lr, clip) of `arms`, each
    initialised and shuffled with `seed`; plain SGD on the MSE, every step's loss and gradient
    norm recorded. Returns a Trace per net and the stack's clocks after every step."""
    nets = []
    for init, _, _ in arms:
        torch.manual_seed(seed)
        nets.append(ElmanRNN(RNNConfig(data.x_train.shape[2], 1, cfg.hidden, act, init)).to(device))
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, momentum=0.0, log_every=1)
    runs, clock = train_stacked(Stacked.of(nets), [Member(lr, seed, "sgd", clip) for _, lr, clip in arms],
                                data, tcfg, device=device)
    return [Trace(r.loss, r.grad_norm, r.diverged_at_step,
                  math.nan if r.diverged else r.epoch_test_error[-1]) for r in runs], clock


def divergence(trace: Trace, blowup: float) -> dict[str, Any]:
    """The stated rule: a run diverged if its loss or gradient norm became NaN/inf, or its loss
    exceeded `blowup` times its first value. Returns diverged, cause ("nonfinite", "blowup" or
    None), the first step where it happened, and the largest loss over the first one."""
    loss = np.asarray(trace.loss, dtype=float)
    ratio = loss / loss[0] if len(loss) and loss[0] > 0 else np.full(len(loss), np.nan)
    over = np.flatnonzero(ratio > blowup)
    blown = int(over[0]) if len(over) else None
    peak = float(np.nanmax(ratio)) if len(ratio) and not np.isnan(ratio).all() else math.nan
    if trace.nonfinite_at is not None and (blown is None or trace.nonfinite_at <= blown):
        return {"diverged": True, "cause": "nonfinite", "step": trace.nonfinite_at, "peak": peak}
    if blown is not None:
        return {"diverged": True, "cause": "blowup", "step": blown, "peak": peak}
    if not len(loss):  # no finite step at all
        return {"diverged": True, "cause": "nonfinite", "step": 0, "peak": peak}
    return {"diverged": False, "cause": None, "step": None, "peak": peak}


def clip_threshold(traces: list[Trace], verdicts: list[dict[str, Any]]) -> float:
    """Pascanu et al.'s advice: clip at about the average gradient norm of unclipped training.
    The mean over the runs that did not diverge of each run's mean norm; if all diverged, the
    mean norm of their first step (taken before any update, so the same at every learning rate)."""
    calm = [np.mean(t.grad_norm) for t, v in zip(traces, verdicts) if not v["diverged"]]
    if calm:
        return float(np.mean(calm))
    return float(np.mean([t.grad_norm[0] for t in traces if t.grad_norm]))


def denormals_flushed() -> bool:
    """Whether CPU arithmetic now flushes subnormal floats to zero (the runner asks for it)."""
    return float(torch.tensor([1e-40]) * 1.0) == 0.0


def run_map(cfg: MapConfig, seed: int, device: str) -> list[dict[str, Any]]:
    """log10 ||dh_T/ds_t|| per gap (median over sequences) and the RMS of h_t, per kind and scale."""
    x, _ = sequences.adding_problem(cfg.length, cfg.sequences, seed=seed)
    x = x.to(device, torch.float64)  # float64: a sigmoid net's norm falls below float32's range
    rows = []
    for kind in cfg.kinds:
        for scale in cfg.scales:
            torch.manual_seed(seed)
            model = jacobians.net(kind, x.shape[2], cfg.hidden, scale).to(device, torch.float64)
            zero, step = jacobians.stepper(model)
            jac, rms = jacobians.jacobians(step, zero(len(x)), x)  # (T, B, H, S), (T, B)
            norms = jacobians.spectral_norms(jac).clamp(NORM_FLOOR, NORM_CEIL)  # (T, B)
            rows.append({"kind": kind, "scale": scale,
                         "log10_norm": norms.log10().median(1).values.tolist(),
                         "rms": rms.median(1).values.clamp(max=NORM_CEIL).tolist()})
    return rows


def run_divergence(cfg: DivergenceConfig, seed: int, device: str) -> dict[str, Any]:
    """Each activation's stack of (init x lr) nets, unclipped, then clipped at thresholds taken
    from the unclipped runs of the same activation, init and seed."""
    data = sequences.adding(cfg.length, cfg.n_train, cfg.n_test, seed=seed)
    rows, speed, thresholds = [], [], {}
    for clipped in (False, True):
        for act in cfg.activations:
            arms = [(init, lr, thresholds[(act, init)] if clipped else None)
                    for init in cfg.inits for lr in cfg.lrs]
            traces, clock = train_nets(act, arms, data, cfg, seed, device)
            verdicts = [divergence(t, cfg.blowup) for t in traces]
            speed.append({"activation": act, "clipped": clipped,
                          **{k: steps_per_second(c) for k, c in clock.items()}})
            if not clipped:
                for init in cfg.inits:
                    mine = [k for k, (i, _, _) in enumerate(arms) if i == init]
                    thresholds[(act, init)] = clip_threshold([traces[k] for k in mine],
                                                             [verdicts[k] for k in mine])
            for (init, lr, clip), t, v in zip(arms, traces, verdicts):
                rows.append({"activation": act, "init": init, "lr": lr, "clipped": clipped,
                             "clip": clip, **v, "test_mse": t.test_mse,
                             "loss": t.loss[::cfg.log_every],
                             "mean_grad_norm": float(np.mean(t.grad_norm)) if t.grad_norm else None})
    return {"rows": rows, "speed": speed,
            "thresholds": [{"activation": a, "init": i, "clip": c}
                           for (a, i), c in thresholds.items()]}


def steps_per_second(clock: list[float]) -> dict[str, float]:
    """Training steps per second over the first and the last quarter of a run, from the clock
    reading after each step."""
    q = max(1, len(clock) // 4)
    first = q / clock[q - 1] if clock[q - 1] > 0 else math.nan
    last_span = clock[-1] - clock[-q - 1] if len(clock) > q else clock[-1]
    return {"first_quarter": first, "last_quarter": q / last_span if last_span > 0 else math.nan,
            "steps": len(clock)}


def run_seed(cfg: ThroughTimeConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    with num_threads(cfg.threads if torch.device(device).type == "cpu" else None):
        return {"map": run_map(cfg.map, seed, device),
                "divergence": run_divergence(cfg.divergence, seed, device),
                "denormals_flushed": denormals_flushed()}


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def summarize(cfg: ThroughTimeConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The map (median over seeds of log10 norm per gap, each seed's value at the largest gap,
    median RMS of h_t), and per (activation, init, clipped) arm and learning rate each seed's
    divergence and test MSE, with the clipping thresholds and the steps/s of every stack."""
    mp, dv = cfg.map, cfg.divergence
    grid = {}
    for kind in mp.kinds:
        for scale in mp.scales:
            rows = [r for s in seeds.values() for r in s["map"]
                    if (r["kind"], r["scale"]) == (kind, scale)]
            logs = np.array([[_nan(v) for v in r["log10_norm"]] for r in rows])  # (seeds, T)
            rms = np.array([[_nan(v) for v in r["rms"]] for r in rows])
            grid[(kind, scale)] = {"log10_norm": np.median(logs, 0).tolist(),
                                   "end": logs[:, -1].tolist(),
                                   "rms": np.median(rms, 0).tolist()}
    arms = {}
    for act in dv.activations:
        for init in dv.inits:
            for clipped in (False, True):
                runs = [[r for s in seeds.values() for r in s["divergence"]["rows"]
                         if (r["activation"], r["init"], r["clipped"], r["lr"]) ==
                         (act, init, clipped, lr)] for lr in dv.lrs]
                arms[(act, init, clipped)] = {
                    "lrs": list(dv.lrs),
                    "diverged": [[r["diverged"] for r in rs] for rs in runs],  # [lr][seed]
                    "cause": [[r["cause"] for r in rs] for rs in runs],
                    "test_mse": [[_nan(r["test_mse"]) for r in rs] for rs in runs]}
    thresholds = {}
    for s in seeds.values():
        for t in s["divergence"]["thresholds"]:
            thresholds.setdefault((t["activation"], t["init"]), []).append(t["clip"])
    return {"gaps": list(range(1, mp.length + 1)), "map": grid, "arms": arms,
            "thresholds": thresholds, "baseline_mse": sequences.ADDING_BASELINE_MSE,
            "speed": [sp for s in seeds.values() for sp in s["divergence"]["speed"]],
            "denormals_flushed": all(s["denormals_flushed"] for s in seeds.values()),
            "seeds": len(seeds)}


STEADY = 1.5  # last-quarter steps/s within this factor of the first quarter's (denormals cost ~10x)


def speed_summary(summary: dict[str, Any]) -> dict[str, float | bool]:
    """Median first-quarter steps/s (CPU and wall clock) over every stack, the range of the
    last/first quarter ratio on the CPU clock, and whether every ratio is within STEADY."""
    cpu = [sp["cpu"] for sp in summary["speed"]]
    ratios = [c["last_quarter"] / c["first_quarter"] for c in cpu]
    return {"cpu_steps_per_s": float(np.median([c["first_quarter"] for c in cpu])),
            "wall_steps_per_s": float(np.median([sp["wall"]["first_quarter"]
                                                 for sp in summary["speed"]])),
            "cpu_ratio_min": min(ratios), "cpu_ratio_max": max(ratios),
            "steady": all(1 / STEADY <= r <= STEADY for r in ratios)}


def against_baseline(summary: dict[str, Any]) -> dict[str, float]:
    """What the runs that did not diverge learned: how many there are, how many end below the
    trivial baseline MSE (always answer 1) at all, and the best final MSE over the baseline."""
    finals = [m for arm in summary["arms"].values()
              for ms, ds in zip(arm["test_mse"], arm["diverged"]) for m, d in zip(ms, ds) if not d]
    base = summary["baseline_mse"]
    return {"survived": len(finals), "below": sum(m < base for m in finals),
            "best_ratio": min(finals) / base if finals else float("nan")}


REGIME_DECADES = 2.0  # a map cell vanishes below 10^-this, explodes above 10^this


def regime(ends: list[float], decades: float = REGIME_DECADES) -> str:
    """Where a map cell sits, from each seed's log10 norm at the largest gap: "vanishes" (all
    below -decades), "explodes" (all above +decades), "stays" (all between), or "mixed"."""
    v = np.asarray(ends, dtype=float)
    for name, inside in (("vanishes", v < -decades), ("explodes", v > decades),
                         ("stays", np.abs(v) <= decades)):
        if len(v) and inside.all():
            return name
    return "mixed"


def regimes(summary: dict[str, Any]) -> dict[str, dict[float, str]]:
    """{kind: {scale: regime}} over the whole map."""
    out: dict[str, dict[float, str]] = {}
    for (kind, scale), cell in summary["map"].items():
        out.setdefault(kind, {})[scale] = regime(cell["end"])
    return out


SMOKE = ThroughTimeConfig(
    map=MapConfig(kinds=jacobians.KINDS, scales=(0.5, 1.0, 2.0), hidden=16, length=12,
                  sequences=2),
    divergence=DivergenceConfig(lrs=(1e-3, 0.03, 1.0), length=6, hidden=16, n_train=200,
                                n_test=100, epochs=2, batch_size=50))
PAPER = ThroughTimeConfig(
    map=MapConfig(scales=(0.25, 0.35, 0.5, 0.59, 0.71, 0.84, 1.0, 1.19, 1.41, 1.68, 2.0, 2.83, 4.0),
                  hidden=128, length=200, sequences=16),
    divergence=DivergenceConfig(lrs=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0),
                                length=100, hidden=100, n_train=20000, n_test=2000, epochs=10,
                                batch_size=50, log_every=50))

register(Experiment(
    name="through_time",
    chapter="through_time",
    version=2,  # 2: trained by the shared torch.func trainer (torch.optim rounds differently)
    description="dh_T/dh_t map over weight scale (5 cell kinds); tanh vs ReLU divergence vs lr",
    configs={"smoke": SMOKE, "book": ThroughTimeConfig(), "paper": PAPER},
    seeds={"smoke": 2, "book": 5, "paper": 10},
    run_seed=run_seed,
    summarize=summarize,
))
