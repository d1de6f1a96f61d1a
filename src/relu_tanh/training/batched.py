"""A sweep of small CNNs trained as one model: seeds and learning rates stacked on a model axis K.

Serves the issue's claim that the paper-scale ConvNet sweep fits in one device call: one
ConvNet at batch 128 leaves a GPU mostly idle, so `train_batched` runs K of them through a
single vmapped forward/backward per step (torch.func.stack_module_state + functional_call +
vmap, which lowers the convolutions to grouped ones). It reproduces `train.train` model by
model (tests/test_batched.py checks this); `throughput` sets its images/s beside `train.train`
and a bare PyTorch loop. `python -m relu_tanh.training.batched --device cuda` prints those numbers.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from ..measure.bench import time_fn
from ..data import Dataset
from ..nets.models import ConvNet, ConvNetConfig
from .loop import History, TrainConfig, train


def train_batched(configs: list[ConvNetConfig], lrs: list[float], seeds: list[int], data: Dataset,
                  cfg: TrainConfig, *, device: str = "cpu",
                  stop_below: float | None = None) -> list[History]:
    """Train K ConvNets at once; model k ends as `torch.manual_seed(seeds[k])`, then
    `train.train(ConvNet(configs[k]), data, replace(cfg, lr=lrs[k]), seed=seeds[k],
    stop_below=stop_below)` would leave it.

    Same initialisation, data order, SGD with momentum, per-model clipping and History, up to
    float rounding (grouped convolutions sum in another order). A model whose loss or gradient
    goes non-finite is marked diverged at the next logged step or epoch end, as in `train.train`,
    and left to run on (NaN) without touching the others. With `stop_below`, a model is frozen
    (learning rate 0, metrics no longer recorded) after its first epoch with running training
    error below it, where `train.train(..., stop_below=...)` would stop; the run ends when no
    model is left. `History.epoch_seconds` is the wall clock of the whole batch. Parameters take
    the data's dtype. Batch norm works as in `train.train`: each model normalises with its own
    batch statistics while training, keeps its own running statistics (stacked buffers that the
    vmapped forward updates), and is evaluated with them.
    """
    k_models = len(configs)
    if not k_models or not k_models == len(lrs) == len(seeds):
        raise ValueError(f"need as many configs, lrs and seeds (at least one), got "
                         f"{len(configs)}, {len(lrs)}, {len(seeds)}")
    if any(dataclasses.replace(c, init=configs[0].init) != configs[0] for c in configs):
        raise ValueError(f"batched models must share one architecture and activation (configs may "
                         f"differ only in init), got {sorted(set(map(str, configs)))}")
    if cfg.optimizer != "sgd":
        raise ValueError(f"train_batched supports SGD only, got optimizer={cfg.optimizer!r}")
    dtype = data.x_train.dtype
    nets = []
    for config, seed in zip(configs, seeds):
        with torch.random.fork_rng(devices=[]):  # seed the init without touching the caller's RNG
            torch.manual_seed(seed)
            nets.append(ConvNet(config).to(device, dtype))
    weight_ids = {id(layer.weight) for layer in nets[0].weight_layers()}
    is_weight = [id(p) in weight_ids for p in nets[0].parameters()]  # History.layer_grad_norms
    stacked, buffers = stack_module_state(nets)  # each (K, *shape); buffers: batch-norm statistics
    params = {n: p.detach() for n, p in stacked.items()}
    base = copy.deepcopy(nets[0]).to("meta")  # the architecture, without storage

    def loss_fn(p, b, x, y):  # one model: x (B, C, H, W), y (B,)
        out = functional_call(base.train(), (p, b), (x,))  # (B, classes); updates b's statistics
        return F.cross_entropy(out, y), out

    grad_step = vmap(grad_and_value(loss_fn, has_aux=True))  # over K: params, buffers, x, y
    forward = vmap(lambda p, b, x: functional_call(base.eval(), (p, b), (x,)), in_dims=(0, 0, None))
    lr = torch.tensor(lrs, dtype=dtype, device=device)
    lr_k = {n: lr.view(-1, *[1] * (p.dim() - 1)) for n, p in params.items()}  # (K, 1, ...)
    bufs = {n: torch.zeros_like(p) for n, p in params.items()}  # 0 * m + g == g: torch's first step
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    hists = [History() for _ in range(k_models)]
    live = [True] * k_models  # neither diverged nor stopped: metrics recorded, parameters updated
    step, start = 0, time.perf_counter()
    for _ in range(cfg.epochs):
        perm = torch.stack([torch.randperm(len(x), generator=g) for g in gens]).to(device)  # (K, N)
        wrong = torch.zeros(k_models, dtype=torch.long, device=device)
        for idx in perm.split(cfg.batch_size, dim=1):  # idx (K, B)
            grads, (loss, out) = grad_step(params, buffers, x[idx], y[idx])  # loss (K,), out (K, B, classes)
            norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], 1)  # (K, P)
            norm = norms.norm(dim=1)  # (K,) global gradient norm per model, before clipping
            if step % cfg.log_every == 0:
                _log(hists, live, step, loss, norm, norms[:, is_weight])
                if not any(live):
                    break
            if cfg.clip is not None:  # as clip_grad_norm_, per model
                coef = (cfg.clip / (norm + 1e-6)).clamp(max=1.0)
                grads = {n: g * coef.view_as(lr_k[n]) for n, g in grads.items()}
            for n, p in params.items():
                bufs[n].mul_(cfg.momentum).add_(grads[n])
                p.sub_(lr_k[n] * bufs[n])
            wrong += (out.argmax(-1) != y[idx]).sum(1)
            step += 1
        finite = (torch.isfinite(loss) & torch.isfinite(norm)).tolist()
        test_wrong = _count_wrong(forward, params, buffers, x_test, y_test).tolist()
        for k, (hist, ok, w, tw) in enumerate(zip(hists, finite, wrong.tolist(), test_wrong)):
            if not live[k]:
                continue  # masked: a diverged or stopped model's metrics are not recorded
            if not ok:
                hist.diverged, hist.diverged_at_step, live[k] = True, step, False
                continue
            hist.epoch_train_error.append(w / len(x))
            hist.epoch_test_error.append(tw / len(x_test))
            hist.epoch_seconds.append(time.perf_counter() - start)
            if stop_below is not None and hist.epoch_train_error[-1] < stop_below:
                live[k], lr[k] = False, 0.0  # frozen where train.train would have stopped
        if not any(live):
            break
    return hists


def _log(hists: list[History], live: list[bool], step: int, loss: torch.Tensor,
         norm: torch.Tensor, layer_norms: torch.Tensor) -> None:
    """`train.train`'s logged step for each live model, from one host sync; a non-finite value
    marks the model diverged (and no longer live)."""
    rows = torch.cat([loss[:, None], norm[:, None], layer_norms], 1).tolist()  # (K, 2 + layers)
    for k, (hist, (l, n, *layers)) in enumerate(zip(hists, rows)):
        if not live[k]:
            continue
        if not all(map(math.isfinite, (l, n, *layers))):
            hist.diverged, hist.diverged_at_step, live[k] = True, step, False
            continue
        hist.steps.append(step)
        hist.loss.append(l)
        hist.grad_norm.append(n)
        hist.layer_grad_norms.append(layers)


@torch.no_grad()
def _count_wrong(forward, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
                 x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Misclassified test examples per model, (K,); about 2048 images per call, as error_rate."""
    k_models = next(iter(params.values())).shape[0]
    chunk = max(1, 2048 // k_models)
    return torch.stack([(forward(params, buffers, x[i:i + chunk]).argmax(-1) != y[i:i + chunk]).sum(1)
                        for i in range(0, len(x), chunk)]).sum(0)


def throughput(config: ConvNetConfig, data: Dataset, batch_size: int = 128, device: str = "cpu",
               steps: int = 20, *, ks: tuple[int, ...] = (1, 4), repeats: int = 5,
               lr: float = 0.01) -> dict[str, float]:
    """Training images/s of one ConvNet under `train.train` and under a bare loop (model, SGD,
    forward/backward/step over device tensors, nothing else), and of K at once (total over the K
    models) under `train_batched`. Serves the claim that the loop costs under 10% over the bare
    one: each timed call is one epoch of `steps` batches on data already on the device, after a
    warm-up; median of `repeats` rounds, each timing every variant once; the end-of-epoch test
    evaluation is over a single example."""
    n = steps * batch_size
    sub = data.subset(n, 1)
    sub = Dataset(sub.name, sub.source, *(t.to(device) for t in (sub.x_train, sub.y_train,
                                                                  sub.x_test, sub.y_test)))
    cfg = TrainConfig(epochs=1, batch_size=batch_size, lr=lr)
    torch.manual_seed(0)
    model = ConvNet(config).to(device)

    def loop():
        assert not train(model, sub, cfg, seed=0).diverged  # diverging would stop early

    torch.manual_seed(0)
    bare_model = ConvNet(config).to(device)
    opt = torch.optim.SGD(bare_model.parameters(), lr=lr, momentum=cfg.momentum)
    batches = list(zip(sub.x_train.split(batch_size), sub.y_train.split(batch_size)))

    def bare():
        for xb, yb in batches:
            loss = F.cross_entropy(bare_model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def batched(k: int):
        return lambda: train_batched([config] * k, [lr] * k, list(range(k)), sub, cfg,
                                     device=device)

    fns = {"train": (loop, 1), "bare": (bare, 1), **{f"batched_k{k}": (batched(k), k) for k in ks}}
    for fn, _ in fns.values():
        fn()  # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeats):  # round robin, so that a load change on the machine hits all alike
        for name, (fn, _) in fns.items():
            times[name].append(time_fn(fn, device=device, repeats=1, warmup=0).median_s)
    rate = {name: n * fns[name][1] / statistics.median(t) for name, t in times.items()}
    return {f"{name}_images_per_s": r for name, r in rate.items()} | {
        "train_over_bare": rate["train"] / rate["bare"]}


def main() -> None:
    """`python -m relu_tanh.training.batched [--device cuda] [--steps 20]`: one JSON line per ConvNet shape
    (Fashion-MNIST's 1x28x28 and CIFAR-10's 3x32x32, random data), batch 128."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for config in (ConvNetConfig(in_channels=1, image_size=28), ConvNetConfig()):
        g = torch.Generator().manual_seed(0)
        n, shape = args.steps * 128, (config.in_channels, config.image_size, config.image_size)
        x, y = torch.randn(n, *shape, generator=g), torch.randint(0, 10, (n,), generator=g)
        data = Dataset("random", "standard normal images, uniform labels", x, y, x[:1], y[:1])
        row = throughput(config, data, 128, args.device, args.steps, ks=tuple(args.ks),
                         repeats=args.repeats)
        hardware = (torch.cuda.get_device_name() if args.device.startswith("cuda")
                    else f"{os.cpu_count()} CPUs {platform.machine()}")
        print(json.dumps({"input": shape, "device": args.device, "hardware": hardware,
                          "threads": torch.get_num_threads(), "torch": torch.__version__} | row))


if __name__ == "__main__":
    main()
