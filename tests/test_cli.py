"""The command line, called in-process through `main`."""

from __future__ import annotations

import json

import pytest

from relu_tanh import experiments
from relu_tanh.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_list_prints_every_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in experiments.names():
        assert name in out
        assert experiments.get(name).chapter in out


def test_unknown_experiment_exits_2_listing_choices(capsys):
    assert main(["run", "nope", "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "valid choices" in err
    for name in ("derivatives", "vanishing_init", "vanishing_train"):
        assert name in err


def test_bad_seed_count_exits_2(capsys):
    assert main(["run", "derivatives", "--scale", "smoke", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_bad_scale_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "derivatives", "--scale", "huge"])
    assert exc.value.code == 2
    assert "smoke" in capsys.readouterr().err


def test_run_writes_to_the_results_dir_and_show_reads_it(isolated_dirs, capsys):
    assert main(["show", "derivatives", "--scale", "smoke"]) == 1
    assert "python -m relu_tanh run derivatives --scale smoke" in capsys.readouterr().out

    assert main(["run", "derivatives", "--scale", "smoke"]) == 0
    path = isolated_dirs["results"] / "derivatives" / "smoke.json"
    assert path.exists()
    assert str(path) in capsys.readouterr().out
    rec = json.loads(path.read_text())
    assert rec["scale"] == "smoke" and list(rec["seeds"]) == ["0"]
    assert not (isolated_dirs["cache"] / "derivatives").exists()  # the CLI does not use the cache

    assert main(["show", "derivatives", "--scale", "smoke"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["path"] == str(path) and shown["seeds"] == [0]
    assert shown["provenance"]["code_fingerprint"] == rec["provenance"]["code_fingerprint"]


def test_scale_comes_from_the_environment(isolated_dirs, monkeypatch):
    monkeypatch.setenv("RELU_TANH_SCALE", "smoke")
    assert main(["run", "derivatives"]) == 0
    assert (isolated_dirs["results"] / "derivatives" / "smoke.json").exists()
