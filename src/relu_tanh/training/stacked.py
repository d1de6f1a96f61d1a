"""Train K same-shaped MLPs or 1-D CNNs as one: their parameters stacked on a model axis, one
forward/backward per step, each model with its own initial values, learning rate and data order.

On a CPU a small network spends most of a step in per-operation overhead, and its small
convolutions run far below the machine's speed; stacked, each layer of K models is one batched
matrix product (`torch.baddbmm`; a convolution as an unfolded product), so K models cost little
more than one. The vanishing chapter trains its (initialisation x learning rate x seed) grid
this way. `train_stacked` reproduces `train.train` model by model (SGD with momentum, the same
data order for the same seed, the same `History`) up to float rounding; tests/test_stacked.py
checks that.
"""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..data import Dataset
from ..nets.models import DeepNet
from .loop import History, TrainConfig


class Stacked(nn.Module):
    """K copies of one `models.mlp` or 1-D `models.cnn` architecture, evaluated at once.

    Parameters are (K, *shape) stacks of the nets' own, so every model keeps its initial values.
    """

    def __init__(self, nets: list[DeepNet]) -> None:
        super().__init__()
        first = nets[0]
        self.conv = isinstance(first.hidden[0], nn.Conv1d)
        if not self.conv and not isinstance(first.hidden[0], nn.Linear):
            raise ValueError(f"Stacked takes MLPs or 1-D CNNs, got {type(first.hidden[0]).__name__}")
        self.act = first.acts[0]
        self.kernel = first.hidden[0].kernel_size[0] if self.conv else 1
        stack = lambda get: nn.Parameter(torch.stack([get(n).detach() for n in nets]).clone())
        self.weights = nn.ParameterList(stack(lambda n, k=k: n.weight_layers()[k].weight)
                                        for k in range(len(first.weight_layers())))
        self.biases = nn.ParameterList(stack(lambda n, k=k: n.weight_layers()[k].bias)
                                       for k in range(len(first.weight_layers())))

    def forward(self, x: Tensor) -> Tensor:
        """x: (K, B, *input) -> (K, B, classes)."""
        k_models, batch = x.shape[:2]
        if self.conv:
            h = x.transpose(2, 3)  # (K, B, L, C): channels last, so a window is one row
            pad = self.kernel // 2
            for w, b in zip(self.weights[:-1], self.biases[:-1]):  # w (K, C_out, C_in, k)
                length = h.shape[2]
                cols = F.pad(h, (0, 0, pad, pad)).unfold(2, self.kernel, 1)  # (K, B, L, C_in, k)
                cols = cols.reshape(k_models, batch * length, -1)  # (K, B L, C_in k)
                h = torch.baddbmm(b[:, None], cols, w.flatten(2).transpose(1, 2))  # (K, B L, C_out)
                h = self.act(h).view(k_models, batch, length, -1)
            h = h.mean(2)  # global average pool: (K, B, C)
        else:
            h = x.flatten(2)  # (K, B, features)
            for w, b in zip(self.weights[:-1], self.biases[:-1]):  # w (K, out, in)
                h = self.act(torch.baddbmm(b[:, None], h, w.transpose(1, 2)))
        return torch.baddbmm(self.biases[-1][:, None], h, self.weights[-1].transpose(1, 2))

    def write_back(self, nets: list[DeepNet]) -> None:
        """Copy model k's parameters into nets[k]."""
        with torch.no_grad():
            for k, net in enumerate(nets):
                for layer, w, b in zip(net.weight_layers(), self.weights, self.biases):
                    layer.weight.copy_(w[k])
                    layer.bias.copy_(b[k])


def summed_loss(out: Tensor, y: Tensor) -> Tensor:
    """Sum over models of each model's mean cross-entropy: its gradient is every model's own.
    out (K, B, classes), y (K, B)."""
    return F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="sum") / y.shape[1]


def layer_grad_norms(nets: list[DeepNet], x: Tensor, y: Tensor) -> list[list[float]]:
    """`diagnostics.layer_grad_norms` of every net on the same batch, in one backward pass."""
    model = Stacked(nets).to(x.device)
    k_models = len(nets)
    summed_loss(model(x.expand(k_models, *x.shape)), y.expand(k_models, *y.shape)).backward()
    return torch.stack([w.grad.flatten(1).norm(dim=1) for w in model.weights], 1).tolist()


