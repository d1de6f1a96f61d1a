"""Chapter "gates": the sigmoid in the gates and tanh in the state of LSTM and GRU (claim R5).

Each arm (cell, gate, state) is judged by the share of seeds that solve the adding problem
(test MSE below `solve_fraction` of the baseline 1/6; a diverged run counts as not solved),
each seed at the learning rate chosen for it on the other seeds (`tuning.cross_fit`), through
a Wilson interval at `LEVEL` on that share:
- trains: the interval lies above `HALF` (most seeds solve it);
- fails: it lies below `HALF`;
- partial: it straddles `HALF`, which more seeds would have to settle (inconclusive).
An arm that trains can still **explode**: the interval on the share of its runs over the
learning-rate grid that diverged, or on the share of its trained seeds whose state went
non-finite or huge on sequences longer than it was trained on, lies above `HALF`. It is
**stable** when every such interval lies below `HALF`; anything else leaves it unsettled.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, Literal

from .. import experiments
from ..measure.stats import wilson
from ..training.sequences import ADDING_BASELINE_MSE
from .core import Regions, Status, Verdict, claim, combine, fmt

LEVEL = 0.9  # Wilson intervals on shares of seeds (solved, exploded) and of runs (diverged)
HALF = 0.5  # a share is decided once its interval lies wholly above or below one half
LONG = 100  # steps: the shortest sequences of the papers (100 to 1000), where the state's bound
# could matter; a state verdict from shorter ones is scoped to them
SHORT_SCOPE = "short book-scale sequences"
UNBOUNDED_GATES = ("relu",)
BOUNDED_GATES = ("hard_sigmoid", "clamped_relu")  # bounded to [0, 1], not sigmoid-shaped
OTHER_STATES = ("relu", "identity")  # the state's tanh replaced, or removed
REFERENCE = ("sigmoid", "tanh")

Standing = Literal["trains", "fails", "partial"]
Stability = Literal["explodes", "stable", "unsettled"]
Side = Literal["above", "below", "straddles"]


def side(k: int, n: int) -> Side:
    """Where the Wilson interval on the share k of n lies against `HALF`."""
    low, high = wilson(k, n, LEVEL)
    return "above" if low > HALF else "below" if high < HALF else "straddles"


def decided_counts(n: int) -> tuple[int | None, int | None]:
    """With n seeds: the fewest solved that read as trains and the most that read as fails
    (None where no count does)."""
    above = [k for k in range(n + 1) if side(k, n) == "above"]
    below = [k for k in range(n + 1) if side(k, n) == "below"]
    return (above[0] if above else None), (below[-1] if below else None)


def seeds_for_a_dissent() -> int:
    """The fewest seeds with which an arm still trains when one of them does not solve it."""
    return next(n for n in itertools.count(2) if side(n - 1, n) == "above")


def counts_text(n: int) -> str:
    """Which counts of n seeds decide a standing, in words."""
    trains, fails = decided_counts(n)
    if trains is None or fails is None:
        return "no count of seeds decides whether an arm trains or fails"
    return (f"an arm trains only when {'all' if trains == n else f'at least {trains}'} and "
            f"fails only when {'none' if fails == 0 else f'at most {fails}'} of them solve it")


def _reach(scale: str) -> str:
    cfg, n = experiments.config_for("gates", scale), experiments.get("gates").seeds[scale]
    return (f"with {n} seeds and {LEVEL:.0%} Wilson intervals on the share that solves the "
            f"adding problem against one half, {counts_text(n)}, any count between reading as "
            f"partial; the problem has {cfg.length} steps and {cfg.train.epochs} epochs, each "
            f"seed at the rate of {', '.join(f'{lr:g}' for lr in cfg.lrs)} chosen on the other "
            f"seeds: an arm that solves it only with longer training or another rate reads as "
            f"failing")


def _state_reach(scale: str) -> str:
    length = experiments.config_for("gates", scale).length
    where = (f"sequences of {length} steps, shorter than the {LONG} at which the state's bound "
             f"could matter, so the verdict is scoped to them; the paper scale's runs, of "
             f"{experiments.config_for('gates', 'paper').length} steps, decide it once stored"
             if length < LONG else f"sequences of {length} steps")
    return f"{_reach(scale)}; {where}"


def standing(arm: dict[str, Any]) -> Standing:
    """trains / fails / partial, from the seeds solved, each at its cross-fitted rate."""
    if arm["n"] == 0:
        return "partial"  # no runs: nothing to say either way
    return {"above": "trains", "below": "fails",
            "straddles": "partial"}[side(arm["solved"], arm["n"])]


def explosion(arm: dict[str, Any]) -> Stability:
    """explodes / stable / unsettled, from the runs diverged over the grid and the trained seeds
    whose state exploded on the longer sequences (a share of no runs says nothing)."""
    sides = [side(k, n) for k, n in ((arm["diverged_any_lr"], arm["runs"]),
                                      (arm.get("long_exploded", 0), arm.get("long_n", 0))) if n]
    if "above" in sides:
        return "explodes"
    return "stable" if sides and set(sides) == {"below"} else "unsettled"


def _exploding(arms: dict[tuple[str, str, str], dict[str, Any]], field: int) -> str:
    """'LSTM relu and GRU relu': the arms that explode, named by cell and `field`, or ''."""
    names = [f"{k[0].upper()} {k[field]}" for k, a in arms.items() if explosion(a) == "explodes"]
    return " and ".join(names)


def _cells(s: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(cell for cell, _, _ in s["arms"]))


def _arms(s: dict[str, Any], gates: tuple[str, ...] | None = None,
          states: tuple[str, ...] | None = None) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The arms with a gate in `gates` (and the tanh state), or a state in `states` (and sigmoid
    gates), that the summary has."""
    keys = [(c, g, "tanh") for c in _cells(s) for g in gates or ()] + \
           [(c, "sigmoid", st) for c in _cells(s) for st in states or ()]
    return {k: s["arms"][k] for k in keys if k in s["arms"]}


