"""Timing harness and activation microbenchmark.

Serves the claim "ReLU is much cheaper to compute than sigmoid/tanh": each activation
is timed forward and forward+backward, eager and compiled, and its achieved memory
bandwidth is compared with a plain copy of the same tensor, the physical limit of any
elementwise kernel. An activation near the copy's bandwidth is memory-bound, so its
arithmetic (max vs. exp) costs next to nothing. Two copies are timed: a clone, which
allocates its output as an eager activation does (the ceiling rows are held against), and a
copy into a preallocated buffer, the memory's own limit without the allocator.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from ..nets.activations import ACTIVATIONS, LEAKY_SLOPE, get
from ..store.scales import SCALES

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16}

# Elements read + written per input element (the byte model):
# forward reads x and writes y; forward+backward also reads grad_out and the saved
# tensor (x or y) and writes grad_in.
ELEMENTS_MOVED: dict[str, int] = {"forward": 2, "forward_backward": 5}
MODES = tuple(ELEMENTS_MOVED)

MIN_REPEAT_S = 1e-3  # calls are batched until one repeat lasts this long (timer resolution)


@dataclass(frozen=True)
class Timing:
    """Seconds per call over `repeats` timed repeats of `number` calls each."""

    median_s: float
    p25_s: float
    p75_s: float
    repeats: int
    number: int

    @property
    def iqr_s(self) -> float:
        return self.p75_s - self.p25_s


def _seconds_per_call(fn: Callable[[], object], device: torch.device, number: int) -> float:
    """Wall time of `number` back-to-back calls divided by `number`; CUDA work is awaited."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        stream = torch.cuda.current_stream(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(stream)
        for _ in range(number):
            fn()
        end.record(stream)
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / number
    start_s = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start_s) / number


