"""The hardware a timing belongs to: cache sizes (for the cost figures' cache lines), the CPU
model, or the GPU's multiprocessors and clocks, read where the machine reports them; and a
one-line description of it for prose. Anything that cannot be read is left out, never raised."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

CACHE_DIR = Path("/sys/devices/system/cpu/cpu0/cache")
NVIDIA_SMI_FIELDS = ("clocks.sm", "clocks.mem", "clocks.max.sm", "clocks.max.mem",
                     "driver_version", "pstate", "power.limit")


def hardware_info(device: str) -> dict[str, Any]:
    """What timings depend on beyond the provenance record: the cache sizes (for the figures'
    cache lines), the CPU model, or the GPU's multiprocessors and clocks when readable.
    Anything that cannot be read is left out, never raised."""
    dev = torch.device(device)
    return _cuda_info(dev) if dev.type == "cuda" else _cpu_info()


def _cpu_info() -> dict[str, Any]:
    info: dict[str, Any] = {"kind": "cpu", "model": _cpu_model(), "logical_cores": os.cpu_count()}
    caches: dict[str, int] = {}
    for index in sorted(CACHE_DIR.glob("index*")):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = _parse_size((index / "size").read_text().strip())
        except (OSError, ValueError):
            continue
        if kind != "Instruction":
            caches[f"L{level}"] = size
    info["cache_bytes"] = caches
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _parse_size(text: str) -> int:
    """'32K', '1024K', '32M' (sysfs cache sizes) -> bytes."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def _cuda_info(dev: torch.device) -> dict[str, Any]:
    props = torch.cuda.get_device_properties(dev)
    info: dict[str, Any] = {"kind": "cuda", "name": props.name,
                            "capability": f"{props.major}.{props.minor}",
                            "total_memory_bytes": props.total_memory,
                            "multiprocessors": props.multi_processor_count,
                            "cuda": torch.version.cuda}
    for attr, key in (("L2_cache_size", "l2_bytes"), ("clock_rate", "sm_clock_khz"),
                      ("memory_clock_rate", "memory_clock_khz"), ("memory_bus_width", "memory_bus_bits")):
        value = getattr(props, attr, None)
        if isinstance(value, int) and value > 0:
            info[key] = value
    info["cache_bytes"] = {"L2": info["l2_bytes"]} if "l2_bytes" in info else {}
    uuid = str(getattr(props, "uuid", "") or "")
    ids = ([uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"] if uuid else []) + [str(dev.index or 0)]
    return info | next(filter(None, map(_nvidia_smi, ids)), {})


def _nvidia_smi(gpu: str) -> dict[str, Any]:
    """Current and maximum clocks (MHz), driver, power limit of GPU `gpu` (a UUID, which names
    the same GPU as torch does whatever CUDA_VISIBLE_DEVICES says, or an index); {} on failure."""
    try:
        out = subprocess.run(["nvidia-smi", f"--id={gpu}", f"--query-gpu={','.join(NVIDIA_SMI_FIELDS)}",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    values = [v.strip() for v in out[0].split(",")] if out else []
    if len(values) != len(NVIDIA_SMI_FIELDS):
        return {}
    return {"nvidia_smi": {k.replace(".", "_"): _number(v) if k.startswith(("clocks", "power")) else v
                           for k, v in zip(NVIDIA_SMI_FIELDS, values)}}


def _number(text: str) -> float | str:
    """A clock (MHz) or power (W) reading; '[N/A]' and the like stay text."""
    try:
        return float(text)
    except ValueError:
        return text


def describe_hardware(hw: dict[str, Any]) -> str:
    """One line for prose: the CPU model and caches, or the GPU with its clocks when known."""
    mib = lambda n: f"{n / 2**20:g} MiB"
    caches = ", ".join(f"{k} {mib(v)}" for k, v in cache_lines(hw).items())
    if hw.get("kind") != "cuda":
        return f"{hw.get('model', 'CPU')}, {hw.get('logical_cores', '?')} logical cores, {caches}"
    parts = [hw.get("name", "GPU"), f"{hw.get('multiprocessors', '?')} multiprocessors", caches]
    smi = hw.get("nvidia_smi", {})
    num = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    for key, what in (("sm", "SM clock"), ("mem", "memory clock")):
        if isinstance(smi.get(f"clocks_{key}"), float):
            parts.append(f"{what} {num(smi[f'clocks_{key}'])} MHz "
                         f"(max {num(smi.get(f'clocks_max_{key}', '?'))})")
    if smi.get("driver_version"):
        parts.append(f"driver {smi['driver_version']}")
    return ", ".join(p for p in parts if p)


def cache_lines(hardware: dict[str, Any]) -> dict[str, int]:
    """{'L2': bytes, 'L3': bytes, ...} of the data caches worth marking on a size axis (L2 up)."""
    caches = hardware.get("cache_bytes", {})
    return {k: v for k, v in sorted(caches.items()) if k != "L1"}
