"""Figure 1 at paper scale on a CPU: raced learning rates, then paired evaluation seeds, in
resumable spans of epochs (see `krizhevsky` for the experiment itself).

Protocol (a config with `race_epochs > 0`). A *run* is (pipeline, activation, rate, seed), up
to `epochs` epochs, stopped once its running training error is below min(thresholds).
1. Race: per (pipeline, activation), every rate of its grid trains `race_epochs` epochs on
   each tuning seed; the winner is the rate with the lowest mean running training error at the
   race's end (diverged: +inf; ties: the smaller rate). A winner at an edge of the grid adds the
   next rate beyond it (times or over `lr_step`) and the race goes on, until the winner is
   interior (at most `max_extensions` times; else the arm is unsettled and gets no evaluation).
2. Check, on each of `check_arms`: the winner and its two neighbours continue to the full
   run on the tuning seeds, and the arm's rate is the one that reaches the threshold in the
   fewest epochs (median over tuning seeds; ties: the race's winner, then the smaller rate;
   no rate reached it: the race's winner). Krizhevsky et al. chose each network's rate to make
   training as fast as possible, and epochs to the threshold is that criterion; the race is the
   cheap proxy that narrows the grid. A rate at an edge of the checked ones adds the next rate
   beyond it, as the race does, until it is interior (at most `max_extensions` times).
3. Evaluation: every seed 0..n-1 trains each settled arm at its rate (the check's, else the
   race's winner) to the full run; a seed gives both activations the same initial weights and
   data order (paired). It waits for its arm's check (`STAGES` is the order spans train in).
4. Ladder (`ladder`): the same evaluation seeds and rates on the first n training images, for
   each smaller n of the config, each with its own epoch cap; the rates are not raced again.
The plan is derived from the stored runs each time (`derive`): nothing about the outcome of a
race is typed in. A run is trained in spans that end at `race_epochs` and at multiples of
`span_epochs`; after each span the run's record (history, per-span provenance) and a
checkpoint (weights, optimiser, data-order RNG, history) are written atomically under
results/krizhevsky/paper-runs/, so a killed process loses at most one span and a resumed run
is bitwise the uninterrupted one. Finished evaluation seeds are merged into the experiment's
ordinary record (results/krizhevsky/paper.json), which the chapter and the verdict read.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import json
import math
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import torch

from .. import data
from ..nets import models
from ..store import results, schema
from ..measure.stats import censored_median
from ..training.loop import TrainConfig, epochs_to_threshold, train
from . import record_header
from .krizhevsky import PIPELINES, VERSION, Figure1Config, pipeline_config, pipeline_input, raw_pixels

NAME = "krizhevsky"
STAGES = ("race", "check", "eval", "ladder")  # the order spans are trained in
DEFAULT_EPOCH_S = 40.0  # seconds per 50,000-image epoch at 2 threads before any run is measured


@dataclass(frozen=True)
class Run:
    variant: str
    activation: str
    lr: float
    seed: int
    images: int | None = None  # training images of a ladder run; None: the config's n_train

    @property
    def key(self) -> str:
        size = "" if self.images is None else f"-n{self.images}"
        return f"{self.variant}-{self.activation}-lr{self.lr:.3g}-seed{self.seed}{size}"

    def config(self, config: Figure1Config) -> Figure1Config:
        """The config this run trains with: a ladder run's images and epoch cap replace the
        full run's."""
        if self.images is None:
            return config
        cap = dict(config.ladder or ())[self.images]
        return dataclasses.replace(config, n_train=self.images, epochs=cap, ladder=None)


@dataclass(frozen=True)
class Target:
    """A run wanted up to `until` epochs (the cap for a full run) by `stage`."""

    stage: str  # race, check, eval, ladder
    run: Run
    until: int


@dataclass(frozen=True)
class Span:
    target: Target
    start: int  # epochs done before it
    end: int


