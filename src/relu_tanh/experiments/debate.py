"""Chapter "debate": ReLU RNN + gradient clipping against LSTM/GRU + tanh on long-range tasks
(claim R6), beside Le, Jaitly and Hinton (2015).

``debate`` trains every kind of `relu_tanh.nets.recurrent` on every task of the scale, at equal hidden
size and at the LSTM's parameter count, over one grid of (optimiser, learning rate, clipping
threshold) that is the same for every model, and records for each run whether and when it
solved the task, its final test error, and whether it diverged. The grid points and model seeds
of one kind train together in one stack (one forward pass). Each model seed is scored at the
setting chosen on the *other* seeds (`measure.tuning.cross_fit`), so no reported run helped
choose its own learning rate. A registry seed is one share of one
block of `seeds` model seeds: registry seed s trains share s % shares of the grid (every
`shares`-th setting) for block s // shares, whose model seeds are b*seeds ... b*seeds + seeds - 1.
Shares let processes split the work (`python -m relu_tanh warm` runs one per core); on a CPU a
stack gains little beyond about ten models, so splitting one costs almost nothing.

Run: ``python -m relu_tanh run debate --scale paper --device cuda``
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass, replace
from typing import Any

import torch
from tqdm import tqdm

from ..measure import tuning
from ..nets import recurrent
from ..training import sequences
from ..data import Dataset
from ..nets.recurrent import FAMILIES, KINDS, RecurrentConfig
from ..training.loop import TrainConfig
from ..training.stacked import OPTIMIZERS, Member, Stacked, train_stacked
from . import Experiment, register

SGD_MOMENTUM = TrainConfig().momentum  # of every SGD setting (Le et al. 2015 used plain SGD)

SOLVED_FRACTION = 0.1  # adding: solved = test MSE at most this fraction of the 1/6 baseline
BLOWUP = 10.0  # adding: a test MSE above this multiple of the baseline counts as diverged
TARGET_ERROR = {  # classification: solved = test error at most this (accuracy at least 1 - it)
    "mnist1d": 0.5,  # logistic regression gets about 0.68 error, an MLP about 0.32 (Greydanus 2020)
    "fashion-rows": 0.2,  # logistic regression on the pixels gets about 0.16
    "fashion-pixels": 0.3,
    "fashion-ppixels": 0.3,
}
REFERENCE = "lstm"  # the parameter-matched variant gives every kind this kind's parameter count
VARIANTS = ("equal", "matched")  # matched: every kind at the REFERENCE kind's parameter count


@dataclass(frozen=True)
class LearningRates:
    """The learning-rate grid of each optimiser (`OPTIMIZERS`)."""

    sgd: tuple[float, ...] = (1e-2, 3e-2, 1e-1)
    adam: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)

    def __getitem__(self, optimizer: str) -> tuple[float, ...]:
        return getattr(self, optimizer)

    def validate(self) -> None:
        if any(not lr > 0 for opt in OPTIMIZERS for lr in self[opt]):
            raise ValueError(f"lrs: every learning rate must be positive, got {self}")


@dataclass(frozen=True)
class DebateConfig:
    """Book scale by default: what fits the chapter's CPU budget (cut from the issue's plan:
    adding-100, the parameter-matched variant and a second clipping threshold; see the page)."""

    tasks: tuple[str, ...] = ("adding-50", "mnist1d", "fashion-rows")
    kinds: tuple[str, ...] = KINDS
    variants: tuple[str, ...] = ("equal",)  # and/or "matched": the LSTM's parameter count
    optimizers: tuple[str, ...] = OPTIMIZERS  # each one a condition of the verdict, fixed before the runs
    hidden: int = 32
    seeds: int = 3  # model seeds per block
    shares: int = 1  # registry seeds per block, each training every shares-th grid setting
    lrs: LearningRates = LearningRates()
    clips: tuple[float, ...] = (1.0,)
    steps: tuple[int, ...] = (800, 400, 300)  # training steps, one entry per task
    batch_size: int = 32
    eval_every: int = 50
    eval_examples: int = 256
    adding_train: int = 10_000  # adding problem examples (fresh synthetic draws)
    adding_test: int = 1_000
    n_train: int | None = None  # classification: None keeps the whole training set
    n_test: int | None = None
    dataset: str = "fashion-mnist-small"  # for the Fashion-MNIST tasks
    cpu_threads: int | None = 1  # torch threads while training on a CPU (None: leave as is); the
    # small per-step products gain nothing from a second thread and lose much to its spinning

    def datasets(self) -> tuple[str, ...]:
        """The image datasets the tasks read (the adding problem and MNIST-1D are generated)."""
        return (self.dataset,) if any(t.startswith("fashion") for t in self.tasks) else ()

    def validate(self) -> None:
        """Checked when the config is built or overridden, before any work."""
        if self.seeds < 1 or self.shares < 1:
            raise ValueError(f"seeds and shares must be at least 1, got {self.seeds}, {self.shares}")
        if len(self.steps) != len(self.tasks):
            raise ValueError(f"steps needs one entry per task, got {self.steps} for {self.tasks}")
        for task in self.tasks:
            target_for(task)  # an unknown task lists the valid ones
        if unknown := [k for k in self.kinds if k not in KINDS]:
            raise ValueError(f"kinds: unknown {unknown}; valid choices: {', '.join(KINDS)}")
        if unknown := [v for v in self.variants if v not in VARIANTS]:
            raise ValueError(f"variants: unknown {unknown}; valid choices: {', '.join(VARIANTS)}")
        if not self.optimizers or (unknown := [o for o in self.optimizers if o not in OPTIMIZERS]):
            raise ValueError(f"optimizers: unknown or none {list(self.optimizers)}; valid choices: "
                             f"{', '.join(OPTIMIZERS)}")


# Book scale, cut to what can decide within the chapter's CPU budget: Adam only (in an earlier
# book-scale run SGD, with or without momentum, solved nothing within these budgets, and
# fashion-rows was solved by no ReLU or gated model: both spent a third of the time on runs
# that could not inform the verdict), six model seeds per model (the fewest at which a perfect
# match can clear the margin, `claims.debate.fewest_seeds`), no LSTM with the larger
# forget-gate bias (paper scale runs it), the grid split in two shares, one per core.
BOOK = DebateConfig(tasks=("adding-50", "mnist1d"), steps=(800, 400), optimizers=("adam",),
                    kinds=tuple(k for k in KINDS if k != "lstm_fb"), seeds=6, shares=2)


# --- tasks -----------------------------------------------------------------------------------


def task_names() -> tuple[str, ...]:
    return ("adding-<length>", *TARGET_ERROR)


def is_adding(name: str) -> bool:
    return name.startswith("adding-") and name[7:].isdigit()


def target_for(name: str) -> float:
    """The test error at or below which a run has solved task `name`."""
    if is_adding(name):
        return SOLVED_FRACTION * sequences.ADDING_BASELINE_MSE
    if name not in TARGET_ERROR:
        raise ValueError(f"unknown debate task {name!r}; valid choices: {', '.join(task_names())}")
    return TARGET_ERROR[name]


def load_task(name: str, cfg: DebateConfig) -> tuple[Dataset, float, float]:
    """The task's dataset, its solved threshold and its blow-up threshold (test error)."""
    if is_adding(name):
        ds = sequences.adding(int(name[7:]), cfg.adding_train, cfg.adding_test)
        return ds, target_for(name), BLOWUP * sequences.ADDING_BASELINE_MSE
    loaders = {"mnist1d": lambda: sequences.mnist1d_sequence(cfg.n_train, cfg.n_test),
               "fashion-rows": lambda: sequences.fashion_rows(cfg.n_train, cfg.n_test, cfg.dataset),
               "fashion-pixels": lambda: sequences.fashion_pixels(cfg.n_train, cfg.n_test, False, cfg.dataset),
               "fashion-ppixels": lambda: sequences.fashion_pixels(cfg.n_train, cfg.n_test, True, cfg.dataset)}
    if name not in loaders:
        raise ValueError(f"unknown debate task {name!r}; valid choices: {', '.join(task_names())}")
    return loaders[name](), target_for(name), math.inf  # an error rate cannot blow up


