"""One trainer for K models at once: every K-model sweep of the book (the Figure 1 ConvNets, the
vanishing chapter's MLPs and 1-D CNNs, the Elman RNNs of "through_time", the gated cells of
"gates", the recurrent kinds of "debate") trains through `train_stacked`.

Model k ends as `train.train` (`training.loop`) would leave it alone, up to float rounding: the
same initial parameters, the same data order for its seed, the same optimiser, clipping, logged
metrics and divergence rule. Why that is exact:

- Parameters. Each of the K models has its own leaf tensors, in a param group of its own (its own
  learning rate) of a `torch.optim` optimiser of its kind (SGD with momentum, Adam; a stack may
  mix both). The elementwise rules of torch.optim then take, group by group, exactly the step a
  lone optimiser over model k would take. (One optimiser over stacked (K, ...) tensors would
  share one rate; folding a rate into the gradient would be wrong for Adam, which is invariant
  to the gradient's scale.) Model k's leaves are views of slice k of one (K, ...) storage per
  tensor, so the forward reads all K models without a copy and the optimiser's in-place updates
  land in the stack.
- Gradients. One backward of the sum of the K losses; model k's loss depends on slice k alone,
  so slice k of each stacked gradient is model k's own. Norms (clipping, logs) are taken per
  model over its own slices, never across models.
- Freezing. A model that diverged, or reached `stop_below`, gets no gradient from then on
  (`grad` None): torch.optim skips it, so its parameters and optimiser state stay as they were,
  and it records nothing more. Divergence is read at logged steps (before that step's update,
  as in `train.train`), at epoch ends and at evaluations, each a single host sync.
- Forward. `Stacked.of(nets)` takes K single-model modules: `torch.func.stack_module_state`
  stacks their parameters and buffers, and one of them runs under `vmap` with `functional_call`
  (convolutions become grouped ones); batch-norm running statistics are stacked buffers that
  each model updates for itself. `Stacked.native(module)` takes a module that already carries
  the model axis, for the two families vmap does not serve: the gated cells of "gates", whose
  models differ in their nonlinearities (a vmapped function is one function for all K), and
  `nets.recurrent.Stack`, whose LRU scan and LSTM/GRU recurrences are autograd Functions with
  hand-written backwards (no vmap rule), and whose cells, written with batched products over K
  by hand, step faster than a vmapped single-model loop on a CPU (vmap turns each `addmm` into a
  `bmm` plus a broadcast add that copies: about 20% more per step, measured on 12 tanh RNNs and
  12 LSTMs of the debate's book scale).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.func import functional_call, stack_module_state, vmap

from ..data import Dataset
from .loop import History, TrainConfig

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class Member:
    """One model of a stack: learning rate, data seed (its order, as `train(..., seed=seed)`),
    optimiser and clipping threshold (max global gradient norm of this model; None: off)."""

    lr: float
    seed: int
    optimizer: str = "sgd"
    clip: float | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid choices: "
                             f"{', '.join(OPTIMIZERS)}")


def members(cfg: TrainConfig, lrs: list[float], seeds: list[int]) -> list[Member]:
    """One member per (lr, seed) with `cfg`'s optimiser and clipping."""
    if len(lrs) != len(seeds) or not lrs:
        raise ValueError(f"need as many lrs as seeds (at least one), got {len(lrs)}, {len(seeds)}")
    return [Member(lr, s, cfg.optimizer, cfg.clip) for lr, s in zip(lrs, seeds)]


@dataclass
class Run(History):
    """`History` plus the evaluations of a step budget: (step, test error) every `eval_every`."""

    evals: list[tuple[int, float]] = field(default_factory=list)


