"""Chapter "gates": why LSTM and GRU gates use the sigmoid and their state tanh (claim R5).

LSTMs and GRUs (`relu_tanh.nets.cells`, written from their equations) are trained on the adding
problem, whose answer depends on two inputs far apart in time. Arms: the original cells (sigmoid
gates, tanh state); gates with a hard sigmoid, a clamped ReLU min(max(x, 0), 1) or an unbounded
ReLU; the state's tanh replaced by ReLU or removed. Every arm gets the same learning-rate grid,
and each seed is reported at the rate chosen on the other seeds (`tuning.cross_fit`); all arms
and learning rates of one cell and seed train as one stacked model
(`training.stacked.train_stacked`). Measured: final test MSE against the 1/6 of always answering 1, divergence,
each trained cell run on sequences longer than it saw (does its state explode?), and for the
original cells the gates' and states' distribution at initialisation and at the end.

Run: ``python -m relu_tanh run gates --scale paper --device cuda``
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from ..measure import bench, tuning
from ..training import sequences
from ..nets.activations import ACTIVATIONS, CELL_NONLINEARITIES
from ..nets.cells import CELLS, GATE_NAMES, GatedConfig, GatedRNN
from ..training.loop import TrainConfig
from ..training.stacked import Stacked, members, train_stacked
from . import Experiment, register

REFERENCE = ("sigmoid", "tanh")  # the original cells: (gate, state)
NEAR = 0.1  # a gate value within 0.1 of 0 or of 1 "sits near" it
HIST_BINS = 20  # gate histograms: equal bins over [0, 1]; values above 1 (ReLU gates) go to the last
STATE_RANGE = 4.0  # state histograms: equal bins over [-4, 4], outliers in the end bins
PROBE = 256  # test sequences on which the gates are traced
EXPLODED = 1e4  # a state this large has exploded: with gates in [0, 1] and tanh, |c_t| <= t


@dataclass(frozen=True)
class GatesConfig:
    cells: tuple[str, ...] = ("lstm", "gru")
    arms: tuple[tuple[str, str], ...] = (  # (gate, state) nonlinearities
        REFERENCE, ("hard_sigmoid", "tanh"), ("clamped_relu", "tanh"), ("relu", "tanh"),
        ("sigmoid", "relu"), ("sigmoid", "identity"))
    lrs: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1)  # Adam; every arm gets the same grid
    length: int = 20  # steps of the adding problem
    n_train: int = 6400
    n_test: int = 1000
    hidden_size: int = 16
    solve_fraction: float = 0.1  # solved: test MSE below 10% of the baseline 1/6
    long_length: int = 100  # the trained cells are also run on sequences this long
    threads: int | None = 1  # torch threads on CPU: for ops this small a second one only spins
    train: TrainConfig = TrainConfig(epochs=3, batch_size=32, optimizer="adam", clip=1.0,
                                     log_every=25)

    def __post_init__(self) -> None:
        # a config rebuilt from JSON holds lists: make the arms tuples again
        object.__setattr__(self, "arms", tuple(tuple(arm) for arm in self.arms))

    def validate(self) -> None:
        if unknown := [c for c in self.cells if c not in CELLS]:
            raise ValueError(f"cells: unknown {unknown}; valid choices: {', '.join(CELLS)}")
        if bad := [arm for arm in self.arms if len(arm) != 2]:
            raise ValueError(f"arms: each arm is a (gate, state) pair, got {bad}")
        valid = [*ACTIVATIONS.names(), *CELL_NONLINEARITIES.names()]
        if unknown := sorted({n for arm in self.arms for n in arm if n not in valid}):
            raise ValueError(f"arms: unknown nonlinearities {unknown}; valid choices: {', '.join(valid)}")
        if REFERENCE not in self.arms:
            raise ValueError(f"arms must include the original cells {REFERENCE}")


@torch.no_grad()
def trace_stats(model: GatedRNN, x: torch.Tensor) -> list[dict[str, Any] | None]:
    """Per model, over the sequences x (B, T, I): for each gate the share of values below NEAR and
    above 1 - NEAR, the share above 1, and a histogram over [0, 1] (HIST_BINS bins); for h and
    the LSTM's c a histogram over [-STATE_RANGE, STATE_RANGE] and the largest |value|; the
    per-unit mean of the forget gate (LSTM) or update gate (GRU). None for a model with NaNs."""
    trace: dict[str, list[torch.Tensor]] = {}
    model(x, trace)
    k = model.cell.n_models
    stats: list[dict[str, Any]] = [{} for _ in range(k)]
    for name, steps in trace.items():
        v = torch.stack(steps, 2)  # (K, B, T, H)
        flat = v.flatten(1).double()  # (K, B*T*H)
        gate = name not in ("h", "c")
        low, high = (0.0, 1.0) if gate else (-STATE_RANGE, STATE_RANGE)
        for j in range(k):
            row = flat[j]
            if not bool(torch.isfinite(row).all()):
                stats[j] = None
                continue
            if stats[j] is None:
                continue
            entry = {"hist": torch.histc(row.clamp(low, high), HIST_BINS, low, high).tolist()}
            if gate:
                entry.update(near0=float((row < NEAR).double().mean()),
                             near1=float((row > 1 - NEAR).double().mean()),
                             above1=float((row > 1).double().mean()))
            else:
                entry["max_abs"] = float(row.abs().max())
            if name in ("forget", "update"):
                entry["unit_mean"] = v[j].mean(dim=(0, 1)).tolist()  # (H,)
            stats[j][name] = entry
    return stats


@torch.no_grad()
def long_probe(model: GatedRNN, length: int, seed: int, device: str) -> list[dict[str, Any]]:
    """Per model, on PROBE adding-problem sequences of `length` steps (longer than trained on):
    the test MSE and the largest |state| (the LSTM's c, the GRU's h) over all steps; None where
    not finite."""
    x, y = sequences.adding_problem(length, PROBE, seed=10_000 + seed)
    trace: dict[str, list[torch.Tensor]] = {}
    out = model(x.to(device), trace)  # (K, PROBE, 1)
    state = torch.stack(trace["c" if "c" in trace else "h"], 2)  # (K, B, T, H)
    mse = ((out - y.to(device)) ** 2).mean(dim=(1, 2)).tolist()
    peak = state.abs().flatten(1).max(1).values.tolist()
    finite = lambda v: v if math.isfinite(v) else None
    return [{"mse": finite(m), "max_state": finite(p)} for m, p in zip(mse, peak)]


def _stacked_model(cfg: GatesConfig, cell: str, seed: int) -> tuple[GatedRNN, list[tuple]]:
    """One model per (arm, lr), all starting from the same weights drawn with `seed`; models
    sharing a nonlinearity sit side by side, so that each is applied in as few calls as can be."""
    grid = sorted(((gate, state, lr) for (gate, state), lr in itertools.product(cfg.arms, cfg.lrs)),
                  key=lambda m: (m[0] == REFERENCE[0], m[0], m[1] != REFERENCE[1], m[1]))
    torch.manual_seed(seed)
    model = GatedRNN(GatedConfig(cell, 2, 1, cfg.hidden_size, tuple(g for g, _, _ in grid),
                                 tuple(s for _, s, _ in grid)))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p[:1].expand_as(p))  # paired design: arms differ only in their nonlinearities
    return model, grid


def run_seed(cfg: GatesConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    ds = sequences.adding(cfg.length, cfg.n_train, cfg.n_test, seed=seed)
    probe = ds.x_test[:PROBE].to(device)
    cells = {}
    for cell in cfg.cells:
        model, grid = _stacked_model(cfg, cell, seed)
        model.to(device)
        with bench.num_threads(cfg.threads if device == "cpu" else None):
            init = trace_stats(model, probe)
            runs, clock = train_stacked(Stacked.native(model),
                                    members(cfg.train, [lr for _, _, lr in grid], [seed] * len(grid)),
                                    ds, cfg.train, device=device)
            final = trace_stats(model, probe)
            long = long_probe(model, cfg.long_length, seed, device)
        steps = cfg.train.epochs * math.ceil(cfg.n_train / cfg.train.batch_size)
        per_epoch = math.ceil(cfg.n_train / cfg.train.batch_size)
        seconds = clock["wall"][per_epoch - 1::per_epoch] or clock["wall"][-1:]  # at epoch ends
        cells[cell] = {
            "steps": steps, "epoch_seconds": seconds,
            "models": [{"gate": g, "state": s, "lr": lr, "test_mse": r.epoch_test_error,
                        "diverged": r.diverged, "diverged_at_step": r.diverged_at_step,
                        "init": init[k], "final": final[k], "long": long[k]}
                       for k, ((g, s, lr), r) in enumerate(zip(grid, runs))]}
        if progress:
            print(f"seed {seed}, {cell}: {steps} steps in {seconds[-1]:.1f} s", flush=True)
    return {"data": ds.source, "cells": cells}


def _final_mse(run: dict[str, Any]) -> float:
    """A run's last test MSE; a diverged run, or one whose test MSE overflowed, is censored at inf."""
    mse = run["test_mse"][-1] if run["test_mse"] else math.inf
    return math.inf if run["diverged"] or mse is None or not math.isfinite(mse) else mse


