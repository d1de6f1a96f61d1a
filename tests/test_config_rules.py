"""Each experiment's config rejects names and combinations it cannot run, when it is built or
overridden and so before the first seed, with a one-line error naming the valid choices."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from relu_tanh import experiments
from relu_tanh.experiments import Experiment
from relu_tanh.experiments import debate


def smoke(name: str):
    return experiments.get(name).configs["smoke"]


TT, PW = smoke("through_time"), smoke("powers")

# (experiment, override, what the message names): one rule each
RULES = {
    "activation not an activation": ("derivatives", dict(activations=("hard_sigmoid",)), "valid choices: sigmoid"),
    "even derivative grid": ("derivatives", dict(grid_points=10), "odd"),
    "vanishing arch": ("vanishing_init", dict(archs=("rnn",)), "valid choices: mlp, cnn"),
    "vanishing init": ("vanishing_init", dict(inits=("he",)), "valid choices: default"),
    "CNN activation outside the grid": ("vanishing_train", dict(cnn_activations=("gelu",)), "not in activations"),
    "CNN depth outside the grid": ("vanishing_train", dict(cnn_depths=(3,)), "not in depths"),
    "saturation arch": ("saturation", dict(archs=("rnn",)), "valid choices: cnn, mlp"),
    "saturation init": ("saturation", dict(init="small_gaussian"), "valid choices: default"),
    "sparsity init": ("sparsity", dict(inits=("kaiming+ln",)), "optionally with \\+bn"),
    "powers spectra family": ("powers", dict(spectra=replace(PW.spectra, families=("uniform",))),
                              "valid choices: gaussian, normal, orthogonal"),
    "powers transient norm below radius": ("powers", dict(spectra=replace(PW.spectra, transient_norm=0.5)),
                                           "at least transient_radius"),
    "pascanu activation without a bound": ("powers", dict(pascanu=replace(PW.pascanu, activations=("relu",))),
                                           "valid choices: tanh, sigmoid"),
    "pascanu family": ("powers", dict(pascanu=replace(PW.pascanu, families=("normal",))),
                       "valid choices: gaussian, orthogonal"),
    "through_time map kind": ("through_time", dict(map=replace(TT.map, kinds=("indrnn",))),
                              "valid choices: sigmoid, tanh, relu, lstm, gru"),
    "through_time activation": ("through_time", dict(divergence=replace(TT.divergence, activations=("gelu",))),
                                "valid choices: tanh, relu"),
    "through_time init": ("through_time", dict(divergence=replace(TT.divergence, inits=("orthogonal",))),
                          "valid choices: default, identity"),
    "gates cell": ("gates", dict(cells=("lstm", "indrnn")), "valid choices: lstm, gru"),
    "gates arm not a pair": ("gates", dict(arms=(("sigmoid", "tanh"), ("sigmoid", "tanh", "relu"))),
                             "pair"),
    "gates nonlinearity": ("gates", dict(arms=(("sigmoid", "tanh"), ("softsign", "tanh"))),
                           "valid choices: .*hard_sigmoid"),
    "gates without the original cells": ("gates", dict(arms=(("relu", "tanh"),)), "original cells"),
    "debate kind": ("debate", dict(kinds=("tanh", "transformer")), "valid choices: tanh"),
    "debate variant": ("debate", dict(variants=("wide",)), "valid choices: equal, matched"),
    "debate learning rate": ("debate", dict(lrs=debate.LearningRates(adam=(1e-3, 0.0))), "positive"),
    "debate empty grid": ("debate", dict(lrs=debate.LearningRates(sgd=())), "empty"),
}


@pytest.mark.parametrize("rule", RULES)
def test_a_config_rejects_what_it_cannot_run(rule):
    name, change, names = RULES[rule]
    with pytest.raises(ValueError, match=names) as err:
        experiments.config_for(name, "smoke", **change)
    assert "\n" not in str(err.value)


def test_every_registered_config_passes_its_own_rules():
    for name in experiments.names():
        for scale in ("smoke", "book", "paper"):
            experiments.config_for(name, scale)


def test_through_time_stops_before_the_first_seed(tmp_path):
    """The rule fires in `run`'s checks, so no seed starts and no record is written."""
    bad = replace(TT.divergence, activations=("tanh", "gelu"))
    with pytest.raises(ValueError, match="gelu"):
        experiments.run("through_time", "smoke", root=tmp_path, divergence=bad)
    assert not any(tmp_path.rglob("*.json"))


def test_a_config_an_experiment_cannot_run_fails_at_registration():
    @dataclass(frozen=True)
    class Odd:
        n_points: int = 3

        def validate(self) -> None:
            if self.n_points % 2 == 0:
                raise ValueError("n_points must be odd")

    run = lambda cfg, *, seed, device, progress: {}
    configs = {"smoke": Odd(), "book": Odd(4), "paper": Odd()}
    with pytest.raises(ValueError, match="odd"):
        Experiment("odd", "derivatives", "", 1, configs, dict.fromkeys(configs, 1), run, lambda c, s: s)
