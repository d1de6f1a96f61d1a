"""Chapter "cost": is ReLU much less computational than sigmoid and tanh, per element and per
training step?

``cost_micro`` times every registered activation alone (`relu_tanh.measure.bench`): forward and
forward+backward, float32 and bfloat16, tensors from cache-resident to beyond the last-level
cache, each held against the copy bandwidth measured in the same run.
``cost_step`` times one SGD step of the Krizhevsky-style CNN (`models.ConvNet`) and of an
Elman RNN (`models.ElmanRNN`) with each activation, and with the activation removed, so the
activation's share of a training step can be read off.

Run: ``python -m relu_tanh run cost_micro --scale paper --device cuda``
     ``python -m relu_tanh run cost_step --scale paper --device cuda``
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..measure import bench
from ..measure.hardware import cache_lines, hardware_info
from ..nets import models
from ..nets.activations import ACTIVATIONS
from . import Experiment, register

BASELINE = "relu"  # per-element and per-step times are quoted relative to ReLU's
EXPENSIVE = ("tanh", "sigmoid")  # the activations the article says cost more
IDENTITY = "identity"  # the step with the activation removed: not an activation, a baseline
N_CLASSES = 10


# --- cost_micro: every activation alone -------------------------------------------------------


def run_micro(cfg: bench.BenchConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """The sweep of `bench.run_sweep` on `device` (the runner's; the config's device only says
    what the scale is sized for), its sizes extended beyond the last-level cache the machine
    reports (`bench.sizes_beyond`), then every activation's forward pass into a preallocated
    output at the largest size (`bench.run_into`); with the threads used and the hardware."""
    if torch.device(cfg.device).type == "cuda" and torch.device(device).type != "cuda":
        raise ValueError(f"cost_micro at this scale is sized for {cfg.device} (tensors up to "
                         f"{max(cfg.sizes):,} elements, compiled kernels): pass --device cuda")
    hardware = hardware_info(device)
    llc = max(cache_lines(hardware).values(), default=None)
    cfg = dataclasses.replace(cfg, device=device, sizes=bench.sizes_beyond(cfg, llc))
    torch.manual_seed(seed)
    rows, copies = bench.run_sweep(cfg, progress)
    into = bench.run_into(cfg, copies, max(cfg.sizes))
    with bench.num_threads(cfg.threads):
        threads = torch.get_num_threads()
    return {"rows": rows, "copies": copies, "into": into, "threads": threads, "hardware": hardware}


ROW_KEY = ("activation", "numel", "dtype", "mode", "compiled")
COPY_KEY = ("numel", "dtype")


def _nan_for_none(row: dict[str, Any]) -> dict[str, Any]:
    """Stored JSON holds null where a time was NaN (a failed compile); turn it back."""
    return {k: math.nan if v is None and k != "error" else v for k, v in row.items()}


def _median_seed_rows(per_seed: list[list[dict[str, Any]]], key: tuple[str, ...],
                      by: str) -> list[dict[str, Any]]:
    """For each key, the row of the seed with the median `by` (the lower one of an even count),
    so every field of a row comes from one consistent measurement."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for rows in per_seed:
        for row in map(_nan_for_none, rows):
            groups.setdefault(tuple(row[k] for k in key), []).append(row)
    out = []
    for rows in groups.values():
        ranked = sorted(rows, key=lambda r: (math.isnan(r[by]), r[by]))
        out.append(ranked[(len(ranked) - 1) // 2])
    return out


def ratios(rows: list[dict[str, Any]], baseline: str = BASELINE) -> list[dict[str, Any]]:
    """Every row's time over the baseline's at the same size, dtype, mode and compilation."""
    base = {(r["numel"], r["dtype"], r["mode"], r["compiled"]): r["median_s"]
            for r in rows if r["activation"] == baseline}
    out = []
    for r in rows:
        b = base.get((r["numel"], r["dtype"], r["mode"], r["compiled"]))
        if b is not None and math.isfinite(b) and r["error"] is None and math.isfinite(r["median_s"]):
            out.append({k: r[k] for k in ROW_KEY} | {"ratio": r["median_s"] / b})
    return out


def summarize_micro(cfg: bench.BenchConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Rows and copy rows (of the median seed, if several), every time relative to ReLU's,
    the sizes, the size at which a clone is fastest per dtype (`peak`: where caches help most),
    the forward rows into a preallocated output at the largest size (`into`, with ratios to
    ReLU's), the last-level cache size (`llc_bytes`), and the hardware and threads of the first
    seed."""
    first = seeds[min(seeds)]
    rows = _median_seed_rows([s["rows"] for s in seeds.values()], ROW_KEY, "median_s")
    copies = _median_seed_rows([s["copies"] for s in seeds.values()], COPY_KEY, "clone_median_s")
    into = _median_seed_rows([s.get("into", []) for s in seeds.values()], ROW_KEY, "median_s")
    into_ratio = {(r["activation"], r["dtype"]): r["ratio"] for r in ratios(into)}
    sizes = sorted({r["numel"] for r in rows})
    peak = {d: max((c for c in copies if c["dtype"] == d), key=lambda c: c["clone_bytes_per_s"])["numel"]
            for d in dict.fromkeys(c["dtype"] for c in copies)}
    return {"device": rows[0]["device"], "hardware": first["hardware"], "threads": first["threads"],
            "rows": rows, "copies": copies, "sizes": sizes, "largest": sizes[-1], "peak": peak,
            "ratios": ratios(rows), "into": [r | {"ratio": into_ratio.get((r["activation"], r["dtype"]), math.nan)} for r in into],
            "llc_bytes": max(cache_lines(first["hardware"]).values(), default=None)}


def micro_at(summary: dict[str, Any], numel: int, dtype: str = "float32",
             compiled: bool = False) -> list[dict[str, Any]]:
    """The rows at one size and dtype, each with its time relative to ReLU's (`ratio`)."""
    ratio = {(r["activation"], r["mode"]): r["ratio"] for r in summary["ratios"]
             if (r["numel"], r["dtype"], r["compiled"]) == (numel, dtype, compiled)}
    return [r | {"ratio": ratio.get((r["activation"], r["mode"]), math.nan)}
            for r in summary["rows"]
            if (r["numel"], r["dtype"], r["compiled"]) == (numel, dtype, compiled)]


def peak_copy_size(summary: dict[str, Any], dtype: str = "float32") -> int:
    """The size at which the clone is fastest per byte: where caches help most."""
    return summary["peak"][dtype]


def harness_check(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per dtype, at the largest size: ReLU's eager forward bandwidth as a fraction of the
    clone's and of the preallocated copy's, the clone's over the preallocated copy's, and ReLU
    into a preallocated output over the preallocated copy. Near 1 the harness times the memory;
    well below it times overhead (or, on CPU, page faults of fresh outputs)."""
    n = summary["largest"]
    relu = {r["dtype"]: r for r in summary["rows"] if (r["activation"], r["numel"], r["mode"], r["compiled"])
            == (BASELINE, n, "forward", False)}
    into = {r["dtype"]: r for r in summary.get("into", []) if r["activation"] == BASELINE}
    copies = {c["dtype"]: c for c in summary["copies"] if c["numel"] == n}
    out = {}
    for dtype, r in relu.items():
        c = copies[dtype]
        out[dtype] = {"of_clone": r["fraction_of_copy"], "of_prealloc": r["bytes_per_s"] / c["prealloc_bytes_per_s"],
                      "clone_over_prealloc": c["clone_bytes_per_s"] / c["prealloc_bytes_per_s"]}
        if dtype in into:
            out[dtype]["into_of_prealloc"] = into[dtype]["fraction_of_copy"]
    return out


def allocation_effect(summary: dict[str, Any]) -> dict[str, Any] | None:
    """On the largest tensors, forward, the expensive activation and dtype whose time over
    ReLU's moves most between allocating a fresh output and writing into a preallocated one:
    both ratios, the seconds allocating added to it and to ReLU, and the gap between the two
    kernels themselves. None without preallocated timings."""
    n, found = summary["largest"], []
    for dtype in dict.fromkeys(r["dtype"] for r in summary.get("into", [])):
        into = {r["activation"]: r for r in summary["into"] if r["dtype"] == dtype}
        fresh = {r["activation"]: r for r in summary["rows"] if (r["numel"], r["dtype"], r["mode"],
                 r["compiled"]) == (n, dtype, "forward", False)}
        base = BASELINE
        for act in EXPENSIVE:
            if act in into and act in fresh and base in into and base in fresh:
                found.append({"activation": act, "dtype": dtype,
                              "fresh_ratio": fresh[act]["median_s"] / fresh[base]["median_s"],
                              "into_ratio": into[act]["median_s"] / into[base]["median_s"],
                              "extra": fresh[act]["median_s"] - into[act]["median_s"],
                              "extra_relu": fresh[base]["median_s"] - into[base]["median_s"],
                              "kernel_gap": into[act]["median_s"] - into[base]["median_s"]})
    return max(found, key=lambda f: abs(math.log(f["fresh_ratio"] / f["into_ratio"])), default=None)


HARNESS_TARGET = 0.8  # on a GPU, eager ReLU on the largest tensor should reach this share of the
# copy bandwidth; less means the harness times launch or Python overhead, not the kernel


def micro_table(summary: dict[str, Any], numel: int, dtype: str) -> tuple[list[str], list[list]]:
    """(header, rows) for `book.table`: one row per activation, mode (and compilation) at one
    size and dtype: ns per element, bandwidth as a fraction of the clone's, and time over ReLU's."""
    compiled = sorted({r["compiled"] for r in summary["rows"]})
    header = ["activation", "mode", *(["kernel"] if True in compiled else []),
              "ns / element", "of clone", "× ReLU's time"]
    order = list(dict.fromkeys(r["activation"] for r in summary["rows"]))
    cells = []
    for c in compiled:
        for r in micro_at(summary, numel, dtype, c):
            cells.append(((c, r["mode"], order.index(r["activation"])), r["activation"],
                          [1e9 * r["median_s"] / numel, r["fraction_of_copy"], r["ratio"]]))
    rows = []
    for (c, mode, _), name, values in sorted(cells, key=lambda cell: cell[0]):
        kernel = ["compiled" if c else "eager"] if True in compiled else []
        rows.append([name, mode.replace("_", " + "), *kernel, *values])
    return header, rows


def micro_tables(summary: dict[str, Any], at: list[tuple[int, str]]) -> dict[str, tuple[list[str], list[list]]]:
    """`micro_table` for each (size, dtype) of `at`, for `book.tables`: one narrow table per
    dtype, titled with its dtype and size, instead of the dtypes' columns side by side."""
    return {f"{dtype}, {_size(numel, dtype)}": micro_table(summary, numel, dtype) for numel, dtype in at}


def llc_relation(summary: dict[str, Any]) -> str:
    """How the largest tensor (in the narrowest dtype) compares with the last-level cache."""
    llc = summary.get("llc_bytes")
    nbytes = summary["largest"] * min(bench.DTYPES[r["dtype"]].itemsize for r in summary["rows"])
    if not llc:
        return "this machine reports no cache size, so whether they exceed its last-level cache is unknown"
    mib = (f"{llc / 2**20:g} MiB last-level cache that the CPU reports (in a virtual machine, "
           f"the host processor's whole cache, of which this machine may get a much smaller share)")
    if nbytes < llc:
        return (f"they fit inside the {mib}, so at this scale the page checks the code, not the "
                "claim beyond the cache")
    return f"even in bfloat16 they are {nbytes / llc:.3g} times the {mib}"


def into_tables(summary: dict[str, Any]) -> dict[str, tuple[list[str], list[list]]]:
    """{title: (header, rows)} for `book.tables`, one table per dtype (titled with the dtype and
    the size): the forward pass into a preallocated output at the largest size, in ns per element
    and GB/s, `of copy` against the preallocated copy, time over ReLU's and over the same kernel
    allocating its output (`× allocating`)."""
    fresh = {(r["activation"], r["dtype"]): r for r in micro_at_all(summary, summary["largest"])
             if r["mode"] == "forward" and not r["compiled"]}
    header = ["activation", "ns / element", "GB / s", "of copy", "× ReLU's time", "× allocating"]
    out: dict[str, tuple[list[str], list[list]]] = {}
    for r in summary.get("into", []):
        rows = out.setdefault(f"{r['dtype']}, {_size(r['numel'], r['dtype'])}", (header, []))[1]
        rows.append([r["activation"], 1e9 * r["median_s"] / r["numel"], r["bytes_per_s"] / 1e9,
                     r["fraction_of_copy"], r["ratio"],
                     r["median_s"] / fresh[(r["activation"], r["dtype"])]["median_s"]])
    return out


def micro_at_all(summary: dict[str, Any], numel: int) -> list[dict[str, Any]]:
    return [r for d in dict.fromkeys(r["dtype"] for r in summary["rows"]) for c in (False, True)
            for r in micro_at(summary, numel, d, c)]


def _size(numel: int, dtype: str) -> str:
    """'16,777,216 (64 MiB)': elements and bytes in `dtype`."""
    nbytes = numel * bench.DTYPES[dtype].itemsize
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{numel:,} ({nbytes / size:g} {unit})"
    return f"{numel:,} ({nbytes} B)"


# --- cost_step: the activation's share of a training step -------------------------------------


def _registered() -> tuple[str, ...]:
    return tuple(ACTIVATIONS.names())


@dataclass(frozen=True)
class StepConfig:
    """One SGD step (forward, loss, backward, update) on a fixed random batch, per model and
    activation, plus the same model with its activation removed (`IDENTITY`)."""

    models: tuple[str, ...] = ("cnn", "rnn")
    activations: tuple[str, ...] = field(default_factory=_registered)
    cnn_batch: int = 32  # cuda-convnet trained with 128; every op of a step scales with it
    image_size: int = 32  # CIFAR-10
    rnn_batch: int = 64
    seq_len: int = 50
    rnn_input: int = 32
    rnn_hidden: int = 256
    rounds: int = 20  # interleaved: every round times every variant once
    warmup: int = 2
    number: int = 1  # steps per variant and round
    lr: float = 0.01  # the value is irrelevant to the time; momentum 0.9 as in train.py
    threads: int | None = None  # None: leave torch's thread count as it is

    def __post_init__(self) -> None:
        for name in self.activations:
            ACTIVATIONS[name]  # an unknown name raises, listing the valid ones
        if BASELINE not in self.activations:
            raise ValueError(f"activations must include the baseline {BASELINE!r}")
        for model in self.models:
            if model not in MODEL_NAMES:
                raise ValueError(f"unknown model {model!r}; valid choices: {', '.join(MODEL_NAMES)}")


MODEL_NAMES = ("cnn", "rnn")


def build(model: str, activation: str, cfg: StepConfig) -> nn.Module:
    """The CNN or RNN with `activation`; with `IDENTITY`, the ReLU model with its activations
    replaced by nn.Identity, so the step keeps every other operation."""
    act = BASELINE if activation == IDENTITY else activation
    if model == "cnn":
        net: nn.Module = models.ConvNet(models.ConvNetConfig(in_channels=3, image_size=cfg.image_size,
                                                              n_classes=N_CLASSES, activation=act))
    elif model == "rnn":
        net = models.ElmanRNN(models.RNNConfig(cfg.rnn_input, N_CLASSES, cfg.rnn_hidden, activation=act))
    else:
        raise ValueError(f"unknown model {model!r}; valid choices: {', '.join(MODEL_NAMES)}")
    if activation == IDENTITY:
        if hasattr(net, "acts"):
            net.acts = nn.ModuleList(nn.Identity() for _ in net.acts)
        else:
            net.act = nn.Identity()
    return net


def batch(model: str, cfg: StepConfig, device: str, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random inputs and labels: CNN (B, 3, 32, 32) images; RNN (B, T, input) sequences."""
    if model == "cnn":
        shape: tuple[int, ...] = (cfg.cnn_batch, 3, cfg.image_size, cfg.image_size)
    else:
        shape = (cfg.rnn_batch, cfg.seq_len, cfg.rnn_input)
    x = torch.randn(shape, generator=gen)
    y = torch.randint(0, N_CLASSES, (shape[0],), generator=gen)
    return x.to(device), y.to(device)


def train_step(net: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float) -> Callable[[], None]:
    """The timed callable: forward, cross-entropy, backward, SGD update (no host sync)."""
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)

    def step() -> None:
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


@torch.no_grad()
def forward_counts(net: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """One forward pass: how many activation calls it makes, how many elements they produce,
    and the arithmetic of its weight layers (2 x multiply-adds), which the activation rides on."""
    acts = list(net.acts) if hasattr(net, "acts") else [net.act]
    counts = {"calls": 0, "elements": 0, "weight_flops": 0}

    def on_act(_m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        counts["calls"] += 1
        counts["elements"] += out.numel()

    def on_weights(m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        fan_in = m.weight[0].numel()  # in_channels x k x k for a conv, in_features for a linear
        counts["weight_flops"] += 2 * out.numel() * fan_in
    handles = [m.register_forward_hook(on_act) for m in acts]
    handles += [m.register_forward_hook(on_weights) for m in net.modules()
                if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()
    return counts


def run_step(cfg: StepConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Per model: seconds per step of every variant in every round, and the activation traffic."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {"models": {}}
    with bench.num_threads(cfg.threads):
        out["threads"] = torch.get_num_threads()
        for model in cfg.models:
            x, y = batch(model, cfg, device, gen)
            steps = {}
            for name in (*cfg.activations, IDENTITY):
                torch.manual_seed(seed)
                net = build(model, name, cfg).to(device)
                if name == BASELINE:
                    traffic = forward_counts(net, x)
                steps[name] = train_step(net, x, y, cfg.lr)
            times = bench.time_interleaved(steps, device=device, rounds=cfg.rounds,
                                           warmup=cfg.warmup, number=cfg.number)
            out["models"][model] = {"times_s": times, **traffic,
                                    "batch": int(x.shape[0]), "input_shape": list(x.shape[1:])}
    out["hardware"] = hardware_info(device)
    return out


def _stats(values: list[float]) -> dict[str, float]:
    p25, median, p75 = np.percentile(values, [25, 50, 75])
    return {"median": float(median), "p25": float(p25), "p75": float(p75), "n": len(values)}


def summarize_step(cfg: StepConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per model, over all rounds of all seeds (median and quartiles):

    - ``step_s[v]``: seconds per step of variant v (each activation, and `IDENTITY`);
    - ``share[a]``: (t_a - t_identity) / t_a within a round, the fraction of a step with
      activation a that the activation (forward, backward, its memory traffic) accounts for;
    - ``vs_relu[a]``: t_a / t_relu within a round, how much longer a step takes than with ReLU.
    """
    out: dict[str, Any] = {"threads": seeds[min(seeds)]["threads"],
                           "hardware": seeds[min(seeds)]["hardware"]}
    for model in cfg.models:
        runs = [s["models"][model] for s in seeds.values()]
        times = {v: np.concatenate([r["times_s"][v] for r in runs]) for v in runs[0]["times_s"]}
        ident, base = times[IDENTITY], times[BASELINE]
        out[model] = {
            "step_s": {v: _stats(list(t)) for v, t in times.items()},
            "share": {a: _stats(list((times[a] - ident) / times[a])) for a in cfg.activations},
            "vs_relu": {a: _stats(list(times[a] / base)) for a in cfg.activations},
            "calls": runs[0]["calls"], "elements": runs[0]["elements"],
            "flops_per_element": runs[0]["weight_flops"] / runs[0]["elements"],
            "batch": runs[0]["batch"], "input_shape": runs[0]["input_shape"],
        }
    return out


def step_table(summary: dict[str, Any]) -> tuple[list[str], list[list]]:
    """(header, rows) for `book.table`: per model and variant, the median step time with its
    interquartile range, the time over ReLU's step and the activation's share of the step."""
    header = ["model", "activation", "ms / step", "IQR (ms)", "step / ReLU's step", "share of step"]
    q = lambda s, k=1.0: f"{k * s['p25']:.3g} to {k * s['p75']:.3g}"
    rows = []
    for model in (m for m in MODEL_NAMES if m in summary):
        s = summary[model]
        for v, t in s["step_s"].items():
            vs, share = s["vs_relu"].get(v), s["share"].get(v)
            rows.append([model.upper(), v, 1e3 * t["median"], q(t, 1e3),
                         f"{vs['median']:.3f}" if vs else "", f"{100 * share['median']:.1f}%" if share else ""])
    return header, rows


# --- the scales -------------------------------------------------------------------------------

SMOKE_STEP = StepConfig(cnn_batch=4, rnn_batch=4, seq_len=8, rnn_hidden=32, rounds=3, warmup=1,
                        threads=1)
# Book: one thread, for the reason given in bench.bench_config; short steps and many paired
# rounds, so a busy second core slows all variants of a round alike.
BOOK_STEP = StepConfig(threads=1)
PAPER_STEP = StepConfig(cnn_batch=128, rnn_batch=128, seq_len=100, rnn_hidden=1024, rounds=30,
                        warmup=5, number=5)

register(Experiment(
    name="cost_micro",
    chapter="cost",
    version=1,
    description="time per element of every activation vs size, against the copy bandwidth",
    configs={scale: bench.bench_config(scale) for scale in ("smoke", "book", "paper")},
    seeds={"smoke": 1, "book": 1, "paper": 1},
    run_seed=run_micro,
    summarize=summarize_micro,
))

register(Experiment(
    name="cost_step",
    chapter="cost",
    version=1,
    description="one SGD step of a CNN and an RNN per activation, and without one",
    configs={"smoke": SMOKE_STEP, "book": BOOK_STEP, "paper": PAPER_STEP},
    seeds={"smoke": 1, "book": 1, "paper": 1},
    run_seed=run_step,
    summarize=summarize_step,
))
