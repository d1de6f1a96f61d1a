"""The claims ledger: chapters exist, verdicts compute at smoke scale, and follow the numbers."""

from __future__ import annotations

import math

import pytest

from relu_tanh import claims, experiments, results
from relu_tanh.claims import CLAIMS, Verdict

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STATUSES = set(claims.STATUSES)
BOOK = results.REPO_DIR / "book"


@pytest.mark.parametrize("claim_id", CLAIMS.names())
def test_claim_names_an_existing_chapter_and_experiments(claim_id):
    c = CLAIMS[claim_id]
    assert (BOOK / f"{c.chapter}.md").is_file(), f"book/{c.chapter}.md is missing"
    assert c.experiments and all(experiments.get(name) for name in c.experiments)
    assert c.claim and c.measurement


@pytest.fixture(scope="module")
def smoke_ledger(tmp_path_factory, one_torch_thread):
    """Every verdict at smoke scale, computed once, in a cache of its own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(results.CACHE_ENV, str(tmp_path_factory.mktemp("claims_cache")))
        return {c.id: v for c, v in claims.ledger("smoke")}


@pytest.mark.parametrize("claim_id", CLAIMS.names())
def test_verdict_computes_at_smoke_scale(smoke_ledger, claim_id):
    v = smoke_ledger[claim_id]
    assert isinstance(v, Verdict) and v.status in STATUSES
    assert isinstance(v.reason, str) and v.reason
    assert v.numbers and all(isinstance(x, (int, float)) and math.isfinite(x)
                             for x in v.numbers.values()), v.numbers


def test_verdict_reuses_the_cache(isolated_dirs):
    v = claims.verdict("derivative-ranges", "smoke")
    path = isolated_dirs["cache"] / "derivatives" / "smoke.json"
    assert path.exists()
    before = path.stat().st_mtime_ns
    assert claims.verdict("derivative-ranges", "smoke") == v
    assert path.stat().st_mtime_ns == before


def test_markdown_table_has_a_row_per_claim(smoke_ledger):
    rows = [(CLAIMS[cid], v) for cid, v in smoke_ledger.items()]
    table = claims.markdown_table(rows).splitlines()
    assert len(table) == 2 + len(CLAIMS.names())
    for line, (c, v) in zip(table[2:], rows):
        assert f"**{v.status}**" in line and f"{{doc}}`{c.chapter}`" in line


def test_unknown_claim_lists_choices():
    with pytest.raises(KeyError) as err:
        claims.verdict("nope", "smoke")
    assert "derivative-ranges" in err.value.args[0]


def test_fmt():
    assert claims.fmt(0.25) == "0.25"
    assert claims.fmt(2.1e-5) == "2.1e-05"
    assert claims.fmt(0) == "0"  # an underflowed gradient ratio reads as zero, not 0.00
    assert claims.fmt(123456.0) == "1.2e+05"


# --- verdict functions on hand-built summaries -----------------------------------------------


def sweep(field: str, values: dict[tuple[str, str], float], shallow: float) -> dict:
    """A summary keyed (arch, activation, init, depth): `values` at depth 20, `shallow` at depth 2."""
    out = {}
    for (act, init), v in values.items():
        for arch in ("mlp", "cnn"):
            out[(arch, act, init, 20)] = {field: {"centre": v}}
            out[(arch, act, init, 2)] = {field: {"centre": shallow}}
    return out


INITS = ("default", "xavier", "kaiming")


def init_summary(sig_ratio: float, tanh_ratio: float, sig_factor=0.5, tanh_factor=0.8) -> dict:
    s = sweep("ratio", {**{("sigmoid", i): sig_ratio for i in INITS},
                        **{("tanh", i): tanh_ratio for i in INITS}}, shallow=0.9)
    for key, row in s.items():
        row["factor"] = {"centre": sig_factor if key[1] == "sigmoid" else tanh_factor}
    return s


def train_summary(sig_error: float, tanh_error: float) -> dict:
    return sweep("train_error", {**{("sigmoid", i): sig_error for i in INITS},
                                 **{("tanh", i): tanh_error for i in INITS}}, shallow=0.1)


def test_sigmoid_vanishing_follows_the_ratio():
    vanished = claims.vanishing.sigmoid_vanishing(init_summary(1e-4, 0.5), train_summary(0.9, 0.2))
    assert vanished.status == "holds"
    assert vanished.numbers["share_vanished"] == 1.0
    kept = claims.vanishing.sigmoid_vanishing(init_summary(10 * claims.vanishing.VANISHED, 0.5), train_summary(0.9, 0.2))
    assert kept.status == "does not hold"
    assert kept.numbers["share_vanished"] == 0.0
    # vanished gradients, but the nets trained anyway: only with caveats
    trained = claims.vanishing.sigmoid_vanishing(init_summary(1e-4, 0.5), train_summary(0.3, 0.2))
    assert trained.status == "holds with caveats"


def test_sigmoid_vanishing_reads_only_the_largest_depth():
    s = init_summary(1e-4, 0.5)
    assert all(row["ratio"]["centre"] == 0.9 for k, row in s.items() if k[3] == 2)
    assert claims.vanishing.sigmoid_vanishing(s, train_summary(0.9, 0.2)).numbers["smallest_ratio"] == 1e-4


def test_sigmoid_vanishing_mixed_is_a_caveat():
    s = init_summary(1e-4, 0.5)
    s[("cnn", "sigmoid", "kaiming", 20)]["ratio"]["centre"] = 0.5
    v = claims.vanishing.sigmoid_vanishing(s, train_summary(0.9, 0.2))
    assert v.status == "holds with caveats" and v.numbers["share_vanished"] == pytest.approx(5 / 6)


def test_tanh_alleviates_follows_the_measurements():
    t = train_summary(0.9, 0.5)
    assert claims.vanishing.tanh_alleviates(init_summary(1e-6, 1e-4), t).status == "holds"
    assert claims.vanishing.tanh_alleviates(init_summary(1e-6, 0.5), t).status == "does not hold"
    # tanh shrinks faster than sigmoid somewhere: not an alleviation
    worse = init_summary(1e-6, 1e-4, sig_factor=0.9, tanh_factor=0.5)
    assert claims.vanishing.tanh_alleviates(worse, t).status == "does not hold"
    mixed = init_summary(1e-6, 1e-4)
    for arch in ("mlp", "cnn"):
        mixed[(arch, "tanh", "kaiming", 20)]["ratio"]["centre"] = 0.3
    v = claims.vanishing.tanh_alleviates(mixed, t)
    assert v.status == "holds with caveats" and "kaiming" in v.reason


def derivative_summary(**changes) -> dict:
    s = {
        "input_stds": [0.5, 1.0, 8.0],
        "sigmoid": {"min": 4.5e-5, "max": 0.25, "distinct": [4.5e-5], "max_abs_error": 0.0},
        "tanh": {"min": 8e-9, "max": 1.0, "distinct": [8e-9], "max_abs_error": 0.0,
                 "frac_small": [0.0, 0.07, 0.8]},
        "relu": {"min": 0.0, "max": 1.0, "distinct": [0.0, 1.0], "max_abs_error": 0.0},
    }
    for path, value in changes.items():
        act, key = path.split("__")
        s[act][key] = value
    return s


def test_derivative_ranges_follows_the_measurements():
    assert claims.derivatives.derivative_ranges(derivative_summary()).status == "holds with caveats"
    assert claims.derivatives.derivative_ranges(derivative_summary(sigmoid__min=0.0, tanh__min=0.0)).status == "holds"
    assert claims.derivatives.derivative_ranges(derivative_summary(sigmoid__max=0.3)).status == "does not hold"
    assert claims.derivatives.derivative_ranges(derivative_summary(relu__distinct=[0.0, 0.5, 1.0])).status == "does not hold"
    assert claims.derivatives.derivative_ranges(derivative_summary(tanh__max_abs_error=1e-3)).status == "does not hold"


def test_tanh_edge_follows_the_measurements():
    assert claims.derivatives.tanh_edge(derivative_summary()).status == "holds with caveats"
    assert claims.derivatives.tanh_edge(derivative_summary(tanh__frac_small=[0.1, 0.3, 0.8])).status == "holds"
    assert claims.derivatives.tanh_edge(derivative_summary(tanh__frac_small=[0.0, 0.07, 0.07])).status == "does not hold"
    assert claims.derivatives.tanh_edge(derivative_summary(tanh__max=0.9)).status == "does not hold"
