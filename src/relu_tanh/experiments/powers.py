"""Chapter "powers": repeated multiplication by W, Pascanu et al.'s bound, one W against many.

One experiment, ``powers``, in three parts, all float64 linear algebra (no training):
``spectra`` (R1) follows ||W^t|| for constructed and random matrices whose largest
entry, spectral radius and spectral norm are logged; ``pascanu`` measures the Jacobian
product dh_T/dh_{T-g} of input-driven tanh and sigmoid RNNs against the bound (gamma ||W_h||)^g
of Pascanu, Mikolov and Bengio (2013); ``shared`` (R2) compares T steps of one shared
random W with T independent random layers of the same distribution.

Run: ``python -m relu_tanh run powers --scale paper --device cuda``
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from ..nets import activations
from ..measure import spectra
from ..measure.spectra import DTYPE, FLOAT32_TINY
from . import Experiment, register

GAMMA = {"tanh": 1.0, "sigmoid": 0.25}  # max |f'|, Pascanu et al. (2013) section 2.1
GAIN = {"linear": 1.0, "tanh": 1.0, "relu": math.sqrt(2.0)}  # weight scale at which "scale 1" is critical
RANDOM_FAMILIES = ("gaussian", "normal", "orthogonal")  # `random_matrix`
W_H_FAMILIES = ("gaussian", "orthogonal")  # Pascanu's W_h


def _act(name: str) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """(f, f') for an activation name, "linear" included."""
    if name == "linear":
        return (lambda a: a), torch.ones_like
    act = activations.get(name)
    return act.fn, act.derivative


# --- R1: powers of W -------------------------------------------------------------------------

def constructed() -> dict[str, Tensor]:
    """Small matrices that separate "entries" from "spectrum" (fixed, not random)."""
    rot = math.pi / 6
    return {
        "all entries 0.25, rho 2": torch.full((8, 8), 0.25, dtype=DTYPE),
        "an entry of 4, rho 0.5": torch.tensor([[0.5, 4.0], [0.0, 0.5]], dtype=DTYPE),
        "rotation, rho 1": torch.tensor([[math.cos(rot), -math.sin(rot)],
                                         [math.sin(rot), math.cos(rot)]], dtype=DTYPE),
        "diagonal 0.9 and 1.1": torch.diag(torch.tensor([0.9, 1.1], dtype=DTYPE)),
    }


@dataclass(frozen=True)
class SpectraConfig:
    n: int = 64  # size of the random matrices
    steps: int = 200  # powers t = 1..steps
    every: int = 2  # record ||W^t|| every this many steps
    radii: tuple[float, ...] = (0.5, 0.9, 1.0, 1.1, 2.0)
    families: tuple[str, ...] = ("gaussian", "normal", "orthogonal")
    transient_radius: float = 0.9  # the non-normal matrix: rho below 1 ...
    transient_norm: float = 3.0  # ... and ||W|| well above it
    n_vectors: int = 4  # random v for ||W^t v||

    def validate(self) -> None:
        if unknown := [f for f in self.families if f not in RANDOM_FAMILIES]:
            raise ValueError(f"spectra families: unknown {unknown}; valid choices: "
                             f"{', '.join(RANDOM_FAMILIES)}")
        if self.transient_norm < self.transient_radius:  # a norm is never below the radius
            raise ValueError(f"transient_norm ({self.transient_norm}) must be at least transient_radius "
                             f"({self.transient_radius})")


def random_matrix(family: str, n: int, radius: float, gen: torch.Generator) -> Tensor:
    if family == "gaussian":
        return spectra.with_radius(spectra.gaussian(n, 1.0, gen), radius)
    if family == "normal":
        return spectra.normal(n, radius, gen)
    if family == "orthogonal":
        return radius * spectra.orthogonal(n, gen)
    raise ValueError(f"unknown family {family!r}; valid choices: {', '.join(RANDOM_FAMILIES)}")


def _power_row(name: str, family: str, w: Tensor, cfg: SpectraConfig, device: str) -> dict[str, Any]:
    logs = spectra.power_log_norms(w.to(device), cfg.steps, cfg.every).cpu()
    return {"name": name, "family": family, **spectra.describe(w),
            "log_norms": logs.tolist(), "rate": spectra.growth_rate(logs, cfg.every)}


def entry_traces(w: Tensor, steps: int) -> dict[str, list[float]]:
    """Largest |(W^t)_ij| over the entries with |w_ij| < 1 and over those with |w_ij| >= 1
    (the article's two groups), t = 1..steps; log10, -inf where a group is empty or zero."""
    small = w.abs() < 1
    p, out = torch.eye(len(w), dtype=DTYPE), {"below_1": [], "above_1": []}
    for _ in range(steps):
        p = w @ p
        for key, mask in (("below_1", small), ("above_1", ~small)):
            m = float(p.abs()[mask].max()) if mask.any() else 0.0
            out[key].append(math.log10(m) if m > 0 else -math.inf)
    return out


def run_spectra(cfg: SpectraConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """||W^t|| for the constructed matrices (seed 0 only: they are not random), the random
    families at each radius, and one non-normal matrix with transient growth."""
    gen = spectra.generator(seed)
    rows = []
    if seed == 0:
        for name, w in constructed().items():
            rows.append({**_power_row(name, "constructed", w, cfg, device),
                         "entries": entry_traces(w, cfg.steps)})
    for family in cfg.families:
        for radius in cfg.radii:
            rows.append(_power_row(f"{family}, rho {radius:g}", family,
                                   random_matrix(family, cfg.n, radius, gen), cfg, device))
    w = spectra.non_normal(cfg.n, cfg.transient_radius, cfg.transient_norm, gen)
    v = torch.randn(cfg.n, cfg.n_vectors, generator=gen, dtype=DTYPE)
    vec = spectra.power_vector_log_norms(w.to(device), v.to(device), cfg.steps).cpu()  # (k, T)
    rows.append({**_power_row("non-normal", "non_normal", w, cfg, device), "vector_log_norms": vec.tolist()})
    return {"rows": rows}


def summarize_spectra(cfg: SpectraConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Every matrix of every seed, with the steps its norms were recorded at."""
    rows = [dict(r, seed=s) for s, out in sorted(seeds.items()) for r in out["rows"]]
    return {"rows": rows, "t": list(range(cfg.every, cfg.steps + 1, cfg.every)),
            "steps": cfg.steps, "n": cfg.n}


# --- Pascanu et al.'s sufficient condition ----------------------------------------------------

@dataclass(frozen=True)
class PascanuConfig:
    n: int = 64  # hidden units
    inputs: int = 8  # input dimension d
    steps: int = 100  # sequence length T; gaps g = 1..T
    every: int = 5
    batch: int = 8  # input sequences per W
    input_std: float = 1.0  # x_t ~ N(0, I), W_x ~ N(0, input_std^2 / d): unit-variance drive
    etas: tuple[float, ...] = (0.5, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0)  # gamma ||W_h||
    activations: tuple[str, ...] = ("tanh", "sigmoid")
    families: tuple[str, ...] = W_H_FAMILIES

    def validate(self) -> None:
        if unknown := [a for a in self.activations if a not in GAMMA]:  # the bound needs max |f'|
            raise ValueError(f"pascanu activations: unknown {unknown}; valid choices: {', '.join(GAMMA)}")
        if unknown := [f for f in self.families if f not in W_H_FAMILIES]:
            raise ValueError(f"pascanu families: unknown {unknown}; valid choices: "
                             f"{', '.join(W_H_FAMILIES)}")


def run_pascanu(cfg: PascanuConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """For each activation and family, one RNN per eta (batched) with ||W_h|| = eta / gamma,
    driven by random inputs: log ||dh_T/dh_{T-g}|| per sequence, its per-step rate and the
    margin to the bound g log eta (never above 0 if the bound holds)."""
    gen = spectra.generator(seed)
    etas = torch.tensor(cfg.etas, dtype=DTYPE)
    gaps = torch.arange(cfg.every, cfg.steps + 1, cfg.every, dtype=DTYPE, device=device)
    rows = []
    for act in cfg.activations:
        f, df = _act(act)
        for family in cfg.families:
            draw = (lambda: spectra.gaussian(cfg.n, 1.0, gen)) if family == "gaussian" else \
                (lambda: spectra.orthogonal(cfg.n, gen))
            w_h = torch.stack([spectra.with_norm(draw(), e / GAMMA[act]) for e in cfg.etas])  # (E, n, n)
            w_x = torch.randn(len(etas), cfg.n, cfg.inputs, generator=gen, dtype=DTYPE)
            w_x = w_x * (cfg.input_std / math.sqrt(cfg.inputs))  # (E, n, d)
            x = torch.randn(len(etas), cfg.batch, cfg.steps, cfg.inputs, generator=gen, dtype=DTYPE)
            w_h, w_x, x = w_h.to(device), w_x.to(device), x.to(device)
            pre = spectra.rnn_preactivations(w_h, w_x, x, f)  # (E, B, T, n)
            logs = spectra.bptt_log_norms(w_h, pre, df, cfg.every).cpu()  # (E, B, T // every)
            margin = logs - gaps.cpu() * torch.log(etas)[:, None, None]  # (E, B, T // every)
            for k, eta in enumerate(cfg.etas):
                rows.append({"activation": act, "family": family, "eta": eta,
                             "radius": spectra.spectral_radius(w_h[k]),
                             "norm": spectra.spectral_norm(w_h[k]),
                             "mean_log_norms": logs[k].mean(0).tolist(),
                             "rate": spectra.growth_rate(logs[k].mean(0), cfg.every),
                             "bound_margin": float(margin[k].max()),
                             "below_float32": int((logs[k, :, -1] < math.log(FLOAT32_TINY)).sum()),
                             "mean_derivative": float(df(pre[k]).mean())})
    return {"rows": rows}


def summarize_pascanu(cfg: PascanuConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per (activation, family, eta): the rate (mean and range over seeds), the worst bound
    margin, and the mean log-norm curve of every seed."""
    out: dict[tuple, dict] = {}
    rows = [r for s in seeds.values() for r in s["rows"]]
    for act in cfg.activations:
        for family in cfg.families:
            for eta in cfg.etas:
                rs = [r for r in rows if (r["activation"], r["family"], r["eta"]) == (act, family, eta)]
                rates = [r["rate"] for r in rs]
                out[(act, family, eta)] = {
                    "rate": float(np.mean(rates)), "rate_min": min(rates), "rate_max": max(rates),
                    "bound_margin": max(r["bound_margin"] for r in rs),
                    "radius": float(np.mean([r["radius"] for r in rs])),
                    "norm": float(np.mean([r["norm"] for r in rs])),
                    "below_float32": sum(r["below_float32"] for r in rs),
                    "mean_derivative": float(np.mean([r["mean_derivative"] for r in rs])),
                    "curves": [r["mean_log_norms"] for r in rs]}
    return {"settings": out, "gaps": list(range(cfg.every, cfg.steps + 1, cfg.every)),
            "sequences": cfg.batch * len(seeds)}


# --- R2: one shared W against T independent layers ---------------------------------------------

@dataclass(frozen=True)
class SharedConfig:
    n: int = 64  # width (hidden units, or units per layer)
    steps: int = 100  # T: time steps of the RNN, layers of the feed-forward net
    every: int = 5
    scales: tuple[float, ...] = (0.5, 0.7, 0.9, 1.0, 1.1, 1.4, 2.0)  # sigma: W ~ N(0, (gain sigma)^2 / n)
    nonlinearities: tuple[str, ...] = ("linear", "tanh", "relu")  # "linear": no activation

    def validate(self) -> None:
        if unknown := [a for a in self.nonlinearities if a not in GAIN]:
            raise ValueError(f"nonlinearities: unknown {unknown}; valid choices: {', '.join(GAIN)}")


def run_shared(cfg: SharedConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    """log ||dh_t/dh_0|| for t up to T through h_t = f(W_t h_{t-1}), from the same h_0 ~ N(0, I)
    and without further inputs: once with W_t = W_1 at every step (the RNN), once with a fresh
    draw W_t at every step (a feed-forward net of depth T). All scales run as one batch, on one
    base draw per step rescaled (common random numbers)."""
    gen = spectra.generator(seed)
    scales = torch.tensor(cfg.scales, dtype=DTYPE, device=device)[:, None, None]  # (S, 1, 1)
    rows = []
    for act in cfg.nonlinearities:
        f, df = _act(act)
        draw = lambda: spectra.gaussian(cfg.n, GAIN[act], gen).to(device) * scales  # (S, n, n)
        first = draw()
        h0 = torch.randn(cfg.n, generator=gen, dtype=DTYPE).to(device).expand(len(cfg.scales), -1)

        def jacobians(fresh: bool):
            h = h0  # (S, n)
            for t in range(cfg.steps):
                w = draw() if fresh and t > 0 else first  # (S, n, n)
                a = (w @ h[..., None])[..., 0]  # (S, n)
                h = f(a)
                yield df(a)[..., None] * w

        shared = spectra.log_norms(jacobians(False), every=cfg.every).cpu()  # (S, T // every)
        indep = spectra.log_norms(jacobians(True), every=cfg.every).cpu()
        for k, scale in enumerate(cfg.scales):
            rows.append({"activation": act, "scale": scale, **spectra.describe(first[k].cpu()),
                         "shared": shared[k].tolist(), "independent": indep[k].tolist(),
                         "shared_rate": spectra.growth_rate(shared[k], cfg.every),
                         "independent_rate": spectra.growth_rate(indep[k], cfg.every)})
    return {"rows": rows}


def summarize_shared(cfg: SharedConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per (activation, scale): log10 ||dh_T/dh_0|| of every seed for both arms, per-seed rates
    against log rho(W) and against the Lyapunov exponent of the independent product."""
    out: dict[tuple, dict] = {}
    ln10 = math.log(10)
    rows = [r for s in sorted(seeds) for r in seeds[s]["rows"]]
    for act in cfg.nonlinearities:
        for scale in cfg.scales:
            rs = [r for r in rows if (r["activation"], r["scale"]) == (act, scale)]
            out[(act, scale)] = {
                "shared_final": [r["shared"][-1] / ln10 for r in rs],  # decades
                "independent_final": [r["independent"][-1] / ln10 for r in rs],
                "shared_rate": [r["shared_rate"] for r in rs],
                "independent_rate": [r["independent_rate"] for r in rs],
                "radius": [r["radius"] for r in rs], "norm": [r["norm"] for r in rs],
                "max_entry": [r["max_entry"] for r in rs],
                "lyapunov": (math.exp(spectra.lyapunov_gaussian(cfg.n, scale)) if act == "linear"
                             else math.nan),
                "shared_curves": [r["shared"] for r in rs],
                "independent_curves": [r["independent"] for r in rs]}
    return {"settings": out, "t": list(range(cfg.every, cfg.steps + 1, cfg.every)),
            "steps": cfg.steps, "n": cfg.n, "seeds": len(seeds)}


# --- the chapter's one experiment -------------------------------------------------------------

@dataclass(frozen=True)
class PowersConfig:
    """The three measurements; R2 compares spreads over seeds, so it gets the most seeds, and
    the other two run only on the first `spectra_seeds` and `pascanu_seeds` seeds."""

    spectra: SpectraConfig = field(default_factory=SpectraConfig)
    pascanu: PascanuConfig = field(default_factory=PascanuConfig)
    shared: SharedConfig = field(default_factory=SharedConfig)
    spectra_seeds: int = 3
    pascanu_seeds: int = 3


def run_seed(cfg: PowersConfig, *, seed: int, device: str, progress: bool) -> dict[str, Any]:
    out = {"shared": run_shared(cfg.shared, seed=seed, device=device, progress=progress)}
    if seed < cfg.spectra_seeds:
        out["spectra"] = run_spectra(cfg.spectra, seed=seed, device=device, progress=progress)
    if seed < cfg.pascanu_seeds:
        out["pascanu"] = run_pascanu(cfg.pascanu, seed=seed, device=device, progress=progress)
    return out


def summarize(cfg: PowersConfig, seeds: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """{"spectra": ..., "pascanu": ..., "shared": ...}, each part's summary over its seeds."""
    part = lambda key: {s: out[key] for s, out in seeds.items() if key in out}
    return {"spectra": summarize_spectra(cfg.spectra, part("spectra")),
            "pascanu": summarize_pascanu(cfg.pascanu, part("pascanu")),
            "shared": summarize_shared(cfg.shared, part("shared"))}


PARTS = ("shared", "spectra", "pascanu")


def replicates(seeds: dict[int, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each part's seeds, a stratum of its own: the parts run on different numbers of seeds."""
    return {part: [seeds[k][part] for k in sorted(seeds) if part in seeds[k]] for part in PARTS}


def as_seeds(strata: dict[str, list[dict[str, Any]]]) -> dict[int, dict[str, Any]]:
    """Parts back into seeds 0..n-1, seed i holding the i-th replicate of every part that has one."""
    n = max(len(reps) for reps in strata.values())
    return {i: {part: reps[i] for part, reps in strata.items() if i < len(reps)} for i in range(n)}


register(Experiment(
    name="powers",
    chapter="powers",
    version=1,
    description="powers of W vs entries/radius/norm; Pascanu et al.'s bound; one W vs independent layers",
    configs={
        "smoke": PowersConfig(SpectraConfig(n=16, steps=60, radii=(0.5, 1.0, 2.0)),
                              PascanuConfig(n=16, steps=40, batch=2, etas=(0.5, 0.9, 1.25, 2.0)),
                              SharedConfig(n=16, steps=40, scales=(0.5, 1.0, 2.0)),
                              spectra_seeds=1, pascanu_seeds=2),
        "book": PowersConfig(),
        # a spectral norm (an SVD) per record dominates the cost at n = 256: records are sparse
        "paper": PowersConfig(
            SpectraConfig(n=256, steps=1000, every=10,
                          radii=(0.5, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 2.0)),
            PascanuConfig(n=256, inputs=32, steps=500, every=20, batch=16,
                          etas=(0.5, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0)),
            SharedConfig(n=256, steps=1000, every=20,
                         scales=(0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.4, 2.0)),
            spectra_seeds=10, pascanu_seeds=10)},
    seeds={"smoke": 5, "book": 6, "paper": 20},
    run_seed=run_seed,
    summarize=summarize,
    replicates=replicates,
    as_seeds=as_seeds,
))


# --- numbers the chapter quotes ---------------------------------------------------------------

def transient_peak(spectra_summary: dict[str, Any], seed: int = 0) -> dict[str, float]:
    """Peak of ||W^t|| for the non-normal matrix, the power where it peaks, and the first power
    after which ||W^t|| stays below 1."""
    r = next(x for x in spectra_summary["rows"] if x["family"] == "non_normal" and x["seed"] == seed)
    logs, t = np.array(r["log_norms"]), np.array(spectra_summary["t"])
    above = np.nonzero(logs >= 0)[0]
    return {"peak": float(np.exp(logs.max())), "t_peak": int(t[logs.argmax()]),
            "t_below_1": int(t[above[-1] + 1]) if len(above) and above[-1] + 1 < len(t) else -1,
            "radius": r["radius"], "norm": r["norm"]}


def rate_agreement(shared_summary: dict[str, Any], act: str = "linear") -> dict[str, float]:
    """Largest relative gap between the measured per-step factor and its prediction: rho(W) for
    the shared W, exp(lambda_1) for independent layers; and the mean of rho(W) / sigma."""
    rows = [(k[1], v) for k, v in shared_summary["settings"].items() if k[0] == act]
    shared = max(abs(r / p - 1) for _, v in rows for r, p in zip(v["shared_rate"], v["radius"]))
    indep = max(abs(r / v["lyapunov"] - 1) for _, v in rows for r in v["independent_rate"])
    excess = float(np.mean([p / (GAIN[act] * s) for s, v in rows for p in v["radius"]]))
    return {"shared": shared, "independent": indep, "radius_over_scale": excess}


def below_float32(spectra_summary: dict[str, Any], pascanu_summary: dict[str, Any],
                  shared_summary: dict[str, Any]) -> dict[str, int]:
    """How many measured norms fell below float32's smallest normal number (about 1.2e-38):
    a float32 computation would have rounded them to 0 or to denormals. Nothing here falls
    below float64's range, because products are kept in log space."""
    tiny = math.log(FLOAT32_TINY)
    return {
        "spectra": sum(min(r["log_norms"]) < tiny for r in spectra_summary["rows"]),
        "spectra_of": len(spectra_summary["rows"]),
        "pascanu": sum(v["below_float32"] for v in pascanu_summary["settings"].values()),
        "pascanu_of": pascanu_summary["sequences"] * len(pascanu_summary["settings"]),
        "shared": sum(x < tiny / math.log(10) for v in shared_summary["settings"].values()
                      for x in v["shared_final"] + v["independent_final"]),
        "shared_of": 2 * shared_summary["seeds"] * len(shared_summary["settings"])}