@dataclass
class Arm:
    """The race of one (pipeline, activation) as far as the stored runs take it."""

    variant: str
    activation: str
    grid: list[float]  # every rate raced or racing, smallest first
    errors: dict[float, float]  # rate -> mean running error at the race's end (inf: diverged)
    winner: float | None  # None while a rate of the grid has not finished its race
    settled: bool  # the arm's rate is decided and interior: its evaluation may start
    extensions: int
    rate: float | None = None  # the evaluation's rate: the check's if the arm has one, else the winner
    check: dict[float, float | None] = field(default_factory=dict)  # rate -> epochs to the threshold


@dataclass
class Plan:
    targets: list[Target]
    arms: list[Arm]
    stored: dict[str, dict[str, Any]]  # run key -> its record

    def spans(self, config: Figure1Config) -> list[Span]:
        """Every span still to train, in priority order, for the runs known now."""
        out = []
        for t in sorted(self.targets, key=lambda t: STAGES.index(t.stage)):
            rec = self.stored.get(t.run.key)
            if rec is not None and (rec["finished"] or epochs_done(rec) >= t.until):
                continue
            done = resumable(rec)
            ends = cuts(config, done, t.until, size(config, t.run))
            out += [Span(t, a, b) for a, b in zip([done, *ends], ends)]
        return out

    def next_spans(self, config: Figure1Config) -> list[Span]:
        """The first pending span of every run: what can start now."""
        first: dict[Run, Span] = {}
        for s in self.spans(config):
            first.setdefault(s.target.run, s)
        return list(first.values())


# --- the plan --------------------------------------------------------------------------------


def cuts(config: Figure1Config, done: int, until: int, share: float = 1.0) -> list[int]:
    """Epoch counts after `done` at which a run up to `until` stops to store a checkpoint; a
    run on `share` of the full training set spans as many images as a full run's span."""
    step = max(1, round(config.span_epochs / share))
    ends = {until, *range(step, until, step)} | ({config.race_epochs} if share == 1 else set())
    return sorted(e for e in ends if done < e <= until)


def epochs_done(rec: dict[str, Any] | None) -> int:
    return 0 if rec is None else len(rec["history"]["epoch_train_error"])


def resumable(rec: dict[str, Any] | None) -> int:
    """The epoch the run's next span starts from: its stored epochs when it has a checkpoint,
    else 0 (a run whose checkpoint was pruned, such as a race run that a check later extends,
    trains again from its start: the same seed and threads give the same first epochs)."""
    return epochs_done(rec) if rec is not None and rec["checkpoint"] else 0


def arms(config: Figure1Config) -> list[tuple[str, str]]:
    return [(v, a) for v in config.variants for a in config.activations]


def race(config: Figure1Config, variant: str, activation: str,
         stored: dict[str, dict[str, Any]]) -> Arm:
    """The race of one arm as far as the stored runs take it (see the module's rule)."""
    grid = sorted(config.lrs(variant, activation))
    for ext in range(config.max_extensions + 1):
        recs = {lr: [stored.get(Run(variant, activation, lr, s).key) for s in config.tuning_seeds]
                for lr in grid}
        errs = {lr: sum(race_error(config, r) for r in rs) / len(rs) for lr, rs in recs.items()
                if all(r is not None and race_done(config, r) for r in rs)}
        if len(errs) < len(grid):
            return Arm(variant, activation, grid, errs, None, False, ext)
        winner = min(grid, key=lambda lr: (errs[lr], lr))
        if grid[0] < winner < grid[-1] or ext == config.max_extensions:
            interior = grid[0] < winner < grid[-1]
            return Arm(variant, activation, grid, errs, winner, interior, ext,
                       rate=winner if interior else None)
        grid = sorted({*grid, beyond(winner, grid, config.lr_step)})
    raise AssertionError("unreachable")