def _solved(arms: dict[tuple[str, str, str], dict[str, Any]], field: int) -> str:
    """'LSTM relu 0/3, GRU relu 1/3': seeds solved, each at its cross-fitted rate."""
    return ", ".join(f"{k[0].upper()} {k[field].replace('_', ' ')} {a['solved']}/{a['n']}"
                     for k, a in arms.items())


def _numbers(s: dict[str, Any], arms: dict[tuple[str, str, str], dict[str, Any]],
             field: int) -> dict[str, float]:
    numbers = {f"{c}_reference_solved": s["arms"][(c, *REFERENCE)]["solved"] for c in _cells(s)
               if (c, *REFERENCE) in s["arms"]}
    for k, a in arms.items():
        numbers[f"{k[0]}_{k[field]}_solved"] = a["solved"]
        numbers[f"{k[0]}_{k[field]}_diverged"] = a["diverged_any_lr"]
        numbers[f"{k[0]}_{k[field]}_long_exploded"] = a.get("long_exploded", 0)
    numbers["seeds"] = max((a["n"] for a in s["arms"].values()), default=0)
    return numbers


def _reference_fails(s: dict[str, Any]) -> Verdict | None:
    refs = {c: s["arms"].get((c, *REFERENCE)) for c in _cells(s)}
    bad = [c for c, a in refs.items() if a is None or standing(a) != "trains"]
    if not refs or bad:
        detail = ", ".join(f"{c.upper()} {a['solved']}/{a['n']}" if a else f"{c.upper()} missing"
                           for c, a in refs.items() if c in bad)
        numbers = {f"{c}_reference_solved": a["solved"] for c, a in refs.items() if a}
        numbers["seeds"] = max((a["n"] for a in s["arms"].values()), default=0)
        return Verdict("inconclusive", f"the original cells did not solve the task reliably "
                       f"({detail or 'no cells'} seeds), so there is nothing to compare with",
                       numbers, gist=f"the original cells did not solve it reliably "
                                     f"({detail or 'no cells'})")
    return None


