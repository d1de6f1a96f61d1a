"""The shapes of what `results/` holds, as JSON Schema: a results record (RECORD) and one run of
Figure 1's spans (RUN, `experiments.krizhevsky_units`). Every read and every write is checked
(`check`), so a file of the wrong shape is named in one line before anything uses it.

jsonschema rather than pydantic: the records are plain JSON written by several modules, the
schema is itself a JSON document that the README shows as the format, and jsonschema is already
in the pinned environment (Jupyter Book needs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from .scales import SCALES

SEED_KEY = {"pattern": "^(0|[1-9][0-9]*)$"}  # seeds are stored under their decimal string
PROVENANCE = {
    "type": "object",
    "properties": {
        "git_commit": {"type": "string"},
        "device": {"type": "string"},
        "torch_threads": {"type": "integer", "minimum": 1},
        "date": {"type": "string"},
        "wall_s": {"type": ["number", "null"]},
    },
}
RECORD = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "results record: results/EXPERIMENT/SCALE.json",
    "type": "object",
    "required": ["experiment", "scale", "config", "seeds"],
    "properties": {
        "experiment": {"type": "string", "minLength": 1},
        "scale": {"enum": list(SCALES)},
        "config": {"type": "object"},  # the config dataclass as JSON (tuples as lists)
        "version": {"type": "integer", "minimum": 0},  # absent: made before versions (0)
        "provenance": PROVENANCE,  # of the latest seed
        "seeds": {"type": "object", "propertyNames": SEED_KEY,
                  "additionalProperties": {"type": "object"}},  # seed -> run_seed's output
        "seed_provenance": {"type": "object", "propertyNames": SEED_KEY,
                            "additionalProperties": PROVENANCE},
    },
}
ERRORS = {"type": "array", "items": {"type": ["number", "null"]}}
RUN = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "one Figure 1 run: results/krizhevsky/paper-runs/KEY.json",
    "type": "object",
    "required": ["run", "identity", "history", "spans", "finished", "checkpoint"],
    "properties": {
        "run": {"type": "object", "required": ["variant", "activation", "lr", "seed"],
                "properties": {"variant": {"type": "string"}, "activation": {"type": "string"},
                               "lr": {"type": "number", "exclusiveMinimum": 0},
                               "seed": {"type": "integer", "minimum": 0},
                               "images": {"type": ["integer", "null"], "minimum": 1}},
                "additionalProperties": False},
        "identity": {"type": "object"},
        "data": {"type": "string"},
        "finished": {"type": "boolean"},
        "checkpoint": {"type": ["string", "null"]},
        "history": {"type": "object", "required": ["epoch_train_error", "diverged"],
                    "properties": {"epoch_train_error": ERRORS, "epoch_test_error": ERRORS,
                                   "epoch_seconds": ERRORS, "diverged": {"type": "boolean"}}},
        "spans": {"type": "array", "minItems": 1, "items": {
            "allOf": [PROVENANCE],
            "required": ["wall_s", "epochs", "torch_threads"],
            "properties": {"epochs": {"type": "array", "items": {"type": "integer", "minimum": 0},
                                      "minItems": 2, "maxItems": 2}}}},
    },
}
VALIDATORS = {id(s): jsonschema.Draft202012Validator(s) for s in (RECORD, RUN)}


class SchemaError(ValueError):
    """A file that is JSON but not of its schema's shape; the message is one line."""


def problem(instance: Any, schema: dict[str, Any] = RECORD) -> str | None:
    """What is wrong with `instance` under `schema`, in a few words; None if nothing."""
    err = jsonschema.exceptions.best_match(VALIDATORS[id(schema)].iter_errors(instance))
    if err is None:
        return None
    where = "/".join(map(str, err.absolute_path)) or "the top level"
    message = " ".join(err.message.split())
    return f"{where}: {message[:117] + '...' if len(message) > 120 else message}"


def check(instance: Any, path: Path, schema: dict[str, Any] = RECORD) -> dict[str, Any]:
    """`instance` if it has the shape of `schema`; else SchemaError naming `path` and the fault."""
    why = problem(instance, schema)
    if why is not None:
        raise SchemaError(f"{path} is not a {schema['title'].split(':')[0]} ({why})")
    return instance