def beyond(edge: float, rates: list[float], step: float, known: list[float] | tuple = ()) -> float:
    """The next rate past `edge`, an end of the sorted `rates`: times `step` past the largest,
    over it past the smallest, at 3 significant figures (as run keys write it); a rate of
    `known` that a key would write the same is reused, so one run never gets two targets."""
    rate = float(f"{edge * step if edge == rates[-1] else edge / step:.3g}")
    return next((k for k in known if f"{k:.3g}" == f"{rate:.3g}"), rate)


def check(config: Figure1Config, arm: Arm, stored: dict[str, dict[str, Any]]) -> Arm:
    """`arm` after its check (the module's rule 2), as far as the stored runs take it: unsettled
    while a checked rate has not finished; an arm without a check, or whose race is not
    settled, is returned as it is."""
    if not arm.settled or (arm.variant, arm.activation) not in map(tuple, config.check_arms):
        return arm
    i = arm.grid.index(arm.winner)
    rates = arm.grid[i - 1:i + 2]
    for ext in range(config.max_extensions + 1):
        epochs = {lr: full_epochs(config, [stored.get(Run(arm.variant, arm.activation, lr, s).key)
                                           for s in config.tuning_seeds]) for lr in rates}
        if None in epochs.values():
            return replace(arm, settled=False, rate=None, check=epochs)
        best = min(rates, key=lambda lr: (epochs[lr], lr != arm.winner, lr))
        best = arm.winner if math.isinf(epochs[best]) else best  # none reached it: the race decides
        if rates[0] < best < rates[-1] or ext == config.max_extensions:
            interior = rates[0] < best < rates[-1]
            return replace(arm, settled=interior, rate=best if interior else None, check=epochs)
        rates = sorted({*rates, beyond(best, rates, config.lr_step, arm.grid)})
    raise AssertionError("unreachable")


def full_epochs(config: Figure1Config, recs: list[dict[str, Any] | None]) -> float | None:
    """Median over the tuning seeds' full runs of the epochs to the threshold (inf: not reached
    or diverged); None while one has not finished."""
    if not all(r is not None and r["finished"] for r in recs):
        return None
    return censored_median([math.inf if r["history"]["diverged"] else  # type: ignore[index]
                            epochs_to_threshold(r["history"]["epoch_train_error"], config.threshold)
                            for r in recs])


def race_done(config: Figure1Config, rec: dict[str, Any]) -> bool:
    return rec["finished"] or epochs_done(rec) >= config.race_epochs


def race_error(config: Figure1Config, rec: dict[str, Any]) -> float:
    """Running training error at the race's end; a run stopped below the threshold before it
    counts its last error, a diverged one +inf."""
    h = rec["history"]
    if h["diverged"] or not h["epoch_train_error"]:
        return math.inf
    return h["epoch_train_error"][min(config.race_epochs, len(h["epoch_train_error"])) - 1]


def derive(config: Figure1Config, n_eval: int, stored: dict[str, dict[str, Any]]) -> Plan:
    """Every run the protocol wants, given what is stored: the races (growing their grids as
    winners land on edges), the checks of `check_arms` (growing as theirs do) and the
    evaluation and ladder seeds of settled arms, at each arm's rate."""
    races = [check(config, race(config, v, a, stored), stored) for v, a in arms(config)]
    if set(config.tuning_seeds) & set(range(n_eval)):
        raise ValueError(f"tuning seeds {config.tuning_seeds} overlap the evaluation seeds "
                         f"0..{n_eval - 1}; choose tuning seeds of at least {n_eval}")
    targets = [Target("race", Run(arm.variant, arm.activation, lr, s), config.race_epochs)
               for arm in races for lr in arm.grid for s in config.tuning_seeds]
    targets += [Target("check", Run(arm.variant, arm.activation, lr, s), config.epochs)
                for arm in races for lr in arm.check for s in config.tuning_seeds]
    targets += [Target("eval", Run(arm.variant, arm.activation, arm.rate, s), config.epochs)
                for s in range(n_eval) for arm in races if arm.settled]
    targets += [Target("ladder", Run(arm.variant, arm.activation, arm.rate, s, n), cap)
                for n, cap in config.ladder or () for s in range(n_eval) for arm in races if arm.settled]
    merged: dict[Run, Target] = {}  # a check continues its race run: one target per run
    for t in targets:
        prev = merged.get(t.run)
        merged[t.run] = t if prev is None else Target(t.stage, t.run, max(t.until, prev.until))
    targets = list(merged.values())
    return Plan(targets, races, stored)