class Stacked:
    """K models' parameters, each a (K, *shape) tensor, and their forward x (K, B, ...) ->
    (K, B, ...), model k reading x[k]. Build with `of` or `native`."""

    def __init__(self, params: dict[str, Tensor], buffers: dict[str, Tensor],
                 forward: Callable, weights: list[str], eval_batch: int) -> None:
        self.params, self.buffers, self._forward = params, buffers, forward
        self.weights = weights  # names of the weight tensors whose norms History logs per layer
        self.k = next(iter(params.values())).shape[0]
        self.eval_batch = eval_batch  # examples per model per evaluation call

    @classmethod
    def of(cls, nets: list[nn.Module]) -> Stacked:
        """K single-model modules of one architecture (any initial values), run under vmap."""
        if not nets:
            raise ValueError("need at least one net")
        shapes = {tuple((n, p.shape) for n, p in net.named_parameters()) for net in nets}
        if len(shapes) != 1 or len({type(net) for net in nets}) != 1:
            raise ValueError(f"stacked nets must share one architecture, got "
                             f"{sorted({type(net).__name__ for net in nets})} with "
                             f"{len(shapes)} parameter layouts")
        params, buffers = stack_module_state(nets)
        base = copy.deepcopy(nets[0]).to("meta")  # the architecture, without storage

        def forward(p, b, x, train):
            def one(p, b, x):
                return functional_call(base.train(train), (p, b), (x,))
            return vmap(one, in_dims=(0, 0, 0 if train else None))(p, b, x)

        ids = {id(m.weight): m for m in getattr(nets[0], "weight_layers", list)()}
        weights = [n for n, p in nets[0].named_parameters() if id(p) in ids]
        return cls({n: p.detach() for n, p in params.items()}, buffers, forward, weights,
                   eval_batch=max(1, 2048 // len(nets)))  # bounds a CNN's activations in memory

    @classmethod
    def native(cls, module: nn.Module, weights: list[str] = ()) -> Stacked:
        """A module whose parameters carry the model axis first and whose forward maps
        (K, B, ...) to (K, B, ...); training updates its parameters in place."""
        params = {n: p.detach() for n, p in module.named_parameters()}  # sharing its storage

        def forward(p, b, x, train):
            x = x if train else x.expand(next(iter(p.values())).shape[0], *x.shape)
            return functional_call(module, p, (x,))
        return cls(params, {}, forward, list(weights), eval_batch=512)

    def __call__(self, x: Tensor, params: dict[str, Tensor] | None = None) -> Tensor:
        """Training forward: x (K, B, ...) -> (K, B, ...)."""
        return self._forward(self.params if params is None else params, self.buffers, x, True)

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor) -> Tensor:
        """Each model's error rate (`loop.errors`: misclassified share, or MSE) on the same
        examples x (N, ...), y (N, ...), in eval mode: (K,)."""
        chunk = self.eval_batch
        total = sum(_errors(self._forward(self.params, self.buffers, x[i:i + chunk], False),
                            y[i:i + chunk].expand(self.k, *y[i:i + chunk].shape))
                    for i in range(0, len(x), chunk))
        return total.double() / len(x)


def train_stacked(model: Stacked, stack: list[Member], data: Dataset, cfg: TrainConfig, *,
                  steps: int | None = None, eval_every: int | None = None,
                  eval_examples: int | None = None, blowup: float = math.inf,
                  stop_below: float | None = None,
                  constrain: Callable[[dict[str, Tensor]], None] | None = None,
                  device: str = "cpu") -> tuple[list[Run], dict[str, list[float]]]:
    """Train model k of `model` with `stack[k]`, cross-entropy (MSE for float targets); returns
    one `Run` per model and the stack's clocks after every step ("wall", and "cpu": this
    process's CPU time, which other load on the machine does not change), seconds from the start.

    Epochs of `cfg` (each model its own permutation per epoch, as `train.train`): each logs
    every `cfg.log_every` steps and records running training and test error and wall clock at
    epoch ends; with `stop_below`, a model freezes after its first epoch whose running error is
    below it. With `steps`, that many steps instead, each model drawing its batches with
    replacement from its seed's generator, no epochs. With `eval_every`, every that many steps
    and at the last, each live model's error on the first `eval_examples` test examples goes to
    `Run.evals`; an error not finite or above `blowup` marks the model diverged there.
    `constrain(params)` projects the stacked parameters after every update."""
    k_models = model.k
    if len(stack) != k_models:
        raise ValueError(f"need one member per model: {k_models} models, {len(stack)} members")
    opt = _Optimisers(model, stack, cfg.momentum)
    clip = torch.tensor([math.inf if m.clip is None else m.clip for m in stack],
                        dtype=torch.float64, device=device)  # float32 would round 0.1
    is_weight = [n in model.weights for n in model.params]
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    x_eval, y_eval = x_test[:eval_examples], y_test[:eval_examples]
    gens = [torch.Generator().manual_seed(m.seed) for m in stack]
    runs = [Run() for _ in stack]
    bad = torch.zeros(k_models, dtype=torch.bool, device=device)  # a non-finite loss or norm seen
    clock: dict[str, list[float]] = {"wall": [], "cpu": []}
    step, start, start_cpu = 0, time.perf_counter(), time.process_time()

    def batches():
        if steps is not None:
            for _ in range(steps):
                yield torch.stack([torch.randint(0, len(x), (cfg.batch_size,), generator=g)
                                   for g in gens]).to(device)  # (K, B)
            return
        for _ in range(cfg.epochs):
            perm = torch.stack([torch.randperm(len(x), generator=g) for g in gens]).to(device)
            yield from perm.split(cfg.batch_size, dim=1)  # (K, B) each
            yield None  # the epoch's end

    wrong = torch.zeros(k_models, dtype=torch.float64, device=device)
    for idx in batches():
        if idx is None:
            _epoch_end(runs, opt, bad, wrong, len(x), model.evaluate(x_test, y_test), step,
                       time.perf_counter() - start, stop_below)
            wrong = torch.zeros_like(wrong)
        else:
            params = {n: p.requires_grad_() for n, p in ((n, p.detach()) for n, p in model.params.items())}
            out = model(x[idx], params)  # (K, B, ...)
            loss = _loss(out, y[idx])  # (K,)
            grads = torch.autograd.grad(loss.sum(), list(params.values()))
            norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads], 1)  # (K, P)
            norm = norms.norm(dim=1)  # (K,): each model's global norm, before clipping
            bad |= ~(torch.isfinite(loss) & torch.isfinite(norm))
            if step % cfg.log_every == 0:
                _log(runs, opt, bad, step, loss, norm, norms[:, is_weight])
            coef = (clip / (norm + 1e-6)).clamp(max=1.0)  # as clip_grad_norm_, per model
            opt.step(grads, coef)
            if constrain is not None:
                with torch.no_grad():
                    constrain(model.params)
            if steps is None:  # running training error, for the epoch's end
                wrong += _errors(out.detach(), y[idx])
            step += 1
            clock["wall"].append(time.perf_counter() - start)
            clock["cpu"].append(time.process_time() - start_cpu)
            if eval_every and (step % eval_every == 0 or step == steps):
                _evaluate(runs, opt, bad, step, model.evaluate(x_eval, y_eval), blowup)
        if not any(opt.live):
            break
    return runs, clock


