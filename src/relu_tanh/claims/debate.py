"""Chapter "debate": does a ReLU RNN with gradient clipping match LSTM/GRU with tanh on
long-range tasks (R6)?

Each ReLU RNN is compared by itself with each gated net, task by task: the difference of their
success rates over model seeds, every seed scored at a setting tuned on the other seeds, with
Newcombe's interval (`measure.stats.non_inferiority`). A ReLU RNN matches a gated net when the
whole interval lies above -`MARGIN`, falls short when it lies below, and the pair is undecided
when it straddles. Each ReLU RNN (under each optimiser of the config) is one condition of the
verdict: it holds when it matches every gated net on every informative task, and does not hold
when it falls short of one somewhere.
"""

from __future__ import annotations

from typing import Any

from .. import experiments
from ..experiments import debate as exp
from ..measure import stats
from ..nets.recurrent import FAMILIES, LABELS
from .core import DECIDED, Regions, Status, Verdict, claim, fmt
from .through_time import LE2015_ADDING_STEPS

VARIANT = "equal"  # decided at equal hidden size, as Le et al. compare (the LSTM has 4x the weights)
MARGIN = 1 / 3  # "matches": a success rate at most this far below the gated net's
LEVEL = 0.9  # of the interval on the difference of success rates
DECISIVE = 0.8  # the power calculation's target: the chance that the seeds decide a pair
MOST_SEEDS = 40  # the power calculation looks no further
STEPS = {"mnist1d": 40, "fashion-rows": 28, "fashion-pixels": 784, "fashion-ppixels": 784}
LONG_RANGE = 100  # steps: shorter tasks are not the long-range ones of Le et al. (2015), whose
# adding problems run LE2015_ADDING_STEPS and pixel tasks 784


def length(task: str) -> int:
    """Time steps of a debate task's sequences."""
    return int(task[7:]) if exp.is_adding(task) else STEPS[task]


def fewest_seeds(margin: float = MARGIN, level: float = LEVEL) -> int:
    """The fewest seeds per model at which a perfect match (every seed of both models solves)
    is found non-inferior: with fewer, "holds" is out of reach."""
    return next(n for n in range(1, MOST_SEEDS + 1)
                if stats.non_inferiority(n, n, n, n, margin, level) == "holds")


def best_width(n: int) -> float:
    """Half-width of the narrowest interval on a difference with n seeds per model (both n/n)."""
    return -stats.newcombe(n, n, n, n, LEVEL)[1]


def seeds_for(p_relu: float, p_gated: float) -> int | None:
    """The fewest seeds per model (up to `MOST_SEEDS`) that decide the pair with chance at least
    `DECISIVE`, were the true success rates the measured ones; None if none does."""
    return next((n for n in range(fewest_seeds(), MOST_SEEDS + 1)
                 if 1 - stats.decision_chances(p_relu, p_gated, n, MARGIN, LEVEL)["inconclusive"]
                 >= DECISIVE), None)


def _reach(scale: str) -> str:
    cfg = experiments.config_for("debate", scale)
    steps = ", ".join(f"{t} ({length(t)} steps, {n:,} updates)" for t, n in zip(cfg.tasks, cfg.steps))
    return (f"success counts over {cfg.seeds} seeds per model, whose {LEVEL:.0%} interval on a "
            f"difference is at best ±{fmt(best_width(cfg.seeds))} "
            f"(a match is decidable from {fewest_seeds()} seeds), on {steps}; a model that solves "
            f"only with more updates reads as failing")


def relu_kinds(summary: dict[str, Any]) -> list[str]:
    return [k for k in summary["kinds"] if FAMILIES[k] == "ReLU RNN"]


def gated_kinds(summary: dict[str, Any]) -> list[str]:
    return [k for k in summary["kinds"] if FAMILIES[k] == "gated"]


def informative(summary: dict[str, Any], optimizer: str) -> list[str]:
    """The tasks some ReLU or gated model solved at least once under `optimizer`."""
    kinds = relu_kinds(summary) + gated_kinds(summary)
    return [t for t in summary["tasks"]
            if any((r := exp.row(summary, t, VARIANT, k, optimizer)) and r["successes"] for k in kinds)]