def check_table(config: Figure1Config, plan: Plan) -> dict[str, dict[str, float | None]]:
    """The checks: per checked arm ("2012 tanh"), epochs to the threshold of each rate run in
    full on the tuning seeds (median; inf: not reached; None: not finished)."""
    return {f"{a.variant} {a.activation}": {f"{lr:.3g}": e for lr, e in sorted(a.check.items())}
            for a in plan.arms if a.check}


# --- stored runs -----------------------------------------------------------------------------


def runs_dir(root: Path) -> Path:
    return root / NAME / "paper-runs"


def identity(config: Figure1Config, run: Run) -> dict[str, Any]:
    """What a run's numbers depend on besides (pipeline, activation, rate, seed)."""
    keep = ("dataset", "n_train", "n_test", "downsample", "side", "channels", "epochs",
            "batch_size", "momentum", "channels_last")
    c = dataclasses.asdict(run.config(config))
    return results.strict_json({**{k: c[k] for k in keep}, "stop_below": min(config.thresholds),
                                "pipeline": dataclasses.asdict(PIPELINES[run.variant]),
                                "version": VERSION})


def stored_run(rec: dict[str, Any]) -> Run:
    return Run(**rec["run"])


def load_runs(config: Figure1Config, root: Path) -> dict[str, dict[str, Any]]:
    """Every stored run of this config's identity; a run of another identity is an error that
    names it (hours of CPU are never dropped silently)."""
    out = {}
    for path in sorted(runs_dir(root).glob("*.json")):
        rec = read_run(path)
        if rec is None:
            continue
        if rec["identity"] != identity(config, stored_run(rec)):
            raise results.RecordError(
                f"{path} was run with another setting ({rec['identity']}); move it aside to "
                f"rerun it, or restore the config it was made with")
        out[path.stem] = rec
    return out


def read_run(path: Path) -> dict[str, Any] | None:
    """A stored run, or None if there is none; RecordError naming a file that is not one."""
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise results.RecordError(f"{path} cannot be read ({err}); move it aside (its run is "
                                  f"then trained again) or restore it from git") from None
    if (why := schema.problem(rec, schema.RUN)) is not None:
        raise results.RecordError(f"{path} is not a stored run ({why}); move it aside or restore it")
    return rec


@contextmanager
def claimed(root: Path, run: Run) -> Iterator[bool]:
    """A lock on one run while one process trains it; yields False if another holds it."""
    path = runs_dir(root) / f".{run.key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- training one span -----------------------------------------------------------------------


