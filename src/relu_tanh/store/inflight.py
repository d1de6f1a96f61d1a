"""Seeds in progress: which process is computing which seed of a record, so that two runs of
the same command split the seeds instead of computing each twice.

The claims live in `.SCALE.json.claims` beside the record (JSON: seed -> pid, host, start) and
are read and written only under the record's lock (`results.locked`). A process claims a seed
before computing it and drops the claim once the seed is stored or has failed. A claim whose
process is gone (same host, that pid no longer running, or running a later process) is taken
over; a claim from another host is respected, since its process cannot be seen from here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import results


@dataclass(frozen=True)
class Next:
    """What `claim_next` found: the seed now claimed by this process (None: none is free), the
    stored seeds as `results.current_seeds` returns them, and the missing seeds that other live
    processes hold."""

    seed: int | None
    done: dict[str, Any]
    held: tuple[int, ...]


def claims_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.claims")


def claim_next(path: Path, head: dict[str, Any], seeds: list[int], force: bool = False) -> Next:
    """Under the record's lock: the first of `seeds` neither stored nor held by another live
    process, claimed for this one."""
    with results.locked(path):
        done = results.current_seeds(path, head, force)
        claims = _live(path, read_claims(path), done["seeds"])
        missing = [s for s in seeds if str(s) not in done["seeds"]]
        held = tuple(s for s in missing if str(s) in claims and not _mine(claims[str(s)]))
        free = next((s for s in missing if s not in held), None)
        if free is not None:
            claims[str(free)] = me()
        _write(path, claims)
    return Next(free, done, held)


def release(path: Path, seed: int) -> None:
    """Drop this process's claim on `seed` (stored, or failed)."""
    with results.locked(path):
        claims = read_claims(path)
        if _mine(claims.get(str(seed), {})):
            del claims[str(seed)]
            _write(path, claims)


def read_claims(path: Path) -> dict[str, dict[str, Any]]:
    """The claims on `path`'s seeds. They only prevent duplicate work, so a damaged file counts
    as none (the worst case is a seed computed twice, never one lost)."""
    try:
        claims = json.loads(claims_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        results.notice(f"{claims_path(path)} is damaged; ignoring the claims in it")
        return {}
    if not isinstance(claims, dict):
        return {}
    return {s: c for s, c in claims.items() if isinstance(c, dict)
            and isinstance(c.get("pid"), int) and isinstance(c.get("host"), str)}


def me() -> dict[str, Any]:
    """This process, as a claim records it."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "ticks": _start_ticks(os.getpid()),
            "start": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def alive(claim: dict[str, Any]) -> bool:
    """Whether the claim's process may still be running (always, for another host's)."""
    if claim["host"] != socket.gethostname():
        return True
    try:
        os.kill(claim["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    ticks = _start_ticks(claim["pid"])
    return ticks is None or claim.get("ticks") in (None, ticks)  # a reused pid is another process


def _mine(claim: dict[str, Any]) -> bool:
    return claim.get("pid") == os.getpid() and claim.get("host") == socket.gethostname()


def _live(path: Path, claims: dict[str, dict[str, Any]], stored: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`claims` without those of stored seeds and of processes that are gone (said once each)."""
    out = {}
    for seed, claim in claims.items():
        if seed in stored:
            continue
        if not _mine(claim) and not alive(claim):
            results.notice(f"seed {seed} of {path} was claimed by pid {claim['pid']} on "
                           f"{claim['host']} (since {claim.get('start')}), which is gone; "
                           f"taking it over")
            continue
        out[seed] = claim
    return out


def _write(path: Path, claims: dict[str, dict[str, Any]]) -> None:
    if claims:
        results.write_atomic(claims_path(path), claims)
    else:
        claims_path(path).unlink(missing_ok=True)


def _start_ticks(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
