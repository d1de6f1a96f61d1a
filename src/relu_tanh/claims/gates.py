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

from .core import Verdict, claim

TRAINS_SHARE = 2 / 3  # an arm "trains" when at least two thirds of its seeds solve the task
UNBOUNDED_GATES = ("relu",)
BOUNDED_GATES = ("hard_sigmoid", "clamped_relu")  # bounded to [0, 1], not sigmoid-shaped
OTHER_STATES = ("relu", "identity")  # the state's tanh replaced, or removed
REFERENCE = ("sigmoid", "tanh")

Standing = Literal["trains", "fails", "partial"]


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
                   "learning-rate grid and states that explode on longer sequences")
def gates_bounded(s: dict[str, Any]) -> Verdict:
    """holds: sigmoid and the other bounded gates train, unbounded ReLU gates fail (the bound, not
    the sigmoid's shape, is what a gate needs); holds with caveats: ReLU gates fail but so does a
    bounded non-sigmoid gate (the bound is needed, the shape matters too), ReLU gates fail in
    one cell only, or they train in every cell but explode (`explodes`) in some;
    does not hold: ReLU gates train in every cell and explode in none; inconclusive: the
    original cells did not train, or some ReLU arm is partial."""
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
    if u == {"trains"}:
        if _exploding(unbounded, 1):
            return Verdict("holds with caveats", f"unbounded ReLU gates train ({seen}), but the "
                           f"{_exploding(unbounded, 1)} gates explode: most runs over the "
                           f"learning-rate grid diverge, or the state blows up on longer "
                           f"sequences", numbers)
        return Verdict("does not hold", f"unbounded ReLU gates train as well ({seen}): a gate "
                       f"need not be bounded to (0, 1) here", numbers)
    if u == {"fails"}:
        if bounded and all(standing(a) == "trains" for a in bounded.values()):
            return Verdict("holds", f"ReLU gates fail while every gate bounded to [0, 1] trains, "
                           f"sigmoid-shaped or not ({seen}): the bound is what matters", numbers)
        return Verdict("holds with caveats", f"ReLU gates fail, but so does a bounded "
                       f"non-sigmoid gate ({seen}): the bound is needed, yet not all that matters",
                       numbers)
    return Verdict("holds with caveats", f"ReLU gates fail in one cell and train in the other "
                   f"({seen})", numbers)


@claim(id="gates-state-tanh",
       literature="Greff et al. (2017) find that removing the LSTM's output nonlinearity hurts "
                  "markedly on speech, handwriting and music tasks.",
       chapter="gates", experiments=("gates",),
       claim="The state of an LSTM or GRU uses tanh: replacing it with ReLU, or removing it, "
             "makes the cell explode or fail to learn.",
       measurement="seeds that solve the adding problem at each arm's best learning rate, and "
                   "diverged runs and states that explode on longer sequences, for LSTM and GRU "
                   "with sigmoid gates and the state's tanh replaced by ReLU or the identity")
def state_tanh(s: dict[str, Any]) -> Verdict:
    """holds: every ReLU and identity state fails; does not hold: every one trains and none
    explodes; holds with caveats: some fail, others train, or all train but some explode;
    inconclusive: the original cells did not train, or an arm is partial."""
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
    if st == {"fails"}:
        return Verdict("holds", f"without tanh in the state no cell solved the task ({seen})",
                       numbers)
    if st == {"trains"}:
        if _exploding(others, 2):
            return Verdict("holds with caveats", f"with a ReLU state or none the cells train "
                           f"({seen}), but the {_exploding(others, 2)} states explode: most "
                           f"runs over the learning-rate grid diverge, or the state blows up on "
                           f"longer sequences", numbers)
        return Verdict("does not hold", f"with a ReLU state or none the cells train as well "
                       f"({seen})", numbers)
    failed = ", ".join(f"{k[0].upper()} {k[2]}" for k, a in others.items()
                       if standing(a) == "fails")
    return Verdict("holds with caveats", f"only some cells need the tanh: {failed} failed ({seen})",
                   numbers)
