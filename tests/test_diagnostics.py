"""Per-layer gradient norms and activation statistics."""

from __future__ import annotations

import math

import pytest
import torch

from relu_tanh.measure import diagnostics
from relu_tanh.nets import models

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def batch(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 20, generator=g), torch.randint(0, 5, (n,), generator=g)


def mlp(activation: str, depth: int = 4, init: str = "default") -> models.DeepNet:
    torch.manual_seed(0)
    return models.build(models.MLPConfig(20, 5, width=32, depth=depth, activation=activation,
                                         init=init))


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("depth", [1, 5])
def test_layer_grad_norms_one_per_weight_layer(arch, depth):
    torch.manual_seed(0)
    model = (mlp("tanh", depth) if arch == "mlp" else
             models.build(models.CNNConfig(1, 5, channels=8, depth=depth, activation="tanh")))
    x, y = batch()
    norms = diagnostics.layer_grad_norms(model, x, y)
    assert len(norms) == depth + 1
    assert all(math.isfinite(n) and n > 0 for n in norms)
    assert all(p.grad is None for p in model.parameters())  # no gradients left behind


def test_layer_grad_norms_match_a_manual_backward():
    model = mlp("relu", depth=3)
    x, y = batch()
    norms = diagnostics.layer_grad_norms(model, x, y)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    manual = [float(m.weight.grad.norm()) for m in model.weight_layers()]
    assert norms == pytest.approx(manual, rel=1e-6)


def test_sigmoid_gradient_shrinks_towards_the_input():
    """The property chapter 2 is about: deep sigmoid nets have tiny first-layer gradients."""
    torch.manual_seed(0)
    model = models.build(models.MLPConfig(20, 5, width=32, depth=12, activation="sigmoid"))
    norms = diagnostics.layer_grad_norms(model, *batch())
    assert norms[0] < 1e-2 * norms[-2]


def test_relu_stats():
    model = mlp("relu")
    x, _ = batch()
    stats = diagnostics.activation_stats(model, x, "relu")
    assert len(stats) == 4
    for s in stats:
        assert s["frac_saturated"] is None
        assert 0 < s["frac_zero"] < 1
        assert s["mean"] >= 0 and s["std"] > 0
        # relu' is 1 exactly where the output is nonzero
        assert s["mean_derivative"] == pytest.approx(1 - s["frac_zero"], abs=1e-6)
    assert all(len(m._forward_hooks) == 0 for m in model.acts)  # hooks removed


def test_tanh_stats():
    model = mlp("tanh")
    stats = diagnostics.activation_stats(model, batch()[0], "tanh")
    assert len(stats) == 4
    for s in stats:
        assert s["frac_saturated"] is not None and 0 <= s["frac_saturated"] <= 1
        assert 0 < s["mean_derivative"] <= 1
        assert -1 <= s["mean"] <= 1 and s["frac_zero"] == 0


def test_sigmoid_stats():
    stats = diagnostics.activation_stats(mlp("sigmoid"), batch()[0], "sigmoid")
    for s in stats:
        assert 0 < s["mean_derivative"] <= 0.25
        assert 0 <= s["frac_saturated"] <= 1 and 0 < s["mean"] < 1


def test_saturation_grows_with_the_input_scale():
    model = mlp("tanh", depth=2, init="kaiming")
    x, _ = batch()
    small = diagnostics.activation_stats(model, 0.01 * x, "tanh")[0]
    large = diagnostics.activation_stats(model, 100 * x, "tanh")[0]
    assert small["frac_saturated"] == 0 and small["mean_derivative"] > 0.99
    assert large["frac_saturated"] > 0.8 and large["mean_derivative"] < 0.2


def test_stats_come_from_the_pre_activations():
    """mean/std describe f(z) for the z each layer actually sees."""
    model = mlp("tanh", depth=2)
    x, _ = batch()
    stats = diagnostics.activation_stats(model, x, "tanh")
    with torch.no_grad():
        h1 = torch.tanh(model.hidden[0](model.stem(x)))
        h2 = torch.tanh(model.hidden[1](h1))
    assert stats[0]["mean"] == pytest.approx(float(h1.mean()), abs=1e-6)
    assert stats[1]["std"] == pytest.approx(float(h2.std()), abs=1e-6)
