"""Activation functions: ranges of the derivatives, analytic vs autograd, the registry."""

from __future__ import annotations

import pytest
import torch

from relu_tanh.nets import activations
from relu_tanh.nets.activations import ACTIVATIONS
from relu_tanh.store.registry import Registry

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ALL = ACTIVATIONS.names()


def grid() -> torch.Tensor:
    """A dense float64 grid on [-10, 10] that contains 0 exactly, plus a few far-out points."""
    z = torch.linspace(-10, 10, 4001, dtype=torch.float64)
    extra = torch.tensor([0.0, -1e-300, 1e-300, -50.0, 50.0], dtype=torch.float64)
    return torch.cat([z, extra])


def autograd_derivative(name: str, z: torch.Tensor) -> torch.Tensor:
    z = z.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(activations.get(name).fn(z).sum(), z)
    return g


def test_expected_activations_are_registered():
    assert {"sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu"} <= set(ALL)


def test_sigmoid_derivative_peaks_at_a_quarter_at_zero():
    z = grid()
    d = activations.get("sigmoid").derivative(z)
    assert float(d.max()) == 0.25
    assert abs(float(z[d.argmax()])) < 1e-12  # the maximum sits at z = 0
    assert float(d[z.abs() <= 10].min()) > 0  # tends to 0 but is not 0 on [-10, 10]
    assert bool((d <= 0.25).all())


def test_tanh_derivative_peaks_at_one_at_zero():
    z = grid()
    d = activations.get("tanh").derivative(z)
    assert float(d.max()) == 1.0
    assert abs(float(z[d.argmax()])) < 1e-12  # the maximum sits at z = 0
    assert bool((d >= 0).all()) and bool((d <= 1).all())
    assert float(activations.get("tanh").derivative(torch.tensor(5.0, dtype=torch.float64))) < 1e-3


def test_relu_derivative_takes_only_zero_and_one():
    z = grid()
    d = activations.get("relu").derivative(z)
    assert sorted(torch.unique(d).tolist()) == [0.0, 1.0]
    assert bool((d[z > 0] == 1).all()) and bool((d[z <= 0] == 0).all())


@pytest.mark.parametrize("name", ALL)
def test_analytic_derivative_matches_autograd(name):
    z = grid()
    analytic = activations.get(name).derivative(z)
    auto = autograd_derivative(name, z)
    assert analytic.dtype == torch.float64
    torch.testing.assert_close(analytic, auto, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_module_computes_the_same_function(name):
    act = activations.get(name)
    z = grid()
    torch.testing.assert_close(act.module()(z), act.fn(z), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ALL)
def test_bounded_flag_matches_the_function(name):
    act = activations.get(name)
    big = act.fn(torch.tensor([-1e6, 1e6], dtype=torch.float64)).abs().max()
    assert act.bounded == bool(big <= 1)


def test_unknown_activation_lists_valid_choices():
    with pytest.raises(KeyError) as err:
        activations.get("softsign-ish")
    msg = err.value.args[0]
    assert "softsign-ish" in msg
    for name in ALL:
        assert name in msg


def test_registry_rejects_duplicates_and_lists_choices():
    reg: Registry[int] = Registry("thing")
    reg.add("a", 1)

    @reg.register("b")
    def _b():  # the decorator returns the entry unchanged
        return 2

    assert reg["b"] is _b and "a" in reg and "z" not in reg
    assert reg.names() == ["a", "b"] and list(reg) == ["a", "b"]
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", 3)
    assert reg["a"] == 1  # the first entry survives
    with pytest.raises(KeyError) as err:
        reg["c"]
    assert "thing" in err.value.args[0] and "a, b" in err.value.args[0]


def test_global_activation_registry_rejects_a_duplicate():
    with pytest.raises(ValueError):
        ACTIVATIONS.add("relu", activations.get("tanh"))
    assert activations.get("relu").name == "relu"


def test_derivative_grid_has_zero_and_its_ends_exactly():
    from relu_tanh.experiments import derivatives
    out = derivatives.run_seed(derivatives.DerivativesConfig(grid_points=2_001, n_samples=100),
                               seed=0, device="cpu", progress=False)
    assert out["tanh"]["argmax"] == 0.0 and out["sigmoid"]["argmax"] == 0.0
    assert out["tanh"]["max"] == 1.0 and out["sigmoid"]["max"] == 0.25