def _tally(runs: Sequence[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Runs, solved (final MSE below `threshold`), diverged, the final MSEs and their median."""
    mse = [_final_mse(r) for r in runs]
    return {"n": len(runs), "solved": sum(m < threshold for m in mse),
            "diverged": sum(r["diverged"] for r in runs),
            "median_mse": float(np.median(mse)) if mse else math.inf, "mse": mse}


def _arm(cfg: GatesConfig, runs: dict[float, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    """One arm over the lr grid (`runs[lr][seed]`): per lr the seeds solved, diverged and the
    median final MSE; each seed scored at the lr `chosen` for it on the other seeds
    (`tuning.cross_fit`: most solved, then lowest median MSE), `edge` when one of those is at
    the grid's edge; and for the scored runs that did not diverge, the longer sequences: median
    MSE, and how many states exploded (not finite or at least EXPLODED)."""
    threshold = cfg.solve_fraction * sequences.ADDING_BASELINE_MSE
    per_lr = {lr: _tally(list(rs.values()), threshold) for lr, rs in runs.items()}

    def rank(rs: Sequence[dict[str, Any]]) -> tuple[int, float]:
        tally = _tally(rs, threshold)
        return -tally["solved"], tally["median_mse"]

    chosen = tuning.cross_fit(runs, rank)
    scored = tuning.scored(runs, chosen)
    edge = len(cfg.lrs) > 1 and bool({cfg.lrs[0], cfg.lrs[-1]} & set(chosen.values()))
    long = [r["long"] for r in scored if not r["diverged"] and r.get("long") is not None]
    exploded = sum(p["max_state"] is None or p["max_state"] >= EXPLODED or p["mse"] is None
                   for p in long)
    long_mse = [p["mse"] if p["mse"] is not None else math.inf for p in long]
    return {"per_lr": per_lr, "chosen": chosen, "edge": edge, **_tally(scored, threshold),
            "curves": [r["test_mse"] for r in scored],
            "diverged_any_lr": sum(v["diverged"] for v in per_lr.values()),
            "runs": sum(v["n"] for v in per_lr.values()),
            "long_n": len(long), "long_exploded": exploded,
            "long_median_mse": float(np.median(long_mse)) if long_mse else math.inf,
            "long_max_state": max((p["max_state"] if p["max_state"] is not None else math.inf
                                   for p in long), default=math.nan)}


def _pool_traces(runs: list[dict[str, Any]], when: str) -> dict[str, Any]:
    """Gate statistics of the runs that did not diverge: shares averaged, histograms summed,
    per-unit means concatenated over seeds."""
    stats = [r[when] for r in runs if r[when] is not None]
    out: dict[str, Any] = {"n": len(stats)}
    for name in (stats[0] if stats else {}):
        entries = [s[name] for s in stats]
        pooled = {"hist": np.sum([e["hist"] for e in entries], 0).tolist()}
        for key in ("near0", "near1", "above1", "max_abs"):
            if key in entries[0]:
                pooled[key] = float(np.mean([e[key] for e in entries]))
        if "unit_mean" in entries[0]:
            pooled["unit_mean"] = [u for e in entries for u in e["unit_mean"]]
        out[name] = pooled
    return out


def summarize(cfg: GatesConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """`arms[(cell, gate, state)]`: the arm over the lr grid, each seed scored at the lr chosen
    on the other seeds (`_arm`); `traces[cell]`: the original cell's gates in those scored runs,
    at initialisation and at the end; `steps_per_s[cell]`: per seed, the rate of each epoch;
    `length`: the steps of the sequences trained on."""
    arms, traces, rates = {}, {}, {}
    for cell in cfg.cells:
        for gate, state in cfg.arms:
            runs = {lr: {seed: m for seed, s in seeds.items() for m in s["cells"][cell]["models"]
                         if (m["gate"], m["state"], m["lr"]) == (gate, state, lr)}
                    for lr in cfg.lrs}
            arm = arms[(cell, gate, state)] = _arm(cfg, runs)
            if (gate, state) == REFERENCE:
                scored = tuning.scored(runs, arm["chosen"])
                traces[cell] = {"init": _pool_traces(scored, "init"),
                                "final": _pool_traces(scored, "final")}
        rates[cell] = []
        for s in seeds.values():
            c = s["cells"][cell]
            per_epoch = c["steps"] / len(c["epoch_seconds"])
            ends = [0.0, *c["epoch_seconds"]]
            rates[cell].append([per_epoch / (b - a) for a, b in zip(ends[:-1], ends[1:])])
    return {"arms": arms, "traces": traces, "steps_per_s": rates, "length": cfg.length,
            "long_length": cfg.long_length,
            "threshold": cfg.solve_fraction * sequences.ADDING_BASELINE_MSE,
            "seeds": len(seeds), "data": next(iter(seeds.values()))["data"] if seeds else ""}


register(Experiment(
    name="gates",
    chapter="gates",
    version=2,  # 2: trained by the shared torch.func trainer (torch.optim rounds differently)
    description="LSTM and GRU on the adding problem with sigmoid, hard-sigmoid, clamped-ReLU or ReLU "
                "gates, and tanh, ReLU or no state nonlinearity",
    configs={
        "smoke": GatesConfig(length=10, n_train=256, n_test=128, hidden_size=8,
                             lrs=(0.01, 0.03), long_length=40,
                             train=TrainConfig(epochs=2, batch_size=32, optimizer="adam", clip=1.0,
                                               log_every=25)),
        "book": GatesConfig(),
        "paper": GatesConfig(length=100, n_train=25600, n_test=2000, hidden_size=64,
                             long_length=500,
                             lrs=(0.001, 0.003, 0.01, 0.03),
                             train=TrainConfig(epochs=15, batch_size=64, optimizer="adam",
                                               clip=1.0, log_every=50)),
    },
    seeds={"smoke": 2, "book": 3, "paper": 5},
    run_seed=run_seed,
    summarize=summarize,
))


def tables(s: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """{title: (header, rows)} for `book.tables`, one row per arm in each. Training: the lr chosen
    for each seed on the other seeds (* when one is at the grid's edge), seeds solved at it, runs
    diverged over the whole grid, median test MSE of the scored runs and its ratio to the
    original cell's. Longer sequences: the median MSE there and the seeds whose state exploded."""
    train, longer = [], []
    for (cell, gate, state), a in s["arms"].items():
        ref = s["arms"][(cell, *REFERENCE)]["median_mse"]
        ratio = a["median_mse"] / ref if math.isfinite(a["median_mse"]) and ref > 0 else math.inf
        lrs = ", ".join(f"{a['chosen'][seed]:g}" for seed in sorted(a["chosen"]))
        arm = [cell.upper(), gate, state]
        train.append([*arm, lrs + ("*" if a["edge"] else ""), f"{a['solved']}/{a['n']}",
                      f"{a['diverged_any_lr']}/{a['runs']}", a["median_mse"], ratio])
        longer.append([*arm, a["long_median_mse"], f"{a['long_exploded']}/{a['long_n']}"])
    return {"Training, at the rate chosen on the other seeds":
            (["cell", "gate", "state", "lr per seed", "solved", "diverged (all lrs)", "median MSE",
              "vs original"], train),
            "Longer sequences, the trained cells": (["cell", "gate", "state", "median MSE", "exploded"], longer)}


def gate_numbers(s: dict[str, Any]) -> dict[str, float]:
    """For the original cells in their scored runs: each gate's share of values near 0 and near 1
    (within NEAR) at initialisation and at the end; the per-unit mean of the forget (LSTM) and
    update (GRU) gate, before and after, and the share of units whose mean is above 1 - NEAR;
    and the training rate in steps/s with its spread over epochs (max / min)."""
    out: dict[str, float] = {}
    for cell, t in s["traces"].items():
        for name in GATE_NAMES[cell]:
            for when in ("init", "final"):
                if name in t[when]:
                    out[f"{cell}-{name}-{when}-near0"] = t[when][name]["near0"]
                    out[f"{cell}-{name}-{when}-near1"] = t[when][name]["near1"]
        keep = GATE_NAMES[cell][1]  # forget (LSTM), update (GRU): the gates that keep the state
        if keep in t["final"] and keep in t["init"]:
            before = np.array(t["init"][keep]["unit_mean"])
            after = np.array(t["final"][keep]["unit_mean"])
            out[f"{cell}-{keep}-init-mean"] = float(before.mean())
            out[f"{cell}-{keep}-final-mean"] = float(after.mean())
            out[f"{cell}-{keep}-final-units-near1"] = float((after > 1 - NEAR).mean())
            out[f"{cell}-{keep}-final-units-min"] = float(after.min())
        for (c, gate, state), a in s["arms"].items():
            if c == cell:
                out[f"{cell}-{gate}-{state}-long-exploded"] = a["long_exploded"]
                out[f"{cell}-{gate}-{state}-long-n"] = a["long_n"]
                out[f"{cell}-{gate}-{state}-long-mse"] = a["long_median_mse"]
        rates = [r for seed in s["steps_per_s"][cell] for r in seed]
        out[f"{cell}-steps-per-s"] = float(np.median(rates))
        out[f"{cell}-steps-spread"] = float(max(rates) / min(rates))
    return out
