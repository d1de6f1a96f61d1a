"""Pinned smoke-scale numbers: what each experiment computes, held against a committed fixture.

For every experiment, one smoke-scale run (CPU, one torch thread, seeds 0..n-1 of its smoke
seed count) gives two sets of numeric leaves, each a flat {"path/to/leaf": value}:

- `seeds`: every seed's stored output (what `run_seed` returns, as the record keeps it), with
  the experiment's `version`. These may only move together with a version bump, since stored
  records of that version are reused as if they held these numbers.
- `summary`: `summarize` over those seeds. These may move without a bump: summaries are
  recomputed from stored seeds whenever a page or verdict reads them.

Float results depend on the CPU as well as on the code: the same wheel picks different kernels
(AVX2 or AVX-512, a vendor's BLAS path), and training amplifies the last bits. So the pins
record the machine they were made on (`machine`): there every number must agree to REL_TOL; on
another machine to CROSS_REL_TOL, which a code change that matters still exceeds, and
`--update-pins` there moves the pins to that machine (refused where seed outputs moved beyond
CROSS_REL_TOL without a version bump).

Timings are not numbers of the computation: under `TIMINGS` (and for the cost chapter's
benchmarks, whose outputs are timings, everything but `COUNTS`) a leaf's path is pinned and its
value is not; `MACHINE` leaves (the hardware a benchmark ran on) are left out altogether.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import platform
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from relu_tanh import experiments

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pinned"
UPDATE = "python -m pytest tests/test_pinned.py --update-pins -k"  # + experiment names

# Running the smoke scale on two threads instead of one (which splits float32 sums differently)
# moves these numbers by at most 1.4e-6 relative (vanishing_init's gradient norms, saturation's
# activation means); on one thread reruns are bitwise equal. REL_TOL is seven times that; ABS_TOL
# only absorbs a value that cancels to about zero, far below any quantity pinned here.
REL_TOL, ABS_TOL = 1e-5, 1e-12
# Between an AMD EPYC with AVX-512 and the (AVX2) machine the pins were first made on, smoke
# outputs moved by at most 2.2% relative (vanishing_train's gradient norms after training; 0.7%
# through_time's at divergence; a histogram count by one in gates); CROSS_REL_TOL allows twice
# that, since other CPUs may differ more.
CROSS_REL_TOL = 0.05

TIMED = "timing"  # the value pinned for a leaf whose path is pinned but whose value is not
TIMINGS = {  # experiment -> keys whose subtree is wall-clock time (in seeds or summary)
    "*": ("wall_s",),  # added to every seed by the runner
    "krizhevsky": ("seconds",),
    "gates": ("epoch_seconds", "steps_per_s"),
    "through_time": ("speed", "cpu_steps_per_s", "wall_steps_per_s"),
    "debate": ("seconds_per_step", "model_steps_per_s"),
}
BENCHMARKS = ("cost_micro", "cost_step")  # outputs are timings: only COUNTS keep their values
COUNTS = ("numel", "sizes", "largest", "n", "calls", "elements", "batch", "input_shape",
          "weight_flops", "flops_per_element")
MACHINE = ("hardware", "threads", "llc_bytes", "error")  # of the benchmarks: what the machine is or did


@functools.cache
def machine() -> str:
    """What the numbers depend on besides the code: CPU vendor and model, the kernels torch
    dispatches to on it, and torch's version."""
    cpu = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            cpu.setdefault(key.strip(), value.strip())
    return (f"{cpu.get('vendor_id', platform.processor() or platform.machine())} "
            f"{cpu.get('model name', '')}, {torch.backends.cpu.get_cpu_capability()}, "
            f"torch {torch.__version__}")


@dataclasses.dataclass(frozen=True)
class Pins:
    experiment: str
    version: int
    seeds: dict[str, Any]
    summary: dict[str, Any]
    machine: str = ""  # `machine()` where these numbers were measured

    @property
    def tolerance(self) -> float:
        """The relative tolerance for comparing this machine's numbers with these."""
        return REL_TOL if self.machine == machine() else CROSS_REL_TOL

    def to_json(self) -> str:
        """Nested by path (shorter than flat paths), one value a line (diffs read per number)."""
        tree = {**dataclasses.asdict(self), "seeds": nest(self.seeds), "summary": nest(self.summary)}
        return json.dumps(tree, indent=0, allow_nan=False) + "\n"


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, last = path.split("/")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return out


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.json"