class _Optimisers:
    """The K models' leaves (views of the stacked storage) in one torch.optim per kind, one
    param group per model; `live[k]` False freezes model k (it gets no gradient)."""

    def __init__(self, model: Stacked, stack: list[Member], momentum: float) -> None:
        self.grads = {n: torch.zeros_like(p) for n, p in model.params.items()}
        self.leaves = [[p[k].requires_grad_() for p in model.params.values()]
                       for k in range(model.k)]
        for k, leaves in enumerate(self.leaves):
            for leaf, g in zip(leaves, self.grads.values()):
                leaf.grad = g[k]  # a view: filling the stacked gradient fills every model's
        # one param group per learning rate (models of a rate share it: torch.optim's Python
        # work is per group, so fewer groups make a cheaper step; the rules stay elementwise)
        rates: dict[tuple[str, float], list[Tensor]] = {}
        for leaves, m in zip(self.leaves, stack):
            rates.setdefault((m.optimizer, m.lr), []).extend(leaves)
        groups = {kind: [{"params": leaves, "lr": lr} for (o, lr), leaves in rates.items()
                         if o == kind] for kind in OPTIMIZERS}
        # fused: one kernel per tensor, where the for-loop form launches several per group
        self.optimisers = [torch.optim.SGD(groups["sgd"], lr=0.0, momentum=momentum, fused=True)
                           if kind == "sgd" else torch.optim.Adam(groups["adam"], lr=0.0, fused=True)
                           for kind in OPTIMIZERS if groups[kind]]
        self.live = [True] * model.k

    def freeze(self, k: int) -> None:
        self.live[k] = False
        for leaf in self.leaves[k]:
            leaf.grad = None  # torch.optim skips a parameter without a gradient

    @torch.no_grad()
    def step(self, grads: tuple[Tensor, ...], coef: Tensor) -> None:
        for g, buf in zip(grads, self.grads.values()):
            torch.mul(g, coef.view(-1, *[1] * (g.dim() - 1)), out=buf)
        for opt in self.optimisers:
            opt.step()


