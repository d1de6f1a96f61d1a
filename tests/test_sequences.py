"""Sequence tasks: shapes, the adding problem's markers and baseline, and regression training."""

from __future__ import annotations

import pytest
import torch

from relu_tanh.nets import models
from relu_tanh.training import sequences
from relu_tanh.training.loop import TrainConfig, error_rate, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_adding_problem_marks_one_step_in_each_half_and_sums_them():
    x, y = sequences.adding_problem(10, 500, seed=0)
    assert x.shape == (500, 10, 2) and y.shape == (500, 1)
    marks = x[..., 1]
    assert torch.equal(marks[:, :5].sum(1), torch.ones(500))
    assert torch.equal(marks[:, 5:].sum(1), torch.ones(500))
    assert torch.allclose((x[..., 0] * marks).sum(1, keepdim=True), y)


def test_adding_baseline_is_the_mse_of_answering_one():
    _, y = sequences.adding_problem(20, 200_000, seed=1)
    assert ((y - 1) ** 2).mean().item() == pytest.approx(sequences.ADDING_BASELINE_MSE, rel=0.01)


def test_adding_dataset_is_regression_with_distinct_train_and_test():
    ds = sequences.adding(8, 64, 32, seed=3)
    assert ds.task == "regression" and ds.n_classes == 1
    assert not torch.equal(ds.x_train[:32], ds.x_test)
    with pytest.raises(ValueError, match="length >= 2"):
        sequences.adding_problem(1, 4, seed=0)


def test_image_sequences_have_time_first():
    rows = sequences.fashion_rows(16, 8)
    assert rows.input_shape == (28, 28) and rows.task == "classification"
    pix = sequences.fashion_pixels(4, 4, permuted=True, dataset="fashion-mnist-small")
    plain = sequences.fashion_pixels(4, 4, dataset="fashion-mnist-small")
    assert pix.input_shape == (784, 1)
    assert torch.equal(pix.x_train.sort(1).values, plain.x_train.sort(1).values)
    assert not torch.equal(pix.x_train, plain.x_train)
    assert sequences.mnist1d_sequence(8, 8).input_shape == (40, 1)


def test_a_tanh_rnn_beats_the_adding_baseline_on_short_sequences():
    ds = sequences.adding(5, 1024, 256)
    torch.manual_seed(0)
    model = models.ElmanRNN(models.RNNConfig(2, 1, hidden_size=32, activation="tanh"))
    hist = train(model, ds, TrainConfig(epochs=30, batch_size=32, lr=3e-3, optimizer="adam",
                                        log_every=50), seed=0)
    assert not hist.diverged
    assert error_rate(model, ds.x_test, ds.y_test) < 0.25 * sequences.ADDING_BASELINE_MSE