def time_fn(
    fn: Callable[[], object],
    *,
    device: str | torch.device = "cpu",
    repeats: int = 20,
    warmup: int = 3,
    min_repeat_s: float = 0.0,
) -> Timing:
    """Time the zero-argument callable `fn` (a kernel, a training step, ...).

    `warmup` untimed calls come first. If `min_repeat_s` > 0, each repeat batches as many
    calls as the last warm-up call says are needed to last that long, so that kernels of
    a few microseconds are not below the timer's resolution. On CUDA, CUDA events time the
    stream after a synchronisation. `fn` is called `warmup + repeats * number` times.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats=}, {warmup=}")
    device = torch.device(device)
    last_s = math.inf
    for _ in range(warmup):
        last_s = _seconds_per_call(fn, device, 1)
    number = max(1, math.ceil(min_repeat_s / last_s)) if last_s > 0 else 1
    times = [_seconds_per_call(fn, device, number) for _ in range(repeats)]
    p25, median, p75 = np.percentile(times, [25, 50, 75])
    return Timing(float(median), float(p25), float(p75), repeats, number)


def _dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; valid choices: {', '.join(DTYPES)}")
    return DTYPES[name]


def _check_mode(mode: str) -> str:
    if mode not in ELEMENTS_MOVED:
        raise ValueError(f"unknown mode {mode!r}; valid choices: {', '.join(MODES)}")
    return mode


def _check_activation(name: str) -> str:
    if name not in ACTIVATIONS:
        valid = ", ".join(ACTIVATIONS.names())
        raise ValueError(f"unknown activation {name!r}; valid choices: {valid}")
    return name


def _copy_timing(numel: int, dtype: str, device: str | torch.device, preallocated: bool,
                 repeats: int, warmup: int) -> Timing:
    x = torch.randn(numel, dtype=_dtype(dtype), device=device)
    if preallocated:
        out = torch.empty_like(x)
        fn: Callable[[], object] = lambda: out.copy_(x)
    else:
        fn = x.clone
    return time_fn(fn, device=device, repeats=repeats, warmup=warmup, min_repeat_s=MIN_REPEAT_S)


def copy_bandwidth(
    numel: int,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    *,
    repeats: int = 20,
    warmup: int = 3,
    preallocated: bool = False,
) -> float:
    """Bytes/s of `x.clone()` (reads and writes `numel` elements): the elementwise ceiling.

    Like an eager activation, the clone allocates its output, so both pay the allocator.
    On CPU, outputs of tens of MiB are fresh pages whose faults dominate (measured here:
    ~6 GB/s against ~35 GB/s copying into a preallocated buffer) and vary from run to run
    with the allocator's state; forward+backward allocates fewer bytes per byte moved, so
    its fraction_of_copy can exceed 1. With `preallocated`, the copy goes into a buffer made
    once (`out.copy_(x)`): what the memory itself can do, without the allocator.
    """
    timing = _copy_timing(numel, dtype, device, preallocated, repeats, warmup)
    return 2 * numel * _dtype(dtype).itemsize / timing.median_s


def copy_row(
    numel: int,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    *,
    repeats: int = 20,
    warmup: int = 3,
) -> dict[str, Any]:
    """Both copy baselines at one size: `clone` (allocates its output, as an eager activation
    does) and `prealloc` (`out.copy_(x)` into a buffer made once). Times are per call."""
    row: dict[str, Any] = dict(numel=numel, dtype=dtype, device=str(device))
    moved = 2 * numel * _dtype(dtype).itemsize
    for kind, preallocated in (("clone", False), ("prealloc", True)):
        t = _copy_timing(numel, dtype, device, preallocated, repeats, warmup)
        row |= {f"{kind}_median_s": t.median_s, f"{kind}_p25_s": t.p25_s,
                f"{kind}_p75_s": t.p75_s, f"{kind}_bytes_per_s": moved / t.median_s}
    return row


def _step(
    fn: Callable[[torch.Tensor], torch.Tensor],
    numel: int,
    dtype: torch.dtype,
    mode: str,
    device: str | torch.device,
) -> Callable[[], object]:
    """The zero-argument callable timed: `fn(x)`, or `fn(x)` and its input gradient."""
    x = torch.randn(numel, dtype=dtype, device=device)
    if mode == "forward":
        return lambda: fn(x)
    x.requires_grad_(True)
    grad_out = torch.randn_like(x)
    return lambda: torch.autograd.grad(fn(x), x, grad_out)


def bench_activation(
    name: str,
    numel: int,
    dtype: str = "float32",
    mode: str = "forward",
    device: str | torch.device = "cpu",
    compiled: bool = False,
    *,
    repeats: int = 20,
    warmup: int = 3,
    copy_bytes_per_s: float | None = None,
) -> dict[str, Any]:
    """One row: how fast activation `name` runs on `numel` elements, and how close to a copy.

    Byte model: forward reads x and writes y, 2 N elements; forward+backward also reads
    grad_out and the saved tensor and writes grad_in, 5 N elements in all.
    bytes_per_s = elements moved * itemsize / median_s, and fraction_of_copy divides it by
    the bandwidth of `x.clone()` at the same size and dtype (measured unless given).
    With `compiled`, the activation goes through `torch.compile(fullgraph=True)`; a failure
    to compile is recorded in the row's `error` (times are then NaN) instead of raised.
    """
    torch_dtype, mode = _dtype(dtype), _check_mode(mode)
    fn = get(_check_activation(name)).fn
    if copy_bytes_per_s is None:
        copy_bytes_per_s = copy_bandwidth(numel, dtype, device, repeats=repeats, warmup=warmup)
    if compiled:
        torch.compiler.reset()  # a fresh cache: no recompile limit silently falling back to eager
        fn = torch.compile(fn, fullgraph=True, dynamic=False)
    step = _step(fn, numel, torch_dtype, mode, device)
    error = _first_call_error(step) if compiled else None
    median_s = p25_s = p75_s = math.nan
    if error is None:
        timing = time_fn(step, device=device, repeats=repeats, warmup=warmup, min_repeat_s=MIN_REPEAT_S)
        median_s, p25_s, p75_s = timing.median_s, timing.p25_s, timing.p75_s
    bytes_per_s = ELEMENTS_MOVED[mode] * numel * torch_dtype.itemsize / median_s
    return dict(
        activation=name, numel=numel, dtype=dtype, mode=mode, compiled=compiled, device=str(device),
        median_s=median_s, p25_s=p25_s, p75_s=p75_s, elements_per_s=numel / median_s,
        bytes_per_s=bytes_per_s, copy_bytes_per_s=copy_bytes_per_s,
        fraction_of_copy=bytes_per_s / copy_bytes_per_s, error=error,
    )


# The same forward kernels writing into a buffer made once (ATen's out= overloads; ReLU is
# clamp_min(x, 0), which is how ATen implements relu). On a CPU, an eager kernel's fresh output
# of tens of MiB is new pages whose first-touch faults can cost more than the activation itself;
# with the output preallocated, the time is the kernel's and the memory's alone.
INTO: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "sigmoid": lambda x, out: torch.sigmoid(x, out=out),
    "tanh": lambda x, out: torch.tanh(x, out=out),
    "relu": lambda x, out: torch.clamp_min(x, 0, out=out),
    "leaky_relu": lambda x, out: torch._C._nn.leaky_relu(x, LEAKY_SLOPE, out=out),
    "gelu": lambda x, out: torch._C._nn.gelu(x, out=out),
    "silu": lambda x, out: torch._C._nn.silu(x, out=out),
}


def bench_into(
    name: str,
    numel: int,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    *,
    repeats: int = 20,
    warmup: int = 3,
    copy_bytes_per_s: float,
) -> dict[str, Any]:
    """Forward `name` on `numel` elements into a preallocated output (`INTO`), as one row with
    the fields of `bench_activation`; `fraction_of_copy` is against `copy_bytes_per_s`, which
    should be the preallocated copy's bandwidth (`copy_row`'s `prealloc_bytes_per_s`)."""
    if _check_activation(name) not in INTO:
        raise ValueError(f"no preallocated-output kernel for {name!r}; valid choices: {', '.join(INTO)}")
    x = torch.randn(numel, dtype=_dtype(dtype), device=device)
    out, into = torch.empty_like(x), INTO[name]
    timing = time_fn(lambda: into(x, out), device=device, repeats=repeats, warmup=warmup,
                     min_repeat_s=MIN_REPEAT_S)
    bytes_per_s = ELEMENTS_MOVED["forward"] * numel * x.element_size() / timing.median_s
    return dict(
        activation=name, numel=numel, dtype=dtype, mode="forward", compiled=False, device=str(device),
        median_s=timing.median_s, p25_s=timing.p25_s, p75_s=timing.p75_s,
        elements_per_s=numel / timing.median_s, bytes_per_s=bytes_per_s,
        copy_bytes_per_s=copy_bytes_per_s, fraction_of_copy=bytes_per_s / copy_bytes_per_s, error=None,
    )


def _first_call_error(step: Callable[[], object]) -> str | None:
    """Run `step` once (this is when torch.compile compiles); a failure comes back as text."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - any compiler failure becomes a row, by design
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def _all_activations() -> tuple[str, ...]:
    return tuple(ACTIVATIONS.names())