def grid(cfg: DebateConfig, seeds: list[int]) -> list[Member]:
    """Every (optimiser, learning rate, clip) of the protocol at every seed: one stack's models
    (SGD with momentum `SGD_MOMENTUM` and/or Adam with PyTorch's defaults; the seed fixes a model's
    initialisation and the order it draws its training examples in)."""
    return [Member(lr, s, opt, clip) for opt in cfg.optimizers for lr in cfg.lrs[opt]
            for clip in cfg.clips for s in seeds]


def model_config(cfg: DebateConfig, kind: str, variant: str, ds: Dataset) -> RecurrentConfig:
    n_in, n_out = ds.x_train.shape[2], 1 if ds.task == "regression" else ds.n_classes
    base = RecurrentConfig(kind, n_in, n_out, cfg.hidden, length=ds.x_train.shape[1])
    if variant == "equal":
        return base
    if variant == "matched":
        target = recurrent.n_params(replace(base, kind=REFERENCE))
        return replace(base, hidden=recurrent.matched_hidden(base, target))
    raise ValueError(f"unknown variant {variant!r}; valid choices: {', '.join(VARIANTS)}")


def run_seed(cfg: DebateConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Every kind x variant x task, its whole grid and `cfg.seeds` model seeds in one stack each."""
    before = torch.get_num_threads()
    if cfg.cpu_threads and torch.device(device).type == "cpu":
        torch.set_num_threads(cfg.cpu_threads)
    try:
        return _run_seed(cfg, seed, device, progress)
    finally:
        torch.set_num_threads(before)


def share_settings(cfg: DebateConfig, seed: int) -> list[Member]:
    """The settings registry seed `seed` trains: its share of its block's grid."""
    block, share = divmod(seed, cfg.shares)
    return grid(cfg, list(range(block * cfg.seeds, (block + 1) * cfg.seeds)))[share::cfg.shares]


def _run_seed(cfg: DebateConfig, seed: int, device: str, progress: bool) -> dict[str, Any]:
    budgets = dict(zip(cfg.tasks, cfg.steps))
    runs, timing = [], []
    jobs = [(t, v, k) for t in cfg.tasks for v in cfg.variants for k in cfg.kinds
            if not (v == "matched" and k == REFERENCE)]  # the reference is its own match
    datasets: dict[str, tuple[Dataset, float, float]] = {}
    for task, variant, kind in tqdm(jobs, desc=f"seed block {seed}", disable=not progress, leave=False):
        if task not in datasets:
            datasets = {task: load_task(task, cfg)}
        ds, target, blowup = datasets[task]
        mcfg = model_config(cfg, kind, variant, ds)
        settings = share_settings(cfg, seed)
        records, seconds = train_kind(cfg, mcfg, settings, ds, budgets[task], target=target,
                                      blowup=blowup, device=device)
        tags = {"task": task, "variant": variant, "kind": kind, "hidden": mcfg.hidden,
                "params": recurrent.n_params(mcfg)}
        runs += [tags | r for r in records]
        timing.append(tags | {"models": len(settings), "seconds_per_step": seconds})
    return {"runs": runs, "timing": timing}


def train_kind(cfg: DebateConfig, mcfg: RecurrentConfig, settings: list[Member], ds: Dataset,
               steps: int, *, target: float, blowup: float,
               device: str) -> tuple[list[dict], float]:
    """Train one model per setting, all in one `recurrent.Stack`, for `steps` steps of batches
    drawn with replacement. Every `cfg.eval_every` steps each model's error on the first
    `cfg.eval_examples` test examples is recorded; the first at or below `target` is its step to
    solve (None if never: censored). A model is marked diverged, and frozen, when its loss or
    gradient is not finite or its evaluated error exceeds `blowup`. Returns one record per model
    and the wall-clock seconds per training step of the whole stack."""
    stack = recurrent.Stack(mcfg, [s.seed for s in settings]).to(device)
    bound = mcfg.indrnn_bound
    constrain = (lambda p: p["u"].clamp_(-bound, bound)) if mcfg.kind == "indrnn" else None
    model = Stacked.native(stack)
    runs, clock = train_stacked(model, settings, ds, TrainConfig(batch_size=cfg.batch_size,
                                                                 log_every=cfg.eval_every),
                                steps=steps, eval_every=cfg.eval_every,
                                eval_examples=cfg.eval_examples, blowup=blowup,
                                constrain=constrain, device=device)
    final = model.evaluate(ds.x_test.to(device), ds.y_test.to(device)).tolist()
    records = []
    for run, f, setting in zip(runs, final, settings):
        solved = next((step for step, err in run.evals if err <= target), None)
        records.append({"curve": run.evals, "solved_at": solved, "diverged_at": run.diverged_at_step,
                        "final": None if run.diverged else f, "diverged": run.diverged,
                        **dataclasses.asdict(setting)})
    return records, clock["wall"][-1] / len(clock["wall"])


# --- summary: per task, variant, kind and optimiser --------------------------------------------


def median_steps(solved_at: list[int | None]) -> float:
    """Median steps to solve over runs, a censored run (never solved: None) counting as +inf; so
    the median is finite only when more than half the runs solved."""
    values = sorted(math.inf if s is None else float(s) for s in solved_at)
    return statistics.median(values) if values else math.inf


def solved_at(run: dict, target: float) -> int | None:
    """The step a run solved its task at: its first evaluation at or below `target`, provided its
    final test error (all test examples, end of the budget) is there too; else None (censored:
    a run that reached the target and lost it again has not solved the task)."""
    ends_solved = run["final"] is not None and run["final"] <= target
    return run["solved_at"] if ends_solved else None


def point_stats(runs: list[dict], target: float) -> dict[str, Any]:
    """Success and timing of a set of runs (seeds): success rate and count, median steps to
    solve (censored runs at +inf) and among the successes only, median final error, and the
    shares that diverged and that reached the target but ended above it again (fell back)."""
    finals = [r["final"] for r in runs if r["final"] is not None]
    steps = [solved_at(r, target) for r in runs]
    solved = [s for s in steps if s is not None]
    return {"success": len(solved) / len(runs), "successes": len(solved),
            "median_steps": median_steps(steps),
            "steps_solved": statistics.median(solved) if solved else math.nan,
            "final": statistics.median(finals) if finals else math.nan,
            "diverged": sum(r["diverged"] for r in runs) / len(runs),
            "fell_back": sum(r["solved_at"] is not None and s is None
                             for r, s in zip(runs, steps)) / len(runs), "n": len(runs)}


def rank(stats: dict[str, Any]) -> tuple[float, float, float]:
    """The tuning rule, lowest first: highest success rate, then fewest median steps to solve,
    then lowest median final error (a setting whose every run diverged has none, and ranks last)."""
    final = stats["final"] if not math.isnan(stats["final"]) else math.inf
    return -stats["success"], stats["median_steps"], final


def best_point(points: dict[tuple[float, float], dict]) -> tuple[float, float]:
    """The (lr, clip) that `rank` puts first."""
    return min(points, key=lambda lc: rank(points[lc]))


def summarize(cfg: DebateConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per (task, variant, kind, optimiser): each model seed scored at the (lr, clip) chosen on
    the other seeds (`tuning.cross_fit` by `rank`), with the grid's sensitivity and divergence."""
    runs = [r for out in seeds.values() for r in out["runs"]]
    timing = [t for out in seeds.values() for t in out["timing"]]
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["task"], r["variant"], r["kind"], r["optimizer"]), []).append(r)
    rows = []
    for (task, variant, kind, opt), group in groups.items():
        target, lrs = target_for(task), sorted({r["lr"] for r in group})
        points: dict[tuple[float, float], dict[int, dict]] = {}
        for r in group:
            points.setdefault((r["lr"], r["clip"]), {})[r["seed"]] = r
        chosen = tuning.cross_fit(points, lambda rs: rank(point_stats(list(rs), target)))
        scored = tuning.scored(points, chosen)
        grid_stats = [point_stats(list(p.values()), target) for p in points.values()]
        picks = [chosen[seed] for seed in sorted(chosen)]
        secs = [t["seconds_per_step"] / t["models"] for t in timing
                if (t["task"], t["variant"], t["kind"]) == (task, variant, kind)]
        rows.append({"task": task, "variant": variant, "kind": kind, "family": FAMILIES[kind],
                     "optimizer": opt, "hidden": group[0]["hidden"], "params": group[0]["params"],
                     "picks": picks, "lr_at_edge": any(lr in (lrs[0], lrs[-1]) for lr, _ in picks),
                     **point_stats(scored, target),
                     "sensitivity": sum(s["success"] >= 0.5 for s in grid_stats) / len(grid_stats),
                     "divergence": sum(r["diverged"] for r in group) / len(group),
                     "model_steps_per_s": 1 / statistics.median(secs) if secs else math.nan,
                     "curves": [r["curve"] for r in scored]})
    return {"rows": rows, "tasks": cfg.tasks, "variants": cfg.variants, "kinds": cfg.kinds,
            "optimizers": cfg.optimizers, "seeds": len({r["seed"] for r in runs})}


