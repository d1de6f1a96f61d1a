"""Chapter "gates": the sigmoid in the gates and tanh in the state of LSTM and GRU (claim R5).

Each arm (cell, gate, state) is judged at its best learning rate of the shared grid by the
share of seeds that solved the adding problem (test MSE below `solve_fraction` of the
baseline 1/6; a diverged run counts as not solved):
- trains: at least `TRAINS_SHARE` of the seeds solved it;
- fails: no seed solved it at any learning rate;
- partial: anything between, which more seeds would have to settle.
An arm that trains can still **explode**: more than half of its runs over the learning-rate
grid diverged, or more than half of its trained seeds' states went non-finite or huge when run
on sequences longer than it was trained on.
"""

from __future__ import annotations

from typing import Any, Literal

from .. import experiments
from .core import Regions, Status, Verdict, claim, combine

TRAINS_SHARE = 2 / 3  # an arm "trains" when at least two thirds of its seeds solve the task
UNBOUNDED_GATES = ("relu",)
BOUNDED_GATES = ("hard_sigmoid", "clamped_relu")  # bounded to [0, 1], not sigmoid-shaped
OTHER_STATES = ("relu", "identity")  # the state's tanh replaced, or removed
REFERENCE = ("sigmoid", "tanh")

Standing = Literal["trains", "fails", "partial"]


def _reach(scale: str) -> str:
    cfg = experiments.config_for("gates", scale)
    return (f"seeds solved per arm in steps of one of the seeds, on adding problems of "
            f"{cfg.length} steps over {cfg.train.epochs} epochs at rates "
            f"{', '.join(f'{lr:g}' for lr in cfg.lrs)}: an arm that solves it only with longer "
            f"training or another rate reads as failing")


def standing(arm: dict[str, Any]) -> Standing:
    """trains / fails / partial, from the seeds solved at the arm's best learning rate."""
    if arm["n"] == 0:
        return "partial"  # no runs: nothing to say either way
    if arm["solved"] >= TRAINS_SHARE * arm["n"]:
        return "trains"
    return "fails" if arm["solved"] == 0 else "partial"


def explodes(arm: dict[str, Any]) -> bool:
    """Whether most of the arm's runs over the grid diverged, or most of its trained seeds
    exploded on the longer sequences."""
    over_grid = arm["diverged_any_lr"] > arm["runs"] / 2
    longer = arm.get("long_n", 0) > 0 and arm["long_exploded"] > arm["long_n"] / 2
    return over_grid or longer


def _exploding(arms: dict[tuple[str, str, str], dict[str, Any]], field: int) -> str:
    """'LSTM relu and GRU relu': the arms that explode, named by cell and `field`, or ''."""
    names = [f"{k[0].upper()} {k[field]}" for k, a in arms.items() if explodes(a)]
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
    """'lstm relu 0/3, gru relu 1/3': seeds solved at each arm's best learning rate."""
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
                       numbers)
    return None


@claim(id="gates-bounded",
       literature="Gers, Schmidhuber and Cummins (2000) add the forget gate as a sigmoid that can "
                  "reset the cell; Keras's LSTM and GRU long used a hard sigmoid for their gates; "
                  "Greff et al. (2017) and Jozefowicz et al. (2015) vary gates and "
                  "connections but keep sigmoid gates.",
       chapter="gates", experiments=("gates",),
       claim="In LSTM and GRU cells the gates use the sigmoid because a gate needs outputs in "
             "(0, 1).",
       measurement="seeds that solve the adding problem (test MSE below a tenth of the 1/6 "
                   "baseline) at each arm's best learning rate, for sigmoid, hard-sigmoid, "
                   "clamped-ReLU and unbounded ReLU gates in LSTM and GRU (the bound matters if "
                   "ReLU gates fail where the bounded ones train), with runs diverged over the "
                   "learning-rate grid and states that explode on longer sequences",
       quantity="per cell, the seeds that solve the adding problem with unbounded ReLU gates at "
                "their best rate, and whether those gates explode over the grid or on longer "
                "sequences",
       effect="a gate needs (0, 1): unbounded ReLU gates fail (no seed solves) or explode where "
              "sigmoid gates train",
       regions=Regions(holds="ReLU gates fail in every cell",
                       does_not_hold="ReLU gates train (two thirds of the seeds) and do not "
                                     "explode in every cell",
                       inconclusive="the original cells do not train, or a ReLU arm is partial"),
       reach=_reach)