def train_span(config: Figure1Config, span: Span, root: Path, *, device: str = "cpu",
               progress: bool = False) -> dict[str, Any]:
    """Train `span` from the run's checkpoint (or from its start), then store its record and
    the new checkpoint atomically; returns the record."""
    run, folder = span.target.run, runs_dir(root)
    old = read_run(folder / f"{run.key}.json")
    if resumable(old) != span.start:
        raise RuntimeError(f"{run.key}: resumable from epoch {resumable(old)}, the span starts at {span.start}")
    resume = torch.load(folder / old["checkpoint"], weights_only=True) if span.start else None
    if old and old["spans"][-1]["torch_threads"] != torch.get_num_threads():
        results.notice(f"{run.key}: resumed with {torch.get_num_threads()} threads after "
                       f"{old['spans'][-1]['torch_threads']}: the same numbers up to float rounding, "
                       f"not bitwise")
    rc = run.config(config)
    ds = dataset(rc, PIPELINES[run.variant].input)
    torch.manual_seed(run.seed)  # the same initial weights for both activations of a seed
    model = models.ConvNet(pipeline_config(rc, ds, run.variant, run.activation))
    tcfg = TrainConfig(epochs=rc.epochs, batch_size=config.batch_size, lr=run.lr,
                       momentum=config.momentum, log_every=50, channels_last=config.channels_last)
    state: dict[str, Any] = {}
    start = time.perf_counter()
    hist = train(model, ds, tcfg, seed=run.seed, device=device, progress=progress,
                 stop_below=min(config.thresholds),
                 resume=resume, until_epoch=span.end, on_stop=state.update)
    wall = time.perf_counter() - start
    errs = hist.epoch_train_error
    kept = (old or {"history": {"epoch_train_error": []}})["history"]["epoch_train_error"]
    if span.start == 0 and errs[:len(kept)] != kept[:len(errs)]:  # a restart must redo them exactly
        raise RuntimeError(f"{run.key}: trained again from its start, it does not reproduce its "
                           f"stored epochs ({kept[:3]} against {errs[:3]}); keeping the stored record")
    finished = hist.diverged or len(errs) >= rc.epochs or errs[-1] < min(config.thresholds)
    ckpt = None if finished else f"{run.key}.e{len(errs)}.pt"
    if ckpt:
        with results.atomic_file(folder / ckpt) as f:
            torch.save(state, f)
    prov = {**results.provenance(device, __name__), "cpu_model": cpu_model(), "wall_s": wall,
            "epochs": [span.start, len(errs)], "stage": span.target.stage}
    rec = {"run": dataclasses.asdict(run), "identity": identity(config, run),
           "data": ds.source, "finished": finished, "checkpoint": ckpt,
           "history": {"epoch_train_error": errs, "epoch_test_error": hist.epoch_test_error,
                       "epoch_seconds": hist.epoch_seconds, "diverged": hist.diverged},
           "spans": [*(old or {}).get("spans", []), prov]}
    results.write_atomic(folder / f"{run.key}.json", rec)
    for stale in folder.glob(f"{run.key}.e*.pt"):
        if stale.name != ckpt:
            stale.unlink()
    return rec


def dataset(config: Figure1Config, kind: str) -> data.Dataset:
    raw = raw_pixels(config.dataset, config.n_train, config.n_test, config.downsample, config.side)
    return pipeline_input(raw, kind)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return results.device_name("cpu")


# --- the evaluation record -------------------------------------------------------------------


def assemble(config: Figure1Config, plan: Plan, root: Path, scale: str = "paper") -> int:
    """Write the experiment's record (results/krizhevsky/paper.json, what the chapter reads)
    from every evaluation seed whose runs have all finished: per seed the output
    `krizhevsky.run_seed` would give, plus the races, the check and the seed's finished ladder
    runs (`ladder`: rows with their `images`). Derived from the runs, the record is rewritten
    whole when it changes. Returns the number of seeds in it."""
    by_seed: dict[int, list[dict[str, Any] | None]] = {}
    ladder: dict[int, list[dict[str, Any]]] = {}
    for t in plan.targets:
        rec = plan.stored.get(t.run.key)
        if t.stage == "eval":
            by_seed.setdefault(t.run.seed, []).append(rec)
        elif t.stage == "ladder" and rec and rec["finished"]:
            ladder.setdefault(t.run.seed, []).append(rec)
    seeds, provs = {}, {}
    for seed, recs in sorted(by_seed.items()):
        if len(recs) < len(arms(config)) or not all(r and r["finished"] for r in recs):
            continue
        steps = ladder.get(seed, [])
        wall = sum(s["wall_s"] for r in (*recs, *steps) for s in r["spans"])
        full = full_images(config.dataset, config.n_train)
        seeds[str(seed)] = {"rows": [{**row(r), "images": full} for r in recs],
                            "data": recs[0]["data"],
                            "ladder": [{**row(r), "images": r["run"]["images"]} for r in steps],
                            "races": race_table(plan), "check": check_record(config, plan),
                            "wall_s": wall}
        provs[str(seed)] = {**recs[-1]["spans"][-1], "wall_s": wall, "spans": {
            stored_run(r).key: r["spans"] for r in (*recs, *steps)}}
    path, head = results.record_path(root, NAME, scale), record_header(NAME, scale, config)
    if not seeds:  # e.g. a check moved an arm's rate: a record of the old rate's seeds is stale
        with results.locked(path):
            path.unlink(missing_ok=True)  # derived from the runs, which stay
        return 0
    latest = provs[max(provs, key=int)]
    record = results.strict_json({**head, "provenance": latest, "seeds": seeds,
                                  "seed_provenance": provs})
    with results.locked(path):
        old = results.load_record(path)
        if old is None or {k: old.get(k) for k in ("config", "version", "seeds", "seed_provenance")} != \
                {k: record[k] for k in ("config", "version", "seeds", "seed_provenance")}:
            results.write_atomic(path, record)
    return len(seeds)