def row(summary: dict[str, Any], task: str, variant: str, kind: str, optimizer: str
        ) -> dict[str, Any] | None:
    """The summary's row of one model on one task, or None if it was not run."""
    return next((r for r in summary["rows"] if (r["task"], r["variant"], r["kind"], r["optimizer"])
                 == (task, variant, kind, optimizer)), None)


def replicates(seeds: dict[int, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The runs regrouped by model seed, the independent replicates (a registry seed is a share
    of a block's grid, not one). A stack trains every model seed at once, so each replicate
    carries all the timing."""
    timing = [t for k in sorted(seeds) for t in seeds[k]["timing"]]
    runs: dict[int, list[dict[str, Any]]] = {}
    for k in sorted(seeds):
        for r in seeds[k]["runs"]:
            runs.setdefault(r["seed"], []).append(r)
    return {"model seeds": [{"runs": runs[s], "timing": timing} for s in sorted(runs)]}


def as_seeds(strata: dict[str, list[dict[str, Any]]]) -> dict[int, dict[str, Any]]:
    """Replicates back into `summarize`'s input, one per seed, each run relabelled with it."""
    return {i: {**rep, "runs": [{**r, "seed": i} for r in rep["runs"]]}
            for i, rep in enumerate(strata["model seeds"])}


SMOKE = DebateConfig(tasks=("adding-20", "mnist1d"), steps=(20, 20), hidden=4, seeds=2,
                     eval_every=10, eval_examples=64, adding_train=256, adding_test=64,
                     n_train=256, n_test=64, lrs=LearningRates(sgd=(1e-2, 1e-1), adam=(3e-3, 3e-2)),
                     shares=2)
# Paper scale: Le et al.'s lengths and pixel tasks, 100 units, batches of 16, a crossed grid;
# four shares, so that `run --unit K/4` (or `--launcher ray`) can spread it over GPUs.
PAPER = DebateConfig(tasks=("adding-100", "adding-150", "adding-200", "adding-300", "adding-400",
                            "fashion-pixels", "fashion-ppixels"),
                     steps=(20_000,) * 7, variants=("equal", "matched"), hidden=100, seeds=6,
                     shares=4, batch_size=16, eval_every=250, eval_examples=1000,
                     adding_train=100_000, adding_test=10_000,
                     lrs=LearningRates(sgd=(1e-3, 1e-2, 1e-1), adam=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2)),
                     clips=(1.0, 10.0, 100.0))
CONFIGS = {"smoke": SMOKE, "book": BOOK, "paper": PAPER}

register(Experiment(
    name="debate", chapter="debate",
    version=3,  # 3: optimisers and seeds per config; scored at settings cross-fitted over seeds
    description="ReLU RNNs (Gaussian, IRNN, np-RNN, IndRNN) + clipping against LSTM/GRU and the "
                "LRU on the adding problem and sequential classification, SGD and Adam, tuned alike",
    configs=CONFIGS,
    seeds={scale: c.shares for scale, c in CONFIGS.items()},  # registry seeds: one block's shares
    run_seed=run_seed, summarize=summarize, replicates=replicates, as_seeds=as_seeds,
))


# --- what the chapter prints -------------------------------------------------------------------

# Le, Jaitly and Hinton (2015), Table 2: test accuracy on sequential pixel MNIST (100 hidden units)
LE2015_PIXEL = {"irnn": (0.97, 0.82), "lstm": (0.65, 0.36), "tanh": (0.35, 0.35)}  # (pixel, permuted)
PIXEL_TASKS = ("fashion-pixels", "fashion-ppixels")


def steps_text(steps: float) -> str:
    """Steps to solve for a table cell; a censored median (or no success) reads as 'not solved'."""
    return f"{steps:,.0f}" if math.isfinite(steps) else "not solved"


def picks_text(picks: list[tuple[float, float]]) -> str:
    """The settings the seeds were scored at, each with how many seeds: '0.01 (4), 0.03 (2)'."""
    counts: dict[float, int] = {}
    for lr, _ in picks:
        counts[lr] = counts.get(lr, 0) + 1
    return ", ".join(f"{lr:g} ({n})" for lr, n in sorted(counts.items()))


def table_rows(summary: dict[str, Any], task: str, variant: str, optimizer: str,
               labels: dict[str, str]) -> tuple[list[str], list[list[Any]]]:
    """The debate table of one task: per model, the rates its seeds were scored at, successes,
    steps to solve among them, and the shares diverged and fallen back."""
    header = ["model", "lr (seeds)", "solved", "steps to solve", "diverged", "fell back",
              "grid solved", "steps/s"]
    rows = []
    for kind in summary["kinds"]:
        if (r := row(summary, task, variant, kind, optimizer)) is not None:
            edge = " (edge)" if r["lr_at_edge"] else ""
            rows.append([labels[kind], picks_text(r["picks"]) + edge, f"{r['successes']}/{r['n']}",
                         steps_text(r["steps_solved"]), f"{r['diverged']:.0%}",
                         f"{r['fell_back']:.0%}", f"{r['sensitivity']:.0%}",
                         f"{r['model_steps_per_s']:.0f}"])
    return header, rows


def paper_rows(summary: dict[str, Any] | None, labels: dict[str, str]) -> tuple[list[str], list[list[Any]]]:
    """Le et al.'s pixel-MNIST accuracies beside ours on pixel (and permuted) Fashion-MNIST."""
    header = ["model", "Le et al.: pixel MNIST", "ours: pixel Fashion-MNIST",
              "Le et al.: permuted", "ours: permuted"]
    rows = []
    for kind, (pix, perm) in LE2015_PIXEL.items():
        ours = []
        for task in PIXEL_TASKS:
            best = [r for r in (summary or {}).get("rows", []) if r["task"] == task
                    and r["kind"] == kind and r["variant"] == "equal" and r["final"] == r["final"]]
            best = min(best, key=lambda r: r["final"], default=None)
            ours.append(f"{1 - best['final']:.2f} ({best['optimizer']})" if best else "not run")
        rows.append([labels[kind], f"{pix:.2f}", ours[0], f"{perm:.2f}", ours[1]])
    return header, rows
