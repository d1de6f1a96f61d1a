"""Command line: ``python -m relu_tanh list | run EXPERIMENT | warm | paper | show EXPERIMENT | verdicts | bench``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import claims, data, experiments, launch, paper
from .store import results
from .store.scales import ENV_VAR, SCALES, resolve


# Failures of files and data that a run meets: their messages name the file and what to do.
FILE_ERRORS = (results.RecordError, data.DatasetNotFound, data.ChecksumError, data.CorruptDataFile)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:  # every known bad input is checked here, before any work: one line, exit 2
        check_input(args)
    except (KeyError, ValueError) as err:
        return error(err)
    try:  # any other error inside a run keeps its traceback
        return args.func(args)
    except FILE_ERRORS as err:
        return error(err, 1 if args.func is cmd_show else 2)


def check_input(args: argparse.Namespace) -> None:
    """Raise KeyError or ValueError (a one-line message naming the valid choices) for any input
    that cannot work: scale, experiment names, device, seed count, unit, jobs, budget, threads."""
    if hasattr(args, "scale"):
        args.scale = resolve(args.scale, default="paper" if args.func is cmd_paper else None)
    for flag in ("seeds", "jobs", "threads", "processes", "budget"):
        value = getattr(args, flag, None)
        if value is not None and not value > 0:
            raise ValueError(f"--{flag} must be positive (above 0), got {value:g}")
    for name in [getattr(args, "experiment", None), *getattr(args, "only", ())]:
        if name is not None:
            experiments.get(name)
    if args.func is cmd_bench:
        args.device = bench_device(args.scale, args.device)
    elif args.func is cmd_paper and not args.plan:
        args.device = args.device if args.device is not None else "cuda"
    if getattr(args, "device", None) is not None:
        results.check_device(args.device)
    if getattr(args, "unit", None) is not None:
        experiments.unit_seeds(args.unit, 1)


def bench_device(scale: str, device: str | None) -> str:
    """The device `bench` runs on: the one asked for, else the scale's, if this machine has it."""
    from .measure import bench

    sized_for = bench.bench_config(scale).device
    if device is None and sized_for not in results.available_devices():
        raise ValueError(f"bench at {scale} scale is sized for {sized_for}, which this machine "
                         f"lacks; pass --device (available: {', '.join(results.available_devices())}) "
                         f"or another --scale (valid choices: {', '.join(SCALES)})")
    return device or sized_for


def error(err: Exception, code: int = 2) -> int:
    print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
    return code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m relu_tanh", description=__doc__)
    sub = p.add_subparsers(required=True)
    sub.add_parser("list", help="experiments, their chapters and seeds per scale").set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="run an experiment; writes results/EXPERIMENT/SCALE.json")
    run.add_argument("experiment")
    run.add_argument("--scale", choices=SCALES, default=None, help="default: $RELU_TANH_SCALE or book")
    run.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    run.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the scale's)")
    run.add_argument("--force", action="store_true",
                     help="move a stored paper-scale record of another config or version aside "
                          "(it is kept beside the new one) instead of refusing")
    run.add_argument("--unit", default=None, metavar="K/N",
                     help="run only the K-th of N interleaved shares of the seeds (1 <= K <= N); "
                          "N processes or machines fill one record")
    run.add_argument("--launcher", choices=launch.LAUNCHERS, default="local",
                     help="local: seeds one after another here; ray: one Ray task per seed")
    run.add_argument("--address", default=None,
                     help="with --launcher ray: a cluster (auto or HOST:PORT); default: a Ray "
                          "instance on this machine")
    run.set_defaults(func=cmd_run)
    wrm = sub.add_parser("warm", help="pre-run every page's experiments into the book's run "
                                      "cache, several at once (what `make book` does first)")
    wrm.add_argument("--scale", choices=SCALES, default=None, help="default: $RELU_TANH_SCALE or book")
    wrm.add_argument("--jobs", type=int, default=2, help="processes at once (default: 2)")
    wrm.set_defaults(func=cmd_warm)
    pap = sub.add_parser("paper", help="every experiment at paper scale within a time budget, "
                                       "priority order, saving each finished seed")
    pap.add_argument("--budget", type=float, default=None, help="seconds (required unless --plan)")
    pap.add_argument("--plan", action="store_true",
                     help="print the units, what is done and the estimate; run nothing")
    pap.add_argument("--threads", type=int, default=None,
                     help="torch threads per process (default: torch's)")
    pap.add_argument("--processes", type=int, default=1,
                     help="with --plan: processes the estimate assumes (default: 1)")
    pap.add_argument("--out", type=Path, default=None,
                     help="where records go (default: $RELU_TANH_RESULTS or results/)")
    pap.add_argument("--device", default=None, help="default: cuda (Figure 1's spans: cpu works)")
    pap.add_argument("--scale", choices=SCALES, default=None,
                     help="default: $RELU_TANH_SCALE, else paper; smoke rehearses the whole run "
                          "on a CPU in seconds")
    pap.add_argument("--untimed-first", action="store_true",
                     help="give an experiment with no cost estimate its first unit, to time it "
                          "(when your own time-out is the hard stop)")
    pap.add_argument("--only", nargs="+", default=(), metavar="EXPERIMENT",
                     help="these experiments only (in priority order)")
    pap.set_defaults(func=cmd_paper)
    show = sub.add_parser("show", help="print a stored results file's provenance and seeds")
    show.add_argument("experiment")
    show.add_argument("--scale", choices=SCALES, default=None, help="default: $RELU_TANH_SCALE or book")
    show.set_defaults(func=cmd_show)
    ver = sub.add_parser("verdicts", help="decide every claim (runs what is missing, in the cache)")
    ver.add_argument("--scale", choices=SCALES, default=None, help="default: $RELU_TANH_SCALE or book")
    ver.set_defaults(func=cmd_verdicts)
    ben = sub.add_parser("bench", help="time every activation against the copy bandwidth, live; "
                                       "prints a table, stores nothing (see `run cost_micro`)")
    ben.add_argument("--scale", choices=SCALES, default=None, help="default: $RELU_TANH_SCALE or book")
    ben.add_argument("--device", default=None, help="default: the scale's (cpu; cuda for paper)")
    ben.add_argument("--all", action="store_true", help="every row, not only the largest size")
    ben.set_defaults(func=cmd_bench)
    return p


