"""The claims ledger: chapters exist, verdicts compute at smoke scale, and follow the numbers."""

from __future__ import annotations

import math

import pytest

import numpy as np

from relu_tanh import claims, experiments
from relu_tanh.store import results
from relu_tanh.claims import CLAIMS, Verdict, stability

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BOOK = results.REPO_DIR / "book"


@pytest.mark.parametrize("claim_id", CLAIMS.names())
def test_claim_names_an_existing_chapter_and_experiments(claim_id):
    c = CLAIMS[claim_id]
    assert (BOOK / f"{c.chapter}.md").is_file(), f"book/{c.chapter}.md is missing"
    assert c.experiments and all(experiments.get(name) for name in c.experiments)
    assert c.claim and c.measurement


@pytest.mark.parametrize("claim_id", CLAIMS.names())
def test_claim_states_its_quantity_effect_regions_and_reach(claim_id):
    c = CLAIMS[claim_id]
    assert c.quantity.strip() and c.effect.strip()
    assert all(text.strip() for text in (c.regions.holds, c.regions.does_not_hold, c.regions.inconclusive))
    for scale in ("smoke", "book", "paper"):
        assert c.reach_at(scale).strip()


@pytest.fixture(scope="module")
def smoke_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("claims_cache")


@pytest.fixture(scope="module")
def smoke_ledger(smoke_cache, one_torch_thread):
    """Every verdict at smoke scale, computed once, in a cache of its own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(results.CACHE_ENV, str(smoke_cache))
        return {c.id: v for c, v in claims.ledger("smoke")}


@pytest.mark.parametrize("claim_id", CLAIMS.names())
def test_verdict_computes_at_smoke_scale(smoke_ledger, claim_id):
    v = smoke_ledger[claim_id]
    assert isinstance(v, Verdict) and v.reason.strip()
    assert v.numbers and all(isinstance(x, (int, float)) and math.isfinite(x)
                             for x in v.numbers.values()), v.numbers
    assert v.stability is None or 0 <= v.stability <= 1


@pytest.mark.parametrize("claim_id", CLAIMS.names())
def test_permuting_the_seeds_never_changes_a_verdict(smoke_ledger, smoke_cache, monkeypatch, claim_id):
    """The rule on the summary of the seeds in reverse and in a shuffled order, relabelled
    0..n-1 as the bootstrap relabels them, gives the status of the seeds as stored."""
    monkeypatch.setenv(results.CACHE_ENV, str(smoke_cache))
    c = CLAIMS[claim_id]
    runs = [experiments.run(name, "smoke") for name in c.experiments]
    status = c.decide(*(r.summary for r in runs)).status
    rng = np.random.default_rng(0)
    for order in (lambda n: list(range(n))[::-1], lambda n: rng.permutation(n).tolist()):
        summaries = [stability.summary_of(r, {k: order(len(reps)) for k, reps in
                                              stability.replicates(r).items()}) for r in runs]
        assert c.decide(*summaries).status == status


def test_verdict_reuses_the_cache(isolated_dirs):
    v = claims.verdict("derivative-ranges", "smoke")
    path = isolated_dirs["cache"] / "derivatives" / "smoke.json"
    assert path.exists()
    before = path.stat().st_mtime_ns
    assert claims.verdict("derivative-ranges", "smoke") == v
    assert path.stat().st_mtime_ns == before


def test_markdown_table_has_a_row_per_claim(smoke_ledger):
    rows = [(CLAIMS[cid], v) for cid, v in smoke_ledger.items()]
    table = claims.markdown_table(rows, "smoke").splitlines()
    assert len(table) == 2 + len(CLAIMS.names())
    for line, (c, v) in zip(table[2:], rows):
        assert f"**{v.headline}**" in line and f" <{c.chapter}>`" in line
        assert f"| {claims.core.stability_text(v)} |" in line


@pytest.mark.parametrize("claim_id", CLAIMS.names())
def test_claim_has_a_short_title(claim_id):
    title = CLAIMS[claim_id].title
    assert title.strip() and len(title) <= 45 and title != CLAIMS[claim_id].claim


def test_a_verdict_states_its_reason_in_one_line():
    short = Verdict("holds", "the slope reaches 1")
    assert short.gist == short.reason
    with pytest.raises(ValueError, match="gist has at most"):
        Verdict("holds", "x" * (claims.core.LINE + 1))
    v = Verdict("holds", "a long reason " * 20, gist="in a line")
    table = claims.markdown_table([(CLAIMS["tanh-edge"], v)], "smoke")
    assert "in a line" in table and "a long reason" not in table
    assert f"`{CLAIMS['tanh-edge'].title} <derivatives>`" in table


def test_an_unstable_verdict_keeps_its_gist_and_says_the_share():
    v = claims.core.steady(Verdict("holds", "measured x", gist="x is 3"), 0.6)
    assert v.status == "inconclusive" and v.gist.startswith("x is 3") and "60%" in v.gist


def test_unknown_claim_lists_choices():
    with pytest.raises(KeyError) as err:
        claims.verdict("nope", "smoke")
    assert "derivative-ranges" in err.value.args[0]


def test_fmt():
    assert claims.fmt(0.25) == "0.25"
    assert claims.fmt(2.1e-5) == "2.1×10⁻⁵"
    assert claims.fmt(0) == "0"  # an underflowed gradient ratio reads as zero, not 0.00
    assert claims.fmt(123456.0) == "1.2×10⁵"
    # at most three significant figures: a rate, a large ratio, a timing
    assert [claims.fmt(x) for x in (31.87, 2537.65, 4.359)] == ["31.9", "2,538", "4.36"]
    assert claims.fmt(0.7291, 3) == "0.729" and claims.fmt(-0.0061, 3) == "-0.006"
    assert claims.fmt(-0.00065, 0) == "-6×10⁻⁴" and claims.fmt(183.2, 0) == "183"  # whole units


# --- verdict functions on hand-built summaries: every outcome of every rule ------------------


def test_verdict_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="valid"):
        Verdict("probably", "no such status")


def test_evidence_names_the_tasks_and_data_behind_a_verdict():
    from relu_tanh.claims import core

    debate = core.evidence(CLAIMS["relu-rnn-vs-gated"], "book")
    assert all(t in debate for t in experiments.config_for("debate", "book").tasks)
    assert core.evidence(CLAIMS["relu-six-times"], "book").endswith("on Fashion-MNIST subset")


def test_conditions_say_shared_leading_words_once():
    conds = {"scale 0.5": "holds", "scale 1": "holds", "scale 2": "does not hold"}
    assert claims.core.conditions_text(conds) == "holds: scale 0.5 / 1; does not hold: scale 2"
    assert claims.core.factored(["LSTM relu", "LSTM"]) == "LSTM relu / LSTM"


def test_only_a_verdict_with_caveats_keeps_its_condition_map():
    conds = {"CNN": "holds", "MLP": "does not hold"}
    assert Verdict("holds with caveats", "x", conditions=conds).conditions == conds
    assert Verdict("inconclusive", "x", conditions=conds).conditions == {}
    assert claims.core.steady(Verdict("holds with caveats", "x", conditions=conds), 0.5).conditions == {}