@claim(id="gates-bounded", title="Gates need the sigmoid's (0, 1)",
       literature="Gers, Schmidhuber and Cummins (2000) add the forget gate as a sigmoid that can "
                  "reset the cell; Keras's LSTM and GRU long used a hard sigmoid for their gates; "
                  "Greff et al. (2017) and Jozefowicz et al. (2015) vary gates and "
                  "connections but keep sigmoid gates.",
       chapter="gates", experiments=("gates",),
       claim="In LSTM and GRU cells the gates use the sigmoid because a gate needs outputs in "
             "(0, 1).",
       measurement="seeds that solve the adding problem (test MSE below a tenth of the 1/6 "
                   "baseline), each at the learning rate chosen on the other seeds, for sigmoid, "
                   "hard-sigmoid, clamped-ReLU and unbounded ReLU gates in LSTM and GRU (the "
                   "bound matters if ReLU gates fail where the bounded ones train), with runs "
                   "diverged over the learning-rate grid and states that explode on longer "
                   "sequences",
       quantity="per cell, the share of seeds that solve the adding problem with unbounded ReLU "
                "gates, and whether those gates explode over the grid or on longer sequences",
       effect="a gate needs (0, 1): unbounded ReLU gates fail or explode where sigmoid gates train",
       regions=Regions(holds="the interval on the share of seeds that solve it with ReLU gates "
                             "lies below one half in every cell",
                       does_not_hold="it lies above one half, and the ReLU gates are stable "
                                     "(diverged and exploded shares below one half), in every "
                                     "cell",
                       inconclusive="the original cells do not train, or an interval on a ReLU "
                                    "arm straddles one half"),
       reach=_reach)
def gates_bounded(s: dict[str, Any]) -> Verdict:
    """Decided per cell: ReLU gates that fail hold the claim there, ones that train and stay
    stable refute it; ones that train but explode (`explosion`) are two named conditions, the
    cross-fitted rate (does not hold) and the grid and longer sequences (holds). Whether the
    bounded stand-ins train is said: the claim makes no point about the shape. Inconclusive:
    the original cells did not train, or a ReLU arm is partial or unsettled."""
    ref = _reference_fails(s)
    if ref:
        return ref
    unbounded, bounded = _arms(s, UNBOUNDED_GATES), _arms(s, BOUNDED_GATES)
    numbers = _numbers(s, {**unbounded, **bounded}, 1)
    seen = (f"seeds solved, each at the rate chosen on the others: {_solved(unbounded, 1)}; "
            f"bounded stand-ins {_solved(bounded, 1)}")
    relu = f"ReLU gates solved {_solved(unbounded, 1)}"
    outcome = {k: (standing(a), explosion(a)) for k, a in unbounded.items()}
    if not unbounded or any(st == "partial" or (st == "trains" and ex == "unsettled")
                            for st, ex in outcome.values()):
        return Verdict("inconclusive", f"unbounded ReLU gates neither trained nor failed clearly "
                       f"({seen})", numbers, gist=f"{relu}: neither trained nor failed clearly")
    conditions: dict[str, Status] = {}
    for (cell, _, _), (st, ex) in outcome.items():
        if st == "fails":
            conditions[cell.upper()] = "holds"
        elif ex == "explodes":
            conditions[f"{cell.upper()} at the chosen rate"] = "does not hold"
            conditions[f"{cell.upper()} over the grid and longer sequences"] = "holds"
        else:
            conditions[cell.upper()] = "does not hold"
    status = combine(conditions)
    if status == "holds":
        shape = ("every gate bounded to [0, 1] trains, sigmoid-shaped or not" if bounded and
                 all(standing(a) == "trains" for a in bounded.values()) else
                 "not every bounded non-sigmoid gate trains, so the bound may not be all a gate "
                 "needs, a point the claim does not make")
        return Verdict("holds", f"ReLU gates fail in every cell, and {shape} ({seen})", numbers,
                       gist=f"{relu}: they fail in every cell")
    if status == "does not hold":
        return Verdict("does not hold", f"unbounded ReLU gates train as well and stay stable "
                       f"({seen}): a gate need not be bounded to (0, 1) here", numbers,
                       gist=f"{relu}, and stay stable")
    exploding = _exploding(unbounded, 1)
    return Verdict(status, f"ReLU gates fail or explode under some conditions and train under "
                   f"others ({seen})" + (f"; the {exploding} gates train at the chosen rate but "
                   f"explode: most runs over the learning-rate grid diverge, or the state blows "
                   f"up on longer sequences" if exploding else ""), numbers, conditions,
                   gist=f"{relu}" + (f"; {exploding} explode" if exploding else ""))


