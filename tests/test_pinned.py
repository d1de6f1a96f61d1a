"""Each experiment's smoke-scale numbers are pinned (tests/pins.py, tests/fixtures/pinned/).

A change that moves what an experiment's `run_seed` computes fails here until its `version` is
bumped and the pins are updated in the same commit, so stored records of the old version are
never reused as if they held the new numbers; a change that moves only a summary fails until
the pins are updated. Update: `python -m pytest tests/test_pinned.py --update-pins -k NAME`.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pins
import pytest

from relu_tanh import experiments

NAMES = experiments.names()
ROOT = pins.FIXTURES.parents[2]


@pytest.fixture
def pinned(request):
    """`pinned(name) -> (pins now, pins committed)`; with --update-pins the committed ones are
    rewritten first (`pins.update`)."""
    def get(name: str) -> tuple[pins.Pins, pins.Pins]:
        if request.config.getoption("--update-pins"):
            try:
                pins.update(name)
            except pins.Refused as err:
                pytest.fail(str(err), pytrace=False)
        old = pins.load(name)
        if old is None:
            pytest.fail(f"{name} has no pinned numbers: run `{pins.UPDATE} {name}` and commit "
                        f"{pins.fixture(name).relative_to(ROOT)}", pytrace=False)
        return pins.measure(name), old
    return get


def elsewhere(old: pins.Pins) -> str:
    """The pins' machine, when it is not this one (the comparison is looser then)."""
    if old.machine == pins.machine():
        return ""
    return (f" (beyond {pins.CROSS_REL_TOL:.0%}: pinned on {old.machine or 'an unrecorded machine'}, "
            f"measured on {pins.machine()})")


@pytest.mark.parametrize("name", NAMES)
def test_seed_outputs_are_pinned(name, pinned):
    now, old = pinned(name)
    if now.version != old.version:
        pytest.fail(f"{name} is at version {now.version}, its pins at {old.version}: update the pins "
                    f"in the same commit (`{pins.UPDATE} {name}`)", pytrace=False)
    moved = pins.differences(old.seeds, now.seeds, rel_tol=old.tolerance)
    if moved:
        where = Path(inspect.getsourcefile(experiments.get(name).run_seed)).resolve()
        where = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
        pytest.fail(f"{name}'s smoke-scale seed outputs moved at version {now.version}"
                    f"{elsewhere(old)}:\n  "
                    + "\n  ".join(moved) + f"\nIf that is intended, bump `version` in {where} (stored "
                    f"records of version {now.version} are otherwise reused as if they held these "
                    f"numbers) and update the pins: `{pins.UPDATE} {name}`", pytrace=False)


@pytest.mark.parametrize("name", NAMES)
def test_summary_is_pinned(name, pinned):
    now, old = pinned(name)
    moved = pins.differences(old.summary, now.summary, rel_tol=old.tolerance)
    if moved:
        seeds_too = " (its seed outputs moved too: see test_seed_outputs_are_pinned)" \
            if pins.differences(old.seeds, now.seeds, rel_tol=old.tolerance) else ""
        pytest.fail(f"{name}'s smoke-scale summary moved{seeds_too}{elsewhere(old)}:\n  "
                    + "\n  ".join(moved)
                    + f"\nUpdate the pins: `{pins.UPDATE} {name}`. A change in `summarize` alone needs "
                    f"no version bump: summaries are recomputed from the stored seeds", pytrace=False)


@pytest.mark.parametrize("name", [n for n in pins.TIMINGS if n != "*"] + list(pins.BENCHMARKS))
def test_timing_declarations_name_real_outputs(name):
    """Every key declared a timing is one, and the benchmarks keep some counts: the lists in
    pins.py cannot drift away from what the experiments return."""
    now = pins.measure(name)
    values = [*now.seeds.values(), *now.summary.values()]
    assert pins.TIMED in values, f"{name}: none of {pins.TIMINGS.get(name)} is in its outputs"
    assert any(v != pins.TIMED for v in now.seeds.values()), f"{name}: nothing of its seeds is pinned"


def test_pins_see_a_changed_number():
    """A relative change just beyond the tolerance counts as moved; one within it does not."""
    base = {"a/0": 1.0, "a/1": 2, "b": None, "t": pins.TIMED}
    assert pins.differences(base, dict(base)) == []
    assert pins.differences(base, {**base, "a/0": 1.0 + pins.REL_TOL / 2}) == []
    assert pins.differences(base, {**base, "a/0": 1.0 + 3 * pins.REL_TOL}) != []
    assert pins.differences(base, {**base, "a/1": 3}) != []
    assert pins.differences(base, {**base, "b": 0.0}) != []
    assert pins.differences(base, {**base, "c": 1.0}) == ["c: new"]


def test_pins_from_another_machine_allow_its_rounding_but_not_a_real_change():
    base = {"error": 0.70, "count": 366, "b": None}
    here = pins.Pins("x", 1, base, base, pins.machine())
    there = dataclasses.replace(here, machine="another CPU, AVX2, torch 2.13.0")
    assert (here.tolerance, there.tolerance) == (pins.REL_TOL, pins.CROSS_REL_TOL)
    rounded = {**base, "error": 0.702, "count": 367}  # a few last bits amplified by training
    assert pins.differences(base, rounded, rel_tol=there.tolerance) == []
    assert len(pins.differences(base, rounded, rel_tol=here.tolerance)) == 2
    for changed in ({**base, "error": 0.70 * (1 + 2 * pins.CROSS_REL_TOL)}, {**base, "count": 400},
                    {**base, "b": 0.0}):
        assert pins.differences(base, changed, rel_tol=there.tolerance) != []