@dataclass(frozen=True)
class BenchConfig:
    """What the microbenchmark sweeps: every combination of the tuples below is one row."""

    activations: tuple[str, ...] = field(default_factory=_all_activations)
    sizes: tuple[int, ...] = tuple(2**k for k in range(12, 25, 2))  # 16 KiB .. 64 MiB in fp32
    dtypes: tuple[str, ...] = ("float32", "bfloat16")
    modes: tuple[str, ...] = MODES
    compiled: tuple[bool, ...] = (False,)
    repeats: int = 10
    warmup: int = 2
    device: str = "cpu"
    threads: int | None = None  # torch intra-op threads while timing; None: leave as is
    # The largest tensor holds at least this many times the last-level cache in every dtype:
    # at run time `sizes_beyond` adds a power of two from the cache size the machine reports.
    # None: the sizes as given.
    llc_multiple: float | None = None
    # ...but at most this many bytes in the widest dtype (None: no bound). A virtual machine may
    # report a cache no timing can afford to exceed: one here reports a 480 MiB L3, which asked
    # for 2 GiB float32 tensors and a sweep longer than the rest of the book together.
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in self.activations:
            _check_activation(name)
        for dtype in self.dtypes:
            _dtype(dtype)
        for mode in self.modes:
            _check_mode(mode)
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes must be positive element counts, got {self.sizes}")
        if self.repeats < 1 or self.warmup < 0:
            raise ValueError(f"need repeats >= 1 and warmup >= 0, got {self.repeats}, {self.warmup}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be None or at least 1, got {self.threads}")
        if self.llc_multiple is not None and self.llc_multiple <= 1:
            raise ValueError(f"llc_multiple must be None or above 1, got {self.llc_multiple}")


