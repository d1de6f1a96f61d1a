"""Fan an experiment out over Ray: one task per unit of work (experiment, scale, seed).

Workers only compute (`experiments.run_unit`); the driver writes each finished seed into the
record under the store's lock (`results.add_seed`), so a lost worker costs its unit alone (Ray
retries it), and seeds already stored, by this or any other process, are not run again.
Without `address` a Ray instance is started on this machine, so tests take the same path as a
cluster run. Run: ``python -m relu_tanh run krizhevsky --scale paper --device cuda --launcher ray
--address auto``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from . import experiments
from .store import results

LAUNCHERS = ("local", "ray")


def run_ray(name: str, scale: str, *, seeds: int | None = None, device: str = "cpu",
            root: Path | None = None, address: str | None = None, force: bool = False,
            max_retries: int = 3, progress: bool = False, **overrides: Any) -> experiments.Result:
    """`experiments.run` with each missing seed as a Ray task; returns the merged record."""
    import ray  # an optional engine: imported only by the launcher that needs it

    job = experiments.plan(name, scale, seeds=seeds, device=device, root=root, force=force,
                           **overrides)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=progress,
                 runtime_env={"env_vars": _forwarded_env()})
    try:
        gpus = 1 if device.startswith("cuda") else 0
        task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=max_retries)(experiments.run_unit)
        pending = {task.remote(name, job.scale, seed, device, **overrides): seed for seed in job.missing}
        done = job.done
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            seed = pending.pop(ready[0])
            out, prov = ray.get(ready[0])
            done = results.add_seed(job.path, job.head, seed, out, prov)
            if progress:
                print(f"{name} seed {seed}: {out['wall_s']:.1f} s on {prov['device_name']} "
                      f"({len(pending)} left)", flush=True)
    finally:
        if started:
            ray.shutdown()
    return job.result(done)


def _forwarded_env() -> dict[str, str]:
    """The library's settings (scale, folders, data) travel to the workers."""
    return {k: v for k, v in os.environ.items() if k.startswith("RELU_TANH_") or k == "PYTHONPATH"}


def runner(launcher: str) -> Callable[..., experiments.Result]:
    """The run function of a launcher name; an unknown one lists the valid choices."""
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; valid choices: {', '.join(LAUNCHERS)}")
    return experiments.run if launcher == "local" else run_ray