def pairs(summary: dict[str, Any], optimizer: str) -> list[dict[str, Any]]:
    """Every ReLU RNN against every gated net on every informative task: successes of each,
    the difference of rates with its interval, and whether the ReLU RNN matches."""
    out = []
    for task in informative(summary, optimizer):
        for relu in relu_kinds(summary):
            for gated in gated_kinds(summary):
                a, b = (exp.row(summary, task, VARIANT, k, optimizer) for k in (relu, gated))
                if a is None or b is None:
                    continue
                diff, low, high = stats.newcombe(a["successes"], a["n"], b["successes"], b["n"], LEVEL)
                out.append({"task": task, "relu": relu, "gated": gated, "relu_row": a, "gated_row": b,
                            "diff": diff, "low": low, "high": high,
                            "status": stats.non_inferiority(a["successes"], a["n"], b["successes"],
                                                            b["n"], MARGIN, LEVEL)})
    return out


def model_status(statuses: list[str]) -> Status:
    """One ReLU RNN over its pairs: falls short of some gated net somewhere -> does not hold;
    matches every one everywhere -> holds; otherwise (or with no pair) inconclusive."""
    if "does not hold" in statuses:
        return "does not hold"
    return "holds" if statuses and all(s == "holds" for s in statuses) else "inconclusive"


def conditions(summary: dict[str, Any]) -> dict[str, Status]:
    """Each ReLU RNN (with its optimiser, when the config has several) -> its status."""
    out: dict[str, Status] = {}
    for opt in summary["optimizers"]:
        ps = pairs(summary, opt)
        for relu in relu_kinds(summary):
            name = LABELS[relu] + (f" with {opt}" if len(summary["optimizers"]) > 1 else "")
            out[name] = model_status([p["status"] for p in ps if p["relu"] == relu])
    return out


def comparison_rows(summary: dict[str, Any], optimizer: str) -> tuple[list[str], list[list[Any]]]:
    """The verdict's evidence, one row per pair: successes, the difference with its interval,
    the outcome, and the seeds a decision would take at the measured rates."""
    header = ["task", "ReLU RNN", "solved", "gated", "solved", f"difference ({LEVEL:.0%} interval)",
              "matches", f"seeds for {DECISIVE:.0%} power"]
    rows = []
    for p in pairs(summary, optimizer):
        a, b = p["relu_row"], p["gated_row"]
        need = seeds_for(a["success"], b["success"])
        rows.append([p["task"], LABELS[p["relu"]], f"{a['successes']}/{a['n']}", LABELS[p["gated"]],
                     f"{b['successes']}/{b['n']}",
                     f"{p['diff']:+.2f} ({p['low']:+.2f} to {p['high']:+.2f})",
                     {"holds": "yes", "does not hold": "no"}.get(p["status"], "undecided"),
                     str(need) if need else f"over {MOST_SEEDS}"])
    return header, rows


def _counts(summary: dict[str, Any], kinds: list[str], tasks: list[str], opt: str) -> str:
    """'IRNN 1/6 and 0/6': each model's successes on `tasks`, in order."""
    return "; ".join(f"{LABELS[k]} " + " and ".join(f"{r['successes']}/{r['n']}" for t in tasks
                                                     if (r := exp.row(summary, t, VARIANT, k, opt)))
                     for k in kinds)