@claim(id="gates-state-tanh", title="The cell's state needs tanh",
       literature="Greff et al. (2017) find that removing the LSTM's output nonlinearity hurts "
                  "markedly on speech, handwriting and music tasks.",
       chapter="gates", experiments=("gates",), stored="paper",
       claim="The state of an LSTM or GRU uses tanh: replacing it with ReLU, or removing it, "
             "makes the cell explode or fail to learn.",
       measurement="seeds that solve the adding problem, each at the learning rate chosen on the "
                   "other seeds, and diverged runs and states that explode on longer sequences, "
                   "for LSTM and GRU with sigmoid gates and the state's tanh replaced by ReLU or "
                   "the identity",
       quantity="per cell and state (ReLU, identity), the share of seeds that solve the adding "
                "problem, and whether the arm explodes over the grid or on longer sequences",
       effect="without tanh the cell explodes or fails to learn",
       regions=Regions(holds="for every state without tanh the interval on the share that "
                             "solves it lies below one half, or the arm explodes",
                       does_not_hold="for every one it lies above one half and the arm is stable",
                       inconclusive="the original cells do not train, or an interval straddles "
                                    "one half"),
       reach=_state_reach)
def state_tanh(s: dict[str, Any]) -> Verdict:
    """Decided per (cell, state): an arm that fails or explodes holds the claim, one that trains
    and stays stable refutes it; some of each is the named condition map. Inconclusive: the
    original cells did not train, or an arm is partial, or trains but is unsettled. Scoped to
    the sequences' length when it is below `LONG`."""
    scope = SHORT_SCOPE if s["length"] < LONG else None
    ref = _reference_fails(s)
    if ref:
        return replace(ref, scope=scope)
    others = _arms(s, states=OTHER_STATES)
    numbers = _numbers(s, others, 2)
    diverged = sum(a["diverged_any_lr"] for a in others.values())
    runs = sum(a["runs"] for a in others.values())
    seen = (f"seeds solved, each at the rate chosen on the others: {_solved(others, 2)}; "
            f"{diverged} of {runs} runs over the learning-rate grid diverged")
    held = {k: _state_holds(a) for k, a in others.items()}
    solved = f"solved without tanh: {_solved(others, 2)}"
    if not others or None in held.values():
        return Verdict("inconclusive", f"a state without tanh neither trained nor failed clearly "
                       f"({seen})", numbers, scope=scope, gist=f"{solved}; not settled")
    conditions: dict[str, Status] = {f"{k[0].upper()} {k[2]}": st for k, st in held.items()}
    status = combine(conditions)
    exploding = _exploding(others, 2)
    blown = (f"; the {exploding} states explode: most runs over the learning-rate grid diverge, "
             f"or the state blows up on longer sequences" if exploding else "")
    if status == "holds":
        return Verdict("holds", f"without tanh in the state every cell fails or explodes "
                       f"({seen}){blown}", numbers, scope=scope, gist=solved)
    if status == "does not hold":
        return Verdict("does not hold", f"with a ReLU state or none the cells train as well and "
                       f"stay stable ({seen})", numbers, scope=scope, gist=f"{solved}; stable")
    return Verdict(status, f"only some cells need the tanh ({seen}){blown}", numbers, conditions,
                   scope=scope, gist=solved)


def _state_holds(arm: dict[str, Any]) -> Status | None:
    """holds (fails, or explodes), does not hold (trains and is stable), or None (unsettled)."""
    st, ex = standing(arm), explosion(arm)
    if st == "fails" or ex == "explodes":
        return "holds"
    return "does not hold" if st == "trains" and ex == "stable" else None


def longer_finding(s: dict[str, Any]) -> str:
    """In words, per cell: how the original cell, trained on `length` steps, does on sequences
    of `long_length`, against the 1/6 of always answering 1 and the threshold for solved."""
    parts = []
    for cell in _cells(s):
        mse = s["arms"][(cell, *REFERENCE)]["long_median_mse"]
        where = ("worse than the 1/6 of always answering 1: what it learnt does not carry over"
                 if mse >= ADDING_BASELINE_MSE else
                 f"below the 1/6 of always answering 1 but not the {fmt(s['threshold'], 3)} "
                 f"that counts as solved" if mse >= s["threshold"] else "still solved")
        parts.append(f"the original {cell.upper()} scores a median MSE of "
                     f"{fmt(mse, inf='infinity')}, {where}")
    return f"trained on {s['length']} steps and run on {s['long_length']}, " + "; ".join(parts)