def row(rec: dict[str, Any]) -> dict[str, Any]:
    """A stored run as a row of the experiment's record (what `krizhevsky.run_seed` gives)."""
    h = rec["history"]
    return {"variant": rec["run"]["variant"], "activation": rec["run"]["activation"],
            "lr": rec["run"]["lr"], "train_error": h["epoch_train_error"],
            "test_error": h["epoch_test_error"], "seconds": h["epoch_seconds"],
            "diverged": h["diverged"]}


def race_table(plan: Plan) -> list[dict[str, Any]]:
    return [{"variant": a.variant, "activation": a.activation, "lr": a.rate, "interior": a.settled,
             "race_winner": a.winner, "extensions": a.extensions,
             "errors": {f"{lr:.3g}": e for lr, e in sorted(a.errors.items())}}
            for a in plan.arms]


def check_record(config: Figure1Config, plan: Plan) -> dict[str, Any]:
    return {"threshold": config.threshold, "epochs_to_threshold": check_table(config, plan)}


# --- the driver ------------------------------------------------------------------------------


def raced(config: Any) -> bool:
    """Whether `config` runs by this protocol (else by seeds, `krizhevsky.run_seed`)."""
    return isinstance(config, Figure1Config) and config.race_epochs > 0


def load_plan(config: Figure1Config, n_eval: int, root: Path) -> Plan:
    return derive(config, n_eval, load_runs(config, root))


@functools.cache
def full_images(dataset: str, n_train: int | None) -> int:
    """Training images of a full-size run: n_train, or all the dataset has."""
    return n_train or len(data.load(dataset, None, 0).y_train)


def size(config: Figure1Config, run: Run) -> float:
    """A run's epoch as a share of a full-size epoch (1 but for ladder runs)."""
    return 1.0 if run.images is None else run.images / full_images(config.dataset, config.n_train)


def work_left(config: Figure1Config, spans: list[Span]) -> float:
    """What `spans` cost, in full-size epochs."""
    return sum((s.end - s.start) * size(config, s.target.run) for s in spans)


def epoch_seconds(config: Figure1Config, plan: Plan) -> float:
    """Measured seconds per full-size epoch (all spans stored so far, ladder runs counted by
    their share of the images), else `DEFAULT_EPOCH_S`."""
    done = [(s, size(config, stored_run(r))) for r in plan.stored.values() for s in r["spans"]
            if s["epochs"][1] > s["epochs"][0]]
    if not done:
        return DEFAULT_EPOCH_S
    return (sum(s["wall_s"] for s, _ in done)
            / sum((s["epochs"][1] - s["epochs"][0]) * share for s, share in done))