def sizes_beyond(cfg: BenchConfig, llc_bytes: int | None) -> tuple[int, ...]:
    """`cfg.sizes`, plus the smallest power of two of elements whose bytes are at least
    `cfg.llc_multiple` times `llc_bytes` in the narrowest dtype, if the sizes stop short of it;
    that size is bounded by `cfg.max_bytes` in the widest dtype (the verdict then says whether
    the largest tensors were beyond the reported cache)."""
    if cfg.llc_multiple is None or not llc_bytes:
        return cfg.sizes
    itemsize = min(_dtype(d).itemsize for d in cfg.dtypes)
    need = 2 ** math.ceil(math.log2(cfg.llc_multiple * llc_bytes / itemsize))
    if cfg.max_bytes is not None:
        widest = max(_dtype(d).itemsize for d in cfg.dtypes)
        need = min(need, 2 ** int(math.log2(cfg.max_bytes / widest)))
    return cfg.sizes if max(cfg.sizes) >= need else (*cfg.sizes, need)


def bench_config(scale: str) -> BenchConfig:
    """The microbenchmark at one of the scales smoke, book (CPU) or paper (GPU, up to 2**28).

    Book scale is eager only: compiling every row took ~4.5 minutes on 2 CPU cores
    against ~15 s for the eager sweep, and inductor's compile workers slowed the timings.
    On CPU it times one thread: with two threads on a two-core machine, every call above
    ATen's parallel grain size waits at an OpenMP barrier for the second core, and while
    anything else runs there that wait took ~8 ms per call (a 4096-element tanh measured
    2 us per element), which times the scheduler, not the kernel. The copy baselines run on
    the same single thread, so fractions of copy bandwidth compare like with like.

    Run: ``python -m relu_tanh bench --scale book`` (a table) or
    ``python -m relu_tanh run cost_micro --scale paper --device cuda`` (stored with provenance).
    """
    if scale == "smoke":
        return BenchConfig(sizes=(2**10, 2**14), repeats=3, warmup=1, threads=1)
    if scale == "book":
        # 7 repeats: the 2**24-element rows take two thirds of the sweep's time
        return BenchConfig(repeats=7, warmup=1, threads=1, llc_multiple=2.0, max_bytes=2**29)
    if scale == "paper":
        return BenchConfig(
            sizes=tuple(2**k for k in range(12, 29, 2)),
            compiled=(False, True),
            llc_multiple=2.0,
            repeats=50,
            warmup=5,
            device="cuda",
        )
    raise ValueError(f"unknown scale {scale!r}; valid choices: {', '.join(SCALES)}")


@contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads (None: unchanged), then restore the count."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_sweep(cfg: BenchConfig, progress: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(activation rows, copy rows) for every combination in `cfg`.

    Each size and dtype first times both copy baselines (`copy_row`), then every activation,
    so a row and the copy it is held against are measured minutes apart at most.
    """
    rows, copies = [], []
    cases = [(dtype, numel) for dtype in cfg.dtypes for numel in cfg.sizes]
    with num_threads(cfg.threads):
        for dtype, numel in tqdm(cases, desc="microbench", disable=not progress):
            copies.append(copy_row(numel, dtype, cfg.device, repeats=cfg.repeats, warmup=cfg.warmup))
            copy = copies[-1]["clone_bytes_per_s"]
            for mode in cfg.modes:
                for compiled in cfg.compiled:
                    for name in cfg.activations:
                        rows.append(
                            bench_activation(
                                name, numel, dtype, mode, cfg.device, compiled,
                                repeats=cfg.repeats, warmup=cfg.warmup, copy_bytes_per_s=copy,
                            )
                        )
    return rows, copies


def run_into(cfg: BenchConfig, copies: list[dict[str, Any]], numel: int) -> list[dict[str, Any]]:
    """`bench_into` rows for every activation and dtype of `cfg` at `numel` elements, each held
    against the preallocated copy of the same size and dtype in `copies`."""
    prealloc = {c["dtype"]: c["prealloc_bytes_per_s"] for c in copies if c["numel"] == numel}
    with num_threads(cfg.threads):
        return [bench_into(name, numel, dtype, cfg.device, repeats=cfg.repeats, warmup=cfg.warmup,
                           copy_bytes_per_s=prealloc[dtype])
                for dtype in cfg.dtypes for name in cfg.activations if name in INTO]


def run_microbench(cfg: BenchConfig, progress: bool = False) -> list[dict[str, Any]]:
    """Rows of `bench_activation` for every combination in `cfg`; one copy baseline per size and dtype."""
    return run_sweep(cfg, progress)[0]


def time_interleaved(
    fns: dict[str, Callable[[], object]],
    *,
    device: str | torch.device = "cpu",
    rounds: int = 10,
    warmup: int = 2,
    number: int = 1,
) -> dict[str, list[float]]:
    """Seconds per call of each callable in each of `rounds` rounds, {name: [round 0, ...]}.

    Every round times every callable once (`number` calls), starting at a different one, so
    slow drifts of the machine (another process, clock changes) hit all of them alike and a
    comparison within one round is paired. Each callable first gets `warmup` untimed calls.
    """
    if rounds < 1 or warmup < 0 or number < 1:
        raise ValueError(f"need rounds >= 1, warmup >= 0, number >= 1, got {rounds}, {warmup}, {number}")
    device = torch.device(device)
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    times: dict[str, list[float]] = {name: [math.nan] * rounds for name in names}
    for r in range(rounds):
        for i in range(len(names)):
            name = names[(r + i) % len(names)]
            times[name][r] = _seconds_per_call(fns[name], device, number)
    return times


def relative_to(rows: list[dict[str, Any]], baseline: str = "relu") -> list[dict[str, Any]]:
    """At the largest size of each dtype/mode/compiled group: each activation's time / the baseline's.

    A ratio near 1 says the activation costs no more than `baseline`; failed rows are skipped.
    """
    ok = [r for r in rows if r["error"] is None]
    groups = sorted({(r["dtype"], r["mode"], r["compiled"]) for r in ok})
    table = []
    for dtype, mode, compiled in groups:
        group = [r for r in ok if (r["dtype"], r["mode"], r["compiled"]) == (dtype, mode, compiled)]
        numel = max(r["numel"] for r in group)
        at_size = {r["activation"]: r for r in group if r["numel"] == numel}
        if baseline not in at_size:
            continue
        base_s = at_size[baseline]["median_s"]
        table += [
            dict(
                activation=name, dtype=dtype, mode=mode, compiled=compiled, numel=numel,
                median_s=r["median_s"], time_vs_baseline=r["median_s"] / base_s,
                fraction_of_copy=r["fraction_of_copy"],
            )
            for name, r in at_size.items()
        ]
    return table


def format_table(rows: list[dict[str, Any]]) -> str:
    """Rows as an aligned plain-text table (floats to 3 significant digits)."""
    if not rows:
        return ""
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()] for r in rows]
    header = list(rows[0])
    widths = [max(len(c) for c in col) for col in zip(header, *cells)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in [header, *cells])
