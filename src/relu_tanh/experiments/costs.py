"""What one unit (seed) of each experiment costs, per scale and device class: seconds, measured
once (the first unit of a fresh process, timed around `experiments.run`, rounded up) and
declared here beside the configs.

`paper` starts a unit only if its expected time fits what is left of the budget. Before it has
timed one of the experiment's units itself, it expects the larger of the cost declared here and
the mean `wall_s` of the seeds stored from the same device class (either one alone if only one
exists); a unit with neither is refused, since nothing says it fits. A cost changes with the machine: these were measured on the project's 2-core
x86-64 CPU (torch 2.13, the threads each config sets) while two Figure 1 trainings ran beside
them, so they lean high. To add or update one, time a seed outside any budget,
``time python -m relu_tanh run NAME --scale SCALE --device DEVICE --seeds 1`` (into an empty
``RELU_TANH_RESULTS``). Figure 1 at paper scale runs in spans with
estimates of its own (`krizhevsky_units.epoch_seconds`).
"""

from __future__ import annotations

import torch

# a fresh process's first unit (imports, data, plan and provenance included), 2026-12-07
SMOKE_CPU = {"cost_micro": 2.2, "cost_step": 3.8, "debate": 8.9, "derivatives": 2.0,
             "gates": 4.4, "krizhevsky": 17.0, "powers": 5.8, "saturation": 17.0,
             "sparsity": 15.0, "through_time": 4.0, "vanishing_init": 12.0,
             "vanishing_train": 28.0}
UNIT_SECONDS: dict[tuple[str, str], dict[str, float]] = {  # (scale, device class) -> name -> s
    ("smoke", "cpu"): SMOKE_CPU,
    ("paper", "cpu"): {"derivatives": 34.0},
}


def device_class(device: str) -> str:
    """cpu, cuda or mps: what a declared cost is measured on."""
    return torch.device(device).type


def declared(name: str, scale: str, device: str) -> float | None:
    """The declared seconds of one unit of `name` at `scale` on `device`'s class, if measured."""
    return UNIT_SECONDS.get((scale, device_class(device)), {}).get(name)