def train_stacked(nets: list[DeepNet], data: Dataset, cfg: TrainConfig, lrs: list[float],
                  seeds: list[int], *, device: str = "cpu") -> list[History]:
    """Train `nets` (one architecture, any initial values) at once; net k ends as
    `train.train(nets[k], data, replace(cfg, lr=lrs[k]), seed=seeds[k])` would leave it.

    Classification, SGD, no clipping. A model whose loss or gradient goes non-finite is marked
    diverged at its next logged step or epoch end and frozen (parameters zeroed, learning rate
    0), so it records nothing more and its NaNs slow nobody down. `epoch_seconds` is the wall
    clock of the whole stack. The trained parameters are written back into `nets`.
    """
    k_models = len(nets)
    if not k_models or not k_models == len(lrs) == len(seeds):
        raise ValueError(f"need as many nets, lrs and seeds (at least one), got "
                         f"{len(nets)}, {len(lrs)}, {len(seeds)}")
    if cfg.optimizer != "sgd" or cfg.clip is not None:
        raise ValueError(f"train_stacked supports plain SGD without clipping, got "
                         f"optimizer={cfg.optimizer!r}, clip={cfg.clip}")
    model = Stacked(nets).to(device)
    params = list(model.parameters())
    lr = torch.tensor(lrs, dtype=torch.float32, device=device)  # (K,)
    bufs = [torch.zeros_like(p) for p in params]
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    hists = [History() for _ in range(k_models)]
    live = [True] * k_models
    step, start = 0, time.perf_counter()
    for _ in range(cfg.epochs):
        perm = torch.stack([torch.randperm(len(x), generator=g) for g in gens]).to(device)  # (K, N)
        wrong = torch.zeros(k_models, device=device)
        for idx in perm.split(cfg.batch_size, dim=1):  # idx (K, B)
            out = model(x[idx])  # (K, B, classes)
            loss = summed_loss(out, y[idx])
            for p in params:
                p.grad = None
            loss.backward()
            if step % cfg.log_every == 0:
                per_model = F.cross_entropy(out.detach().transpose(1, 2), y[idx], reduction="none").mean(1)
                _log(hists, live, lr, params, step, per_model, model)
                if not any(live):
                    break
            with torch.no_grad():
                for p, buf in zip(params, bufs):
                    buf.mul_(cfg.momentum).add_(p.grad)
                    p.sub_(lr.view(-1, *[1] * (p.dim() - 1)) * buf)
            wrong += (out.detach().argmax(-1) != y[idx]).sum(1)
            step += 1
        with torch.no_grad():
            finite = torch.stack([torch.isfinite(p.flatten(1)).all(1) for p in params]).all(0)
            test_wrong = _count_wrong(model, x_test, y_test).tolist()
        for k, (hist, ok, w, tw) in enumerate(zip(hists, finite.tolist(), wrong.tolist(), test_wrong)):
            if not live[k]:
                continue
            if not ok:
                _freeze(hist, live, lr, params, k, step)
                continue
            hist.epoch_train_error.append(w / len(x))
            hist.epoch_test_error.append(tw / len(x_test))
            hist.epoch_seconds.append(time.perf_counter() - start)
        if not any(live):
            break
    model.write_back(nets)
    return hists


@torch.no_grad()
def _freeze(hist: History, live: list[bool], lr: Tensor, params: list[Tensor], k: int,
            step: int) -> None:
    hist.diverged, hist.diverged_at_step, live[k] = True, step, False
    lr[k] = 0.0
    for p in params:
        p[k] = 0.0


def _log(hists: list[History], live: list[bool], lr: Tensor, params: list[Tensor], step: int,
         loss: Tensor, model: Stacked) -> None:
    """`train.train`'s logged step for each live model (loss, gradient norm, per-layer weight
    gradient norms), from one host sync."""
    norms = torch.stack([p.grad.flatten(1).norm(dim=1) for p in params], 1)  # (K, P)
    layers = torch.stack([w.grad.flatten(1).norm(dim=1) for w in model.weights], 1)  # (K, layers)
    rows = torch.cat([loss[:, None], norms.norm(dim=1)[:, None], layers], 1).tolist()
    for k, (hist, (l, n, *layer)) in enumerate(zip(hists, rows)):
        if not live[k]:
            continue
        if not all(map(math.isfinite, (l, n, *layer))):
            _freeze(hist, live, lr, params, k, step)
            continue
        hist.steps.append(step)
        hist.loss.append(l)
        hist.grad_norm.append(n)
        hist.layer_grad_norms.append(layer)


@torch.no_grad()
def _count_wrong(model: Stacked, x: Tensor, y: Tensor, chunk: int = 1000) -> Tensor:
    """Misclassified examples per model, (K,), every model on the same x."""
    k_models = model.weights[0].shape[0]
    return sum((model(x[i:i + chunk].expand(k_models, *x[i:i + chunk].shape)).argmax(-1)
                != y[i:i + chunk]).sum(1) for i in range(0, len(x), chunk))
