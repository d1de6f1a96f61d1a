"""Settings chosen on other seeds than the one scored (cross-fitting, issue 20).

Picking a learning rate on the same seeds that then report the result favours the luckiest
setting: with a small grid and three seeds the reported number is biased towards success.
`cross_fit` picks, for each seed, the setting that ranks best on all the *other* seeds, and
that seed is scored at it: every reported run is one whose setting it did not help choose.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping, Sequence, TypeVar

S = TypeVar("S", bound=Hashable)  # a setting: a learning rate, an (lr, clip) pair...
R = TypeVar("R")  # one seed's run at one setting


def cross_fit(runs: Mapping[S, Mapping[int, R]], rank: Callable[[Sequence[R]], Any]
              ) -> dict[int, S]:
    """seed -> the setting whose runs on the other seeds `rank` puts lowest (ties: the setting
    listed first). `runs[setting][seed]` is one run; a setting some seeds lack is ranked on
    the others it has. A lone seed has no others and is ranked on itself (smoke scale only)."""
    seeds = sorted({seed for per in runs.values() for seed in per})
    if not seeds:
        raise ValueError("cross_fit needs at least one run")
    chosen = {}
    for seed in seeds:
        others = [s for s in seeds if s != seed] or [seed]
        chosen[seed] = min(runs, key=lambda setting: rank([runs[setting][s] for s in others
                                                           if s in runs[setting]]))
    return chosen


def scored(runs: Mapping[S, Mapping[int, R]], chosen: Mapping[int, S]) -> list[R]:
    """Each seed's run at the setting chosen for it, in seed order."""
    return [runs[chosen[seed]][seed] for seed in sorted(chosen)]