def _loss(out: Tensor, y: Tensor) -> Tensor:
    """`loop.loss_fn` of each model, (K,), from out (K, B, ...) and y (K, B, ...): the mean
    cross-entropy for labels, the mean squared error for float targets. (vmap(loss_fn) computes
    the same, at a fraction of a millisecond more per step.)"""
    if y.is_floating_point():
        return (out - y).pow(2).flatten(1).mean(1)
    return F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)


def _errors(out: Tensor, y: Tensor) -> Tensor:
    """`loop.errors` of each model, (K,): misclassified examples, or summed per-example MSE."""
    if y.is_floating_point():
        return (out - y).pow(2).flatten(2).mean(2).sum(1)
    return (out.argmax(-1) != y).sum(1)


def _diverge(run: Run, opt: _Optimisers, k: int, step: int) -> None:
    run.diverged, run.diverged_at_step = True, step
    opt.freeze(k)


def _log(runs: list[Run], opt: _Optimisers, bad: Tensor, step: int, loss: Tensor, norm: Tensor,
         layer_norms: Tensor) -> None:
    """`train.train`'s logged step for each live model, from one host sync; a model with a
    non-finite value is marked diverged here, before this step's update."""
    rows = torch.cat([loss.detach()[:, None], norm[:, None], layer_norms,
                      bad[:, None].to(loss.dtype)], 1).tolist()
    for k, (run, (l, n, *layers, was_bad)) in enumerate(zip(runs, rows)):
        if not opt.live[k]:
            continue
        if was_bad or not all(map(math.isfinite, (l, n, *layers))):
            _diverge(run, opt, k, step)
            continue
        run.steps.append(step)
        run.loss.append(l)
        run.grad_norm.append(n)
        run.layer_grad_norms.append(layers)


def _epoch_end(runs: list[Run], opt: _Optimisers, bad: Tensor, wrong: Tensor, n_train: int,
               test_error: Tensor, step: int, seconds: float, stop_below: float | None) -> None:
    for k, (run, was_bad, w, e) in enumerate(zip(runs, bad.tolist(), wrong.tolist(),
                                                test_error.tolist())):
        if not opt.live[k]:
            continue
        if was_bad:
            _diverge(run, opt, k, step)
            continue
        run.epoch_train_error.append(w / n_train)
        run.epoch_test_error.append(e)
        run.epoch_seconds.append(seconds)
        if stop_below is not None and run.epoch_train_error[-1] < stop_below:
            opt.freeze(k)  # where train.train would have stopped


def _evaluate(runs: list[Run], opt: _Optimisers, bad: Tensor, step: int, error: Tensor,
              blowup: float) -> None:
    for k, (run, was_bad, e) in enumerate(zip(runs, bad.tolist(), error.tolist())):
        if not opt.live[k]:
            continue
        if was_bad or not math.isfinite(e) or e > blowup:
            _diverge(run, opt, k, step)
            continue
        run.evals.append((step, e))
