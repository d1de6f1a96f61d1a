"""Images/s of one SGD step (forward, backward, update) of the layers-18pct ConvNet at 32x32x3,
batch 128, on this CPU, beside the machine's matmul GFLOP/s; prints a markdown table.

    PYTHONPATH=src python scripts/bench_cifar_step.py            # about 3 minutes on 2 cores

Rows: the project's trainer (`training.loop.train`) and a bare PyTorch loop, each in both
memory layouts, and variants of the bare loop (oneDNN off, oneDNN's implicit bf16 for fp32
convolutions, bf16 autocast, torch.compile: tanh + rnorm only, a compile takes a minute), for
ReLU and tanh with and without response normalisation (the 2012 pipeline has it, the modern
one not); then 1 process x 1 thread and 2 processes x 1 thread (total images/s), and the
layout the long runs should use. Inputs are on the 2012 pipeline's scale (raw pixels minus the mean image)
and denormals are flushed, as `experiments.run_unit` does. A bf16 variant counts as sound only
if its running training-error curve matches fp32 from the same start (`curve_check`).
Timings on a shared machine are noisy: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import nullcontext
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from relu_tanh import data
from relu_tanh.nets import models
from relu_tanh.training.loop import TrainConfig, train

BATCH, SIDE, CHANNELS = 128, 32, (32, 32, 64)
CURVE_TOLERANCE = 0.02  # largest |fp32 - bf16| running error per epoch that counts as the same


def net(activation: str, rnorm: bool) -> models.ConvNet:
    torch.manual_seed(0)
    return models.ConvNet(models.ConvNetConfig(3, SIDE, 10, CHANNELS, activation, rnorm=rnorm))


def batches(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, SIDE, SIDE, generator=gen) * 60, torch.randint(0, 10, (n,), generator=gen)


def bare_ips(model: nn.Module, steps: int, *, channels_last: bool = False,
             autocast: bool = False, warmup: int = 3) -> float:
    """Images/s of `steps` plain SGD steps (after `warmup`), a fresh batch gathered each step."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x, y = batches(BATCH * 8)
    x = x.contiguous(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    ctx = torch.autocast("cpu", torch.bfloat16) if autocast else nullcontext()

    def step(i: int) -> None:
        idx = torch.randint(0, len(x), (BATCH,))
        with ctx:
            loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(warmup):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps * BATCH / (time.perf_counter() - start)


def trainer_ips(model: nn.Module, steps: int, channels_last: bool = False) -> float:
    """Images/s of `training.loop.train` over one epoch of `steps` batches (a warm-up epoch
    first); the epoch's time includes its end-of-epoch evaluation of 128 test images."""
    x, y = batches(BATCH * steps)
    ds = data.Dataset("synthetic", "random", x, y, x[:BATCH], y[:BATCH])
    cfg = TrainConfig(epochs=1, batch_size=BATCH, lr=1e-3, momentum=0.9, log_every=50,
                      channels_last=channels_last)
    warm = data.Dataset("synthetic", "random", x[:3 * BATCH], y[:3 * BATCH], x[:BATCH], y[:BATCH])
    train(model, warm, cfg, seed=0)
    return steps * BATCH / train(model, ds, cfg, seed=0).epoch_seconds[0]


def compiled_ips(model: nn.Module, steps: int) -> tuple[float, float]:
    """Images/s of the bare loop with `torch.compile(model)`, and the seconds compiling took."""
    start = time.perf_counter()
    cmodel = torch.compile(model)
    bare_ips(cmodel, 1, warmup=1)
    took = time.perf_counter() - start
    return bare_ips(cmodel, steps, warmup=1), took


def step_flops(activation: str, rnorm: bool) -> int:
    """FLOPs of one step (forward and backward; the update is negligible), as PyTorch's
    FlopCounterMode counts matmuls and convolutions."""
    from torch.utils.flop_counter import FlopCounterMode

    model, (x, y) = net(activation, rnorm), batches(BATCH)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops()


def mm_gflops(m: int, k: int, n: int, dtype: torch.dtype, seconds: float = 1.0) -> float:
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    torch.mm(a, b)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        calls += 1
    return 2 * m * k * n * calls / (time.perf_counter() - start) / 1e9


def curve_check(autocast: bool, fp32_precision: str | None, epochs: int = 4) -> float:
    """Largest per-epoch difference of the running training error between fp32 and a bf16 mode,
    from the same start and data order: the book-scale 2012 pipeline (1,024 Fashion-MNIST
    images, 16x16, tanh and ReLU), the worse activation counted."""
    from relu_tanh.experiments import krizhevsky as k

    cfg = k.BOOK
    raw = k.raw_pixels(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample, cfg.side)
    ds = k.pipeline_input(raw, "mean-image")
    worst = 0.0
    for act, lr in (("relu", 0.02), ("tanh", 0.3)):
        curves = []
        for bf16 in (False, True):
            torch.manual_seed(0)
            model = models.ConvNet(k.pipeline_config(cfg, ds, "2012", act))
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
            gen, errs = torch.Generator().manual_seed(0), []
            ctx = torch.autocast("cpu", torch.bfloat16) if bf16 and autocast else nullcontext()
            with precision(fp32_precision if bf16 else None):
                for _ in range(epochs):
                    wrong = 0
                    for idx in torch.randperm(len(ds.x_train), generator=gen).split(BATCH):
                        with ctx:
                            out = model(ds.x_train[idx])
                            loss = F.cross_entropy(out.float(), ds.y_train[idx])
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                        wrong += int((out.argmax(1) != ds.y_train[idx]).sum())
                    errs.append(wrong / len(ds.x_train))
            curves.append(errs)
        worst = max(worst, max(abs(a - b) for a, b in zip(*curves)))
    return worst


class precision:
    """oneDNN's fp32 math mode for convolutions and matmuls ("bf16": implicit bf16 inputs with
    fp32 accumulation on AMX); None leaves it alone."""

    def __init__(self, mode: str | None) -> None:
        self.mode, self.saved = mode, None

    def __enter__(self) -> None:
        if self.mode is not None:
            self.saved = (torch.backends.mkldnn.conv.fp32_precision,
                          torch.backends.mkldnn.matmul.fp32_precision)
            torch.backends.mkldnn.conv.fp32_precision = self.mode
            torch.backends.mkldnn.matmul.fp32_precision = self.mode

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            torch.backends.mkldnn.conv.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision = self.saved


class mkldnn_off:
    def __enter__(self) -> None:
        torch.backends.mkldnn.enabled = False

    def __exit__(self, *exc: object) -> None:
        torch.backends.mkldnn.enabled = True


def worker(steps: int, threads: int) -> None:
    """One process of the processes-x-threads rows: wait for the start time, print images/s."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    model = net("tanh", True)
    bare_ips(model, 2, channels_last=True)  # warm before the common start
    start_at = float(os.environ["BENCH_START_AT"])
    time.sleep(max(0.0, start_at - time.time()))
    print(json.dumps(bare_ips(model, steps, channels_last=True, warmup=0)))


def processes_ips(n: int, steps: int) -> float:
    """Total images/s of `n` processes with 1 thread each, all timed over the same interval
    (the 2012 tanh net with rnorm, channels_last)."""
    env = {**os.environ, "BENCH_START_AT": str(time.time() + 8), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(steps)], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(n)]
    return sum(float(p.communicate()[0].strip().splitlines()[-1]) for p in procs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=10, help="timed steps per cell and round (default 10)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds, best kept (default 2)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker is not None:
        return worker(args.worker, 1)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    t0 = time.perf_counter()
    peak = {d: mm_gflops(1024, 1024, 1024, getattr(torch, d)) for d in ("float32", "bfloat16")}
    conv_like = mm_gflops(BATCH * 16 * 16, 32 * 25, 32, torch.float32)  # conv2 as one GEMM
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{data_cpu()}\n\nmatmul 1024^3: fp32 {peak['float32']:.0f} GFLOP/s, bf16 "
          f"{peak['bfloat16']:.0f} GFLOP/s; conv2-shaped fp32 GEMM (32768x800 @ 800x32): "
          f"{conv_like:.0f} GFLOP/s\n", flush=True)
    variants: dict[str, Callable[[nn.Module], float]] = {
        # an epoch of 4 x steps batches: its end (evaluation, a logged step) is amortised as in
        # a long run's 391-batch epoch, within a per cent or two
        "project trainer (loop.train)": lambda m: trainer_ips(m, 4 * args.steps),
        "bare loop": lambda m: bare_ips(m, args.steps),
        "project trainer, channels_last": lambda m: trainer_ips(m, 4 * args.steps, True),
        "bare, channels_last": lambda m: bare_ips(m, args.steps, channels_last=True),
        # PyTorch's own convolutions run at a few per cent of peak: fewer steps
        "bare, oneDNN off": lambda m: _with(mkldnn_off(), lambda: bare_ips(m, max(3, args.steps // 4), warmup=1)),
        "bare, oneDNN fp32 math bf16": lambda m: _with(precision("bf16"), lambda: bare_ips(m, args.steps)),
        "bare, bf16 autocast": lambda m: bare_ips(m, args.steps, autocast=True),
    }
    cells = [(a, r) for r in (False, True) for a in ("relu", "tanh")]
    flops = {c: step_flops(*c) for c in cells}
    rows: dict[str, dict] = {name: {} for name in variants}
    for r in range(args.rounds):  # interleaved rounds, best kept: other load only slows a round
        for c in cells:
            for name, fn in variants.items():
                rows[name][c] = max(rows[name].get(c, 0.0), fn(net(*c)))
        print(f"after round {r + 1} of {args.rounds} (best of the rounds so far):\n"
              f"{table(rows, flops, peak['float32'])}\n", flush=True)
    again = {d: mm_gflops(1024, 1024, 1024, getattr(torch, d)) for d in peak}  # load may have eased
    peak = {d: max(peak[d], again[d]) for d in peak}
    print(f"matmul 1024^3 again: fp32 {again['float32']:.0f}, bf16 {again['bfloat16']:.0f} GFLOP/s; "
          f"shares of peak below use the better of the two:\n{table(rows, flops, peak['float32'])}\n")
    for fmt in ("", ", channels_last"):
        trainer, bare = f"project trainer{fmt or ' (loop.train)'}", f"bare{fmt or ' loop'}"
        ratio = min(rows[trainer][c] / rows[bare][c] for c in cells)
        print(f"project trainer / bare loop{fmt}, worst cell: {ratio:.2f}")
    one, two = processes_ips(1, 2 * args.steps), processes_ips(2, 2 * args.steps)
    both = rows["bare, channels_last"][("tanh", True)]
    print(f"\n2012 tanh with rnorm, bare loop, channels_last: 1 process x 1 thread {one:.0f} images/s, "
          f"2 processes x 1 thread {two:.0f} images/s in all; 1 process x 2 threads {both:.0f}\n"
          f"for long runs: {'2 processes x 1 thread' if two > both else '1 process x 2 threads'} "
          f"(PROCS={2 if two > both else 1} THREADS={1 if two > both else 2} scripts/cifar_units.sh)",
          flush=True)
    for name, kw in (("bf16 autocast", {"autocast": True, "fp32_precision": None}),
                     ("oneDNN fp32 math bf16", {"autocast": False, "fp32_precision": "bf16"})):
        diff = curve_check(**kw)
        verdict = "same curve" if diff <= CURVE_TOLERANCE else "NOT the same curve"
        print(f"{name}: largest running-error difference from fp32 over 4 book-scale epochs "
              f"{diff:.3f} ({verdict}; tolerance {CURVE_TOLERANCE})", flush=True)
    if not args.no_compile:
        try:  # last: a compile takes a minute or more
            cell = cells[-1]
            ips, took = compiled_ips(net(*cell), args.steps)
            print(f"torch.compile, {cell[0]} +rnorm: {ips:.0f} img/s against the bare loop's "
                  f"{rows['bare loop'][cell]:.0f} (same round: none), {took:.0f} s to compile")
        except Exception as err:  # offline or without a compiler: say so, keep the rest
            print(f"torch.compile failed: {type(err).__name__}: {str(err).splitlines()[0]}")
    print(f"\nbenchmark took {time.perf_counter() - t0:.0f} s")


def _with(ctx, fn: Callable[[], float]) -> float:
    with ctx:
        return fn()


def table(rows: dict[str, dict], flops: dict, peak: float) -> str:
    """Markdown: images/s per variant and cell, with GFLOP/s and share of fp32 matmul peak."""
    cells = list(flops)
    head = [f"{a}{' +rnorm' if r else ''}" for a, r in cells]
    lines = ["| variant | " + " | ".join(head) + " |", "|---" * (len(cells) + 1) + "|"]
    for name, v in rows.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{v[c]:.0f} img/s ({v[c] * flops[c] / BATCH / 1e9:.0f} GFLOP/s, "
            f"{v[c] * flops[c] / BATCH / 1e9 / peak:.0%})" if c in v else "-" for c in cells) + " |")
    lines.append(f"\nstep FLOPs per image (FlopCounterMode, forward + backward): " + ", ".join(
        f"{h} {flops[c] / BATCH / 1e6:.1f} MFLOP" for h, c in zip(head, cells)))
    return "\n".join(lines)


def data_cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