def describe(config: Figure1Config, plan: Plan, n_eval: int, processes: int = 1) -> str:
    """The plan in words: races, runs per stage done/total, spans left and the hours they take,
    and an upper bound for the evaluation runs that no race has decided yet."""
    per_epoch = epoch_seconds(config, plan)
    n = "all" if config.n_train is None else f"{config.n_train:,}"
    lines = [f"Figure 1 raced: {config.dataset}, {n} training images at {config.side}x"
             f"{config.side}, channels {config.channels}, cap {config.epochs} epochs", "",
             f"races (rate: running error after {config.race_epochs} epochs, mean over tuning "
             f"seeds {list(config.tuning_seeds)}):"]
    for a in plan.arms:
        errs = ", ".join(f"{lr:.3g}: {e:.3f}" for lr, e in sorted(a.errors.items())) or "none yet"
        state = ("still racing" if a.winner is None else f"winner {a.winner:.3g} at an edge "
                 f"after {a.extensions} extensions: unsettled, no evaluation"
                 if not a.check and not a.settled else f"winner {a.winner:.3g} (interior)")
        lines.append(f"  {a.variant:7} {a.activation:5} {errs} -> {state}")
    for a in plan.arms:
        if (a.variant, a.activation) not in map(tuple, config.check_arms):
            continue
        rates = ", ".join(f"{lr:.3g}: {'not yet' if e is None else f'{e:.1f}'}"
                          for lr, e in sorted(a.check.items())) or "after its race"
        result = (f" -> rate {a.rate:.3g}" if a.settled else " -> at an edge: unsettled, no "
                  "evaluation" if a.check and None not in a.check.values() else "")
        lines.append(f"check {a.variant}/{a.activation}: epochs to {config.threshold:.0%} of the "
                     f"full runs by rate: {rates}{result}")
    lines.append("")
    spans = plan.spans(config)
    for stage in ("race", "check", "eval", "ladder"):
        ts = [t for t in plan.targets if t.stage == stage]
        done = sum(1 for t in ts if t.run.key not in {s.target.run.key for s in spans})
        epochs = work_left(config, [s for s in spans if s.target.stage == stage])
        lines.append(f"{stage:6} runs done {done}/{len(ts)}; at most {epochs:.0f} full-size "
                     f"epochs left")
    undecided = sum(1 for a in plan.arms if a.winner is None or None in a.check.values()) * n_eval
    per_run = config.epochs + sum(cap * size(config, Run("", "", 0, 0, n))
                                  for n, cap in config.ladder or ())
    left = work_left(config, spans)
    lines += ["", f"{per_epoch:.0f} s per full-size epoch ({'measured' if plan.stored else 'assumed'}), "
              f"{processes} process(es): spans left {len(spans)}, {left:.0f} full-size epochs, "
              f"at most {left * per_epoch / 3600 / processes:.1f} h (runs stop early below "
              f"{min(config.thresholds):.0%})",
              f"not yet derivable: {undecided} evaluation seeds of arms whose race or check is "
              f"running, at most {undecided * per_run * per_epoch / 3600 / processes:.1f} h more"]
    return "\n".join(lines)


def progress(config: Figure1Config, plan: Plan, n_eval: int) -> dict[str, Any]:
    """Where the stored runs stand, for the chapter: per arm its race (rate -> running error),
    the race's winner, its rate once decided, its check (`check_table`, if it has one), and how many
    of its evaluation and ladder runs finished; the CPU-hours spent (each span's wall seconds
    times its threads) and the spans each CPU model trained."""
    rows, checks = [], check_table(config, plan)
    for a in plan.arms:
        def done(stage: str) -> int:
            return sum(1 for t in plan.targets if t.stage == stage
                       and (t.run.variant, t.run.activation) == (a.variant, a.activation)
                       and (plan.stored.get(t.run.key) or {}).get("finished"))
        rows.append({"variant": a.variant, "activation": a.activation, "race": dict(a.errors),
                     "winner": a.winner, "rate": a.rate, "racing": a.winner is None,
                     "check": checks.get(f"{a.variant} {a.activation}"),
                     "eval_done": done("eval"), "eval_total": n_eval,
                     "ladder_done": done("ladder"), "ladder_total": n_eval * len(config.ladder or ())})
    spans = [s for r in plan.stored.values() for s in r["spans"]]
    machines = Counter(s.get("cpu_model") or s.get("device_name", "an unrecorded CPU") for s in spans)
    return {"arms": rows, "spans": len(spans), "machines": dict(machines),
            "cpu_hours": sum(s["wall_s"] * s.get("torch_threads", 1) for s in spans) / 3600}