def cmd_list(args: argparse.Namespace) -> int:
    for name in experiments.names():
        exp = experiments.get(name)
        seeds = ", ".join(f"{s}: {n}" for s, n in exp.seeds.items())
        print(f"{name:18} chapter {exp.chapter:12} seeds ({seeds})  {exp.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if args.address and args.launcher != "ray":
        return error(ValueError("--address needs --launcher ray"))
    if args.unit and args.launcher != "local":
        return error(ValueError("--unit splits a run by hand; the ray launcher splits it by itself"))
    extra = {"address": args.address} if args.launcher == "ray" else {"unit": args.unit}
    try:
        res = launch.runner(args.launcher)(args.experiment, args.scale, seeds=args.seeds,
                                           device=args.device, root=results.results_dir(),
                                           progress=True, force=args.force, **extra)
    except KeyboardInterrupt:
        print("\ninterrupted: finished seeds are saved; run the same command again to resume",
              file=sys.stderr)
        return 130
    wall = sum(s["wall_s"] for s in res.seeds.values())
    print(f"{res.experiment} at {res.scale} scale: {len(res.seeds)} seeds, {wall:.1f} s -> {res.path}")
    return 0


def cmd_warm(args: argparse.Namespace) -> int:
    from . import warm

    took = warm.warm(args.scale, args.jobs)
    print(f"warm: {len({name for name, _ in took})} experiments in {len(took)} units at "
          f"{args.scale} scale, {sum(took.values()):.0f} s of runs")
    return 0


def cmd_paper(args: argparse.Namespace) -> int:
    root = args.out or results.results_dir()
    if args.plan:
        print(paper.describe(args.scale, tuple(args.only), root, args.processes))
        return 0
    if args.budget is None:
        return error(ValueError("paper needs --budget SECONDS (or --plan to only print the plan)"))
    told = " (from $RELU_TANH_SCALE)" if os.environ.get(ENV_VAR) == args.scale else ""
    print(f"paper run: {args.scale} scale{told} on {results.device_name(args.device)}, budget "
          f"{args.budget:.0f} s, records in {root}", flush=True)
    try:
        summary = paper.run_paper(args.budget, root=root, device=args.device, scale=args.scale,
                                  only=tuple(args.only), threads=args.threads,
                                  untimed_first=args.untimed_first)
    except KeyboardInterrupt:
        print("\ninterrupted: finished seeds are saved; run the same command again to resume",
              file=sys.stderr)
        return 130
    print(paper.format_summary(summary))
    return 1 if any(p.status.startswith("failed") for p in summary) else 0


def cmd_show(args: argparse.Namespace) -> int:
    res = experiments.load_stored(args.experiment, args.scale)
    if res is None:
        print(f"no stored {args.scale}-scale run of {args.experiment} in {results.results_dir()}; "
              f"make one with `python -m relu_tanh run {args.experiment} --scale {args.scale}`")
        return 1
    print(json.dumps({"path": str(res.path), "seeds": sorted(res.seeds), "provenance": res.provenance,
                      "seed_provenance": {str(s): p for s, p in sorted(res.seed_provenance.items())}},
                     indent=1))
    return 0


def cmd_verdicts(args: argparse.Namespace) -> int:
    print(f"scale: {args.scale}")
    for c, v in claims.ledger(args.scale):
        conditions = f" [{claims.core.conditions_text(v.conditions)}]" if v.conditions else ""
        print(f"- {c.id}: {v.headline.upper()}{conditions}, stability "
              f"{claims.core.stability_text(v)} ({v.reason})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from .measure import bench

    cfg = dataclasses.replace(bench.bench_config(args.scale), device=args.device)
    rows, copies = bench.run_sweep(cfg, progress=True)
    with bench.num_threads(cfg.threads):
        threads = torch.get_num_threads()
    print(f"{args.scale} scale on {results.device_name(cfg.device)}, "
          f"torch {torch.__version__}, {threads} thread(s); medians of {cfg.repeats} repeats\n")
    gbs = lambda c, k: c[f"{k}_bytes_per_s"] / 1e9
    print(bench.format_table([{"numel": c["numel"], "dtype": c["dtype"], "clone_GB_per_s": gbs(c, "clone"),
                               "prealloc_GB_per_s": gbs(c, "prealloc")} for c in copies]) + "\n")
    print(bench.format_table(rows if args.all else bench.relative_to(rows)))
    return 0