def load(name: str) -> Pins | None:
    path = fixture(name)
    if not path.is_file():
        return None
    tree = json.loads(path.read_text())
    return Pins(tree["experiment"], tree["version"], dict(leaves(tree["seeds"])),
                dict(leaves(tree["summary"])), tree.get("machine", ""))


@functools.cache
def measure(name: str) -> Pins:
    """One smoke-scale run of `name` on one thread (once per session), as pins."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exp = experiments.get(name)
        outputs = {seed: experiments.run_unit(name, "smoke", seed, "cpu")[0]
                   for seed in range(exp.seeds["smoke"])}
    finally:
        torch.set_num_threads(before)
    stored = json.loads(json.dumps(outputs))  # as a record holds them: lists, string keys, no NaN
    seeds = {int(s): v for s, v in stored.items()}
    summary = exp.summarize(experiments.config_for(name, "smoke"), seeds)
    return Pins(name, exp.version, pinned(name, seeds), pinned(name, summary), machine())


def pinned(name: str, tree: Any) -> dict[str, Any]:
    """{path: value} of `tree`'s numeric leaves, timings replaced by TIMED (see the docstring)."""
    timings, bench = TIMINGS["*"] + TIMINGS.get(name, ()), name in BENCHMARKS
    out = {}
    for path, value in leaves(tree):
        keys = set(path.split("/"))
        if isinstance(value, str) or (bench and keys & set(MACHINE)):
            continue
        timed = bool(keys & set(timings)) or (bench and not keys & set(COUNTS))
        out[path] = TIMED if timed else value
    return out


def leaves(x: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, leaf) of a nest of dicts, lists, tuples, dataclasses, arrays and tensors; dict
    keys as str(key), a NaN or infinity as None (as a record stores it)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        x = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
    if isinstance(x, (torch.Tensor, np.ndarray)):
        x = x.tolist()
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, f"{path}/{k}" if path else str(k))
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            yield from leaves(v, f"{path}/{i}" if path else str(i))
    elif isinstance(x, float) and not math.isfinite(x):
        yield path, None
    else:
        yield path, x


def differences(pinned_: dict[str, Any], now: dict[str, Any], limit: int = 5,
                rel_tol: float = REL_TOL) -> list[str]:
    """What moved beyond `rel_tol` (and ABS_TOL), appeared or went away, at most `limit` lines."""
    out = [f"{p}: gone" for p in pinned_ if p not in now]
    out += [f"{p}: new" for p in now if p not in pinned_]
    out += [f"{p}: {a!r} -> {b!r}" for p, a in pinned_.items()
            if p in now and not same(a, b := now[p], rel_tol)]
    return out[:limit] + ([f"... ({len(out) - limit} more)"] if len(out) > limit else [])


def same(a: Any, b: Any, rel_tol: float = REL_TOL) -> bool:
    """Floats within `rel_tol`; on another machine (a looser `rel_tol`) counts too, which move by
    one where a value lands on the other side of a bin's edge; anything else equal."""
    numbers = (float,) if rel_tol == REL_TOL else (float, int)
    if all(isinstance(x, numbers) and not isinstance(x, bool) for x in (a, b)):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=ABS_TOL)
    return type(a) is type(b) and a == b


class Refused(Exception):
    """Pins that may not be rewritten as asked; the message says what to do first."""


def update(name: str) -> None:
    """Rewrite `name`'s pins with this run's numbers. On the pins' machine, each part that did
    not move is kept; on another, all of them move to this machine. Seed outputs that moved
    beyond the tolerance at an unchanged version are refused: the version must be bumped first."""
    now, old = measure(name), load(name)
    if old is not None and old.version == now.version and differences(old.seeds, now.seeds,
                                                                       rel_tol=old.tolerance):
        raise Refused(f"{name}'s seed outputs moved at version {now.version}: bump its `version` "
                      f"first (stored records of version {now.version} would be reused as if they "
                      f"held the new numbers), then run `{UPDATE} {name}` again")
    if old is None or old.machine != now.machine:
        pins = now
    else:
        seeds = old.seeds if old.version == now.version else now.seeds
        summary = old.summary if not differences(old.summary, now.summary) else now.summary
        pins = Pins(name, now.version, seeds, summary, now.machine)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    fixture(name).write_text(pins.to_json())