def gates_bounded(s: dict[str, Any]) -> Verdict:
    """Decided per cell: ReLU gates that fail hold the claim there, ones that train and stay
    stable refute it; ones that train at their best rate but explode (`explodes`) are two
    named conditions, the best rate (does not hold) and the grid and longer sequences (holds).
    Whether the bounded stand-ins train is said: the claim makes no point about the shape.
    Inconclusive: the original cells did not train, or some ReLU arm is partial."""
    ref = _reference_fails(s)
    if ref:
        return ref
    unbounded, bounded = _arms(s, UNBOUNDED_GATES), _arms(s, BOUNDED_GATES)
    numbers = _numbers(s, {**unbounded, **bounded}, 1)
    seen = (f"seeds solved at the best learning rate: {_solved(unbounded, 1)}; bounded "
            f"stand-ins {_solved(bounded, 1)}")
    u = {standing(a) for a in unbounded.values()}
    if not unbounded or "partial" in u:
        return Verdict("inconclusive", f"unbounded ReLU gates neither trained nor failed clearly "
                       f"({seen})", numbers)
    conditions: dict[str, Status] = {}
    for (cell, _, _), a in unbounded.items():
        if standing(a) == "fails":
            conditions[cell.upper()] = "holds"
        elif explodes(a):
            conditions[f"{cell.upper()} at its best rate"] = "does not hold"
            conditions[f"{cell.upper()} over the grid and longer sequences"] = "holds"
        else:
            conditions[cell.upper()] = "does not hold"
    status = combine(conditions)
    if status == "holds":
        shape = ("every gate bounded to [0, 1] trains, sigmoid-shaped or not" if bounded and
                 all(standing(a) == "trains" for a in bounded.values()) else
                 "a bounded non-sigmoid gate fails too, so the bound is needed but not all a gate "
                 "needs, a point the claim does not make")
        return Verdict("holds", f"ReLU gates fail in every cell, and {shape} ({seen})", numbers)
    if status == "does not hold":
        return Verdict("does not hold", f"unbounded ReLU gates train as well ({seen}): a gate "
                       f"need not be bounded to (0, 1) here", numbers)
    exploding = _exploding(unbounded, 1)
    return Verdict(status, f"ReLU gates fail or explode under some conditions and train under "
                   f"others ({seen})" + (f"; the {exploding} gates train at their best rate but "
                   f"explode: most runs over the learning-rate grid diverge, or the state blows "
                   f"up on longer sequences" if exploding else ""), numbers, conditions)


@claim(id="gates-state-tanh",
       literature="Greff et al. (2017) find that removing the LSTM's output nonlinearity hurts "
                  "markedly on speech, handwriting and music tasks.",
       chapter="gates", experiments=("gates",),
       claim="The state of an LSTM or GRU uses tanh: replacing it with ReLU, or removing it, "
             "makes the cell explode or fail to learn.",
       measurement="seeds that solve the adding problem at each arm's best learning rate, and "
                   "diverged runs and states that explode on longer sequences, for LSTM and GRU "
                   "with sigmoid gates and the state's tanh replaced by ReLU or the identity",
       quantity="per cell and state (ReLU, identity), the seeds that solve the adding problem "
                "at the best rate, and whether the arm explodes over the grid or on longer "
                "sequences",
       effect="without tanh the cell explodes or fails to learn (no seed solves)",
       regions=Regions(holds="every state without tanh fails or explodes",
                       does_not_hold="every one trains (two thirds of the seeds) and none "
                                     "explodes",
                       inconclusive="the original cells do not train, or an arm is partial"),
       reach=_reach)
def state_tanh(s: dict[str, Any]) -> Verdict:
    """Decided per (cell, state): an arm that fails or explodes holds the claim, one that trains
    and stays stable refutes it; some of each is the named condition map. Inconclusive: the
    original cells did not train, or an arm is partial."""
    ref = _reference_fails(s)
    if ref:
        return ref
    others = _arms(s, states=OTHER_STATES)
    numbers = _numbers(s, others, 2)
    diverged = sum(a["diverged_any_lr"] for a in others.values())
    runs = sum(a["runs"] for a in others.values())
    seen = (f"seeds solved at the best learning rate: {_solved(others, 2)}; {diverged} of {runs} "
            f"runs over the learning-rate grid diverged")
    st = {standing(a) for a in others.values()}
    if not others or "partial" in st:
        return Verdict("inconclusive", f"a state without tanh neither trained nor failed clearly "
                       f"({seen})", numbers)
    conditions: dict[str, Status] = {
        f"{k[0].upper()} {k[2]}": "holds" if standing(a) == "fails" or explodes(a) else "does not hold"
        for k, a in others.items()}
    status = combine(conditions)
    exploding = _exploding(others, 2)
    blown = (f"; the {exploding} states explode: most runs over the learning-rate grid diverge, "
             f"or the state blows up on longer sequences" if exploding else "")
    if status == "holds":
        return Verdict("holds", f"without tanh in the state every cell fails or explodes "
                       f"({seen}){blown}", numbers)
    if status == "does not hold":
        return Verdict("does not hold", f"with a ReLU state or none the cells train as well "
                       f"({seen})", numbers)
    return Verdict(status, f"only some cells need the tanh ({seen}){blown}", numbers, conditions)