def work(config: Figure1Config, n_eval: int, root: Path, *, device: str = "cpu",
         budget_s: float = math.inf, threads: int | None = None, progress: bool = False,
         poll_s: float = 30.0, clock=time.monotonic) -> int:
    """Train missing spans one after another until none is left or the budget is spent (a span
    starts only if its expected time fits); other processes may work beside this one, each run
    locked while trained. Returns the spans trained."""
    if threads:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)  # as `experiments.run_unit`: the same numbers in every span
    start, trained = clock(), 0
    while True:
        plan = load_plan(config, n_eval, root)
        assemble(config, plan, root)
        prune(config, plan, root)
        todo, per_epoch = plan.next_spans(config), epoch_seconds(config, plan)
        fits = [s for s in todo if clock() - start + work_left(config, [s]) * per_epoch <= budget_s]
        if not fits:
            print(f"{'budget spent' if todo else 'nothing left to train'}; {trained} spans in "
                  f"this call", flush=True)
            return trained
        span = next((s for s in fits if _train_claimed(config, s, root, device, progress)), None)
        if span is None:
            time.sleep(poll_s)  # every run that could start is another process's: wait
            continue
        trained += 1
        plan = load_plan(config, n_eval, root)
        rec, left = plan.stored[span.target.run.key], work_left(config, plan.spans(config))
        print(f"[{(clock() - start) / 3600:5.2f} h] {span.target.stage} {span.target.run.key} "
              f"epochs {span.start}-{epochs_done(rec)} in {rec['spans'][-1]['wall_s']:.0f} s"
              f"{' (finished)' if rec['finished'] else ''}; known spans left: {left:.0f} full-size "
              f"epochs, ~{left * epoch_seconds(config, plan) / 3600:.1f} h", flush=True)


def prune(config: Figure1Config, plan: Plan, root: Path) -> list[str]:
    """Delete the checkpoints no span will resume: of race runs whose arm has its winner and
    that no check continues (0.7 MB each, kept in git otherwise). Returns their names."""
    pending = {s.target.run for s in plan.spans(config)}
    decided = {(a.variant, a.activation) for a in plan.arms if a.winner is not None}
    gone = []
    for t in plan.targets:
        rec = plan.stored.get(t.run.key)
        if (rec and rec["checkpoint"] and t.run not in pending
                and (t.run.variant, t.run.activation) in decided):
            with claimed(root, t.run) as mine:
                if mine:
                    (runs_dir(root) / rec["checkpoint"]).unlink(missing_ok=True)
                    results.write_atomic(runs_dir(root) / f"{t.run.key}.json", {**rec, "checkpoint": None})
                    gone.append(rec["checkpoint"])
    return gone


def _train_claimed(config: Figure1Config, span: Span, root: Path, device: str,
                   progress: bool) -> bool:
    """Train `span` if no other process holds its run and it is still where the plan saw it."""
    with claimed(root, span.target.run) as mine:
        if not mine:
            return False
        rec = read_run(runs_dir(root) / f"{span.target.run.key}.json")
        if resumable(rec) != span.start or (rec is not None and rec["finished"]):
            return False
        train_span(config, span, root, device=device, progress=progress)
        return True
