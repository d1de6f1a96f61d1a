"""Command line: ``python -m relu_tanh list | run EXPERIMENT | show EXPERIMENT | verdicts``."""

from __future__ import annotations

import argparse
import json
import sys

from . import claims, experiments, results
from .scale import SCALES, current_scale


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:  # only the user's input is checked here; errors inside a run keep their traceback
        if getattr(args, "experiment", None):
            experiments.get(args.experiment)
        if getattr(args, "seeds", None) is not None and args.seeds < 1:
            raise ValueError("--seeds must be at least 1")
    except (KeyError, ValueError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    return args.func(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m relu_tanh", description=__doc__)
    sub = p.add_subparsers(required=True)
    sub.add_parser("list", help="experiments, their chapters and seeds per scale").set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="run an experiment; writes results/EXPERIMENT/SCALE.json")
    run.add_argument("experiment")
    run.add_argument("--scale", choices=SCALES, default=None, help="default: $RELU_TANH_SCALE or book")
    run.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    run.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the scale's)")
    run.set_defaults(func=cmd_run)
    show = sub.add_parser("show", help="print a stored results file's provenance and seeds")
    show.add_argument("experiment")
    show.add_argument("--scale", choices=SCALES, default="paper")
    show.set_defaults(func=cmd_show)
    ver = sub.add_parser("verdicts", help="decide every claim (runs what is missing, in the cache)")
    ver.add_argument("--scale", choices=SCALES, default=None)
    ver.set_defaults(func=cmd_verdicts)
    return p


def cmd_list(args: argparse.Namespace) -> int:
    for name in experiments.names():
        exp = experiments.get(name)
        seeds = ", ".join(f"{s}: {n}" for s, n in exp.seeds.items())
        print(f"{name:18} chapter {exp.chapter:12} seeds ({seeds})  {exp.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        res = experiments.run(args.experiment, args.scale, seeds=args.seeds, device=args.device,
                              root=results.results_dir(), progress=True)
    except KeyboardInterrupt:
        print("\ninterrupted: finished seeds are saved; run the same command again to resume",
              file=sys.stderr)
        return 130
    wall = sum(s["wall_s"] for s in res.seeds.values())
    print(f"{res.experiment} at {res.scale} scale: {len(res.seeds)} seeds, {wall:.1f} s -> {res.path}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    res = experiments.load_stored(args.experiment, args.scale)
    if res is None:
        print(f"no stored {args.scale}-scale run of {args.experiment}; make one with "
              f"`python -m relu_tanh run {args.experiment} --scale {args.scale}`")
        return 1
    print(json.dumps({"path": str(res.path), "seeds": sorted(res.seeds),
                      "provenance": res.provenance}, indent=1))
    return 0


def cmd_verdicts(args: argparse.Namespace) -> int:
    print(f"scale: {args.scale or current_scale()}")
    for c, v in claims.ledger(args.scale):
        print(f"- {c.id}: {v.status.upper()} ({v.reason})")
    return 0