@claim(id="relu-rnn-vs-gated", title="ReLU RNN with clipping matches LSTM/GRU",
       literature="Le, Jaitly and Hinton (2015): IRNN about 97% on sequential pixel MNIST against "
                  "65% for an LSTM and 35% for a tanh RNN (82%, 36%, 35% permuted), and IRNN "
                  f"solving the adding problem up to {max(LE2015_ADDING_STEPS)} steps like the LSTM.",
       chapter="debate", experiments=("debate",),
       claim="On long-range tasks a ReLU RNN trained with gradient clipping (Gaussian, identity, "
             "positive-definite or independent recurrent weights) matches LSTM/GRU with tanh "
             "trained the same way.",
       measurement="per ReLU RNN, gated net and informative task, the difference of success rates "
                   "over model seeds, each seed at a setting tuned on the other seeds, with "
                   f"Newcombe's {LEVEL:.0%} interval, at equal hidden size; a ReLU RNN matches when "
                   f"the interval lies above -{fmt(MARGIN)}, and each ReLU RNN is a condition",
       quantity="per ReLU RNN, gated net and informative task: the ReLU RNN's success rate over "
                "seeds minus the gated net's",
       effect=f"matching: a success rate at most {fmt(MARGIN)} below the gated net's",
       regions=Regions(holds=f"every ReLU RNN's interval lies above -{fmt(MARGIN)} against every "
                             "gated net on every informative task",
                       does_not_hold=f"every ReLU RNN has an interval below -{fmt(MARGIN)} somewhere",
                       inconclusive="no task informative, or some ReLU RNN's intervals straddle "
                                    f"-{fmt(MARGIN)} while the decided ones agree"),
       reach=_reach)
def relu_rnn_vs_gated(s: dict[str, Any]) -> Verdict:
    conds = conditions(s)
    tasks = sorted({t for opt in s["optimizers"] for t in informative(s, opt)}, key=s["tasks"].index)
    numbers = {f"{r['task']}-{r['kind']}-{r['optimizer']}-solved": r["successes"]
               for r in s["rows"] if r["variant"] == VARIANT}
    numbers |= {f"{p['task']}-{p['relu']}-{p['gated']}-{opt}-{end}": p[end]
                for opt in s["optimizers"] for p in pairs(s, opt) for end in ("low", "high")}
    if not tasks:
        return Verdict("inconclusive", "no ReLU or gated network solved any task within the "
                       "budget, so the runs cannot compare them", numbers)
    scope = None if any(length(t) >= LONG_RANGE for t in tasks) else "short book-scale sequences"
    counts = f"seeds solved on {' and '.join(tasks)}, " + "; ".join(
        f"with {opt}: {_counts(s, gated_kinds(s), tasks, opt)}; {_counts(s, relu_kinds(s), tasks, opt)}"
        for opt in s["optimizers"])
    decided = {k: v for k, v in conds.items() if v in DECIDED}
    open_ = [k for k in conds if k not in decided]
    gist = tally(s, tasks, conds)
    if len(set(decided.values())) == 2:
        rest = f"; undecided: {', '.join(open_)}" if open_ else ""
        return Verdict("holds with caveats", f"some ReLU RNNs match both gated nets and others "
                       f"fall short ({counts}{rest})", numbers, decided, scope=scope, gist=gist)
    if decided and not open_:
        status = next(iter(decided.values()))
        what = "matches" if status == "holds" else "falls short of"
        return Verdict(status, f"every ReLU RNN {what} a gated net ({counts})", numbers,
                       scope=scope, gist=gist)
    return Verdict("inconclusive", f"the seeds do not decide {', '.join(open_)} against the gated "
                   f"nets ({counts})", numbers, scope=scope, gist=gist)


def tally(s: dict[str, Any], tasks: list[str], conds: dict[str, Status]) -> str:
    """The verdict in one line: how many ReLU RNNs match, fall short or are undecided, and the
    range of seeds solved per family on the informative tasks."""
    counts = {st: sum(v == st for v in conds.values()) for st in ("holds", "does not hold")}
    undecided = len(conds) - sum(counts.values())
    solved = {fam: [r["successes"] for r in s["rows"] if r["variant"] == VARIANT
                    and r["task"] in tasks and FAMILIES[r["kind"]] == fam]
              for fam in ("ReLU RNN", "gated")}
    n = max(r["n"] for r in s["rows"])
    plural = {"ReLU RNN": "ReLU RNNs", "gated": "gated nets"}
    ranges = ", ".join(f"{plural[fam]} {min(v)} to {max(v)}" for fam, v in solved.items() if v)
    return (f"{counts['holds']} of {len(conds)} ReLU RNNs match, {counts['does not hold']} fall "
            f"short, {undecided} undecided; seeds solved of {n}: {ranges}")
