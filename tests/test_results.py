"""Atomic JSON records, reuse rules and provenance."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from relu_tanh.store import results

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_dirs_follow_the_environment(isolated_dirs):
    assert results.results_dir() == isolated_dirs["results"]
    assert results.cache_dir() == isolated_dirs["cache"]


def test_default_dirs(monkeypatch):
    monkeypatch.delenv(results.RESULTS_ENV)
    monkeypatch.delenv(results.CACHE_ENV)
    assert results.results_dir() == results.REPO_DIR / "results"
    assert results.cache_dir() == Path.home() / ".cache" / "relu_tanh" / "runs"
    assert (results.REPO_DIR / "src" / "relu_tanh").is_dir()


def test_record_path(tmp_path):
    assert results.record_path(tmp_path, "exp", "smoke") == tmp_path / "exp" / "smoke.json"


def test_write_atomic_writes_json_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "sub" / "rec.json"
    record = {"a": 1, "b": [1.5, 2], "c": {"d": "e"}}
    results.write_atomic(path, record)
    assert json.loads(path.read_text()) == record
    assert sorted(p.name for p in path.parent.iterdir()) == ["rec.json"]
    results.write_atomic(path, {"a": 2})  # overwriting works too
    assert json.loads(path.read_text()) == {"a": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["rec.json"]


def test_non_finite_numbers_are_written_as_strict_json_null(tmp_path):
    path = tmp_path / "r.json"
    results.write_atomic(path, {"x": math.nan, "y": [1.0, math.inf], "z": {"w": -math.inf}})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"x": None, "y": [1.0, None], "z": {"w": None}}


def test_load_record_missing_is_none(tmp_path):
    assert results.load_record(tmp_path / "nope.json") is None


def test_load_record_reads_a_record_and_rejects_other_json(tmp_path):
    path = tmp_path / "r.json"
    results.write_atomic(path, {"experiment": "e", "scale": "smoke", "config": {},
                                "seeds": {"0": {"v": 1}}})
    assert results.load_record(path)["seeds"] == {"0": {"v": 1}}
    results.write_atomic(path, {"a": 1})
    with pytest.raises(results.RecordError, match="not a results record"):
        results.load_record(path)


@pytest.mark.parametrize("error", [TypeError, KeyboardInterrupt])
def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch, error):
    path = tmp_path / "rec.json"
    results.write_atomic(path, {"old": True})
    old_text = path.read_text()

    def half_dump(obj, f, **kw):
        f.write('{"new": tr')  # a partial write, then the failure
        raise error("boom")

    monkeypatch.setattr(results.json, "dump", half_dump)
    with pytest.raises(error):
        results.write_atomic(path, {"new": True})
    assert path.read_text() == old_text
    assert [p.name for p in tmp_path.iterdir()] == ["rec.json"]


def test_unserialisable_record_keeps_the_old_file(tmp_path):
    path = tmp_path / "rec.json"
    results.write_atomic(path, {"old": 1})
    with pytest.raises(TypeError):
        results.write_atomic(path, {"new": object()})
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["rec.json"]


HEAD = results.header("exp", "smoke", {"lr": 0.1, "depths": [2, 5]}, 3)


def test_a_record_matches_on_experiment_scale_config_and_version_only():
    rec = {**HEAD, "seeds": {"0": {"v": 1}}, "provenance": {"code_fingerprint": "0" * 16}}
    assert results.matches(rec, HEAD)  # another code fingerprint: still the same computation
    for key, other in [("experiment", "other"), ("scale", "book"), ("config", {"lr": 0.2, "depths": [2, 5]}),
                       ("config", {**HEAD["config"], "extra": 1}), ("version", 4)]:
        assert not results.matches({**rec, key: other}, HEAD), key
    assert not results.matches({k: v for k, v in rec.items() if k != "version"}, HEAD)  # version 0


def test_aside_path_names_version_and_config(tmp_path):
    path = tmp_path / "smoke.json"
    aside = results.aside_path(path, HEAD["config"], 3)
    assert aside.parent == tmp_path and re.fullmatch(r"smoke\.v3-[0-9a-f]{8}\.json", aside.name)
    assert aside == results.aside_path(path, dict(reversed(HEAD["config"].items())), 3)  # key order
    assert aside != results.aside_path(path, {"lr": 0.2}, 3) != results.aside_path(path, HEAD["config"], 4)


def test_code_fingerprint_is_stable_hex():
    fp = results.code_fingerprint()
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    results.code_fingerprint.cache_clear()
    assert results.code_fingerprint() == fp


def test_provenance_keys():
    prov = results.provenance("cpu")
    for key in ("git_commit", "code_fingerprint", "torch", "device_name", "date"):
        assert key in prov and isinstance(prov[key], str) and prov[key]
    assert prov["code_fingerprint"] == results.code_fingerprint()
    assert prov["device"] == "cpu" and prov["device_name"].startswith("CPU")
    assert prov["date"][:2] == "20" and "T" in prov["date"]
    json.dumps(prov)  # serialisable
