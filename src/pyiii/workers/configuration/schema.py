"""JSON Schema checks with ``jsonschema`` (the draft is taken from ``$schema``, else 2020-12).

``jsonschema`` is imported on the first check, not at start-up: the worker always runs, and
most engines never see a ``configuration::register``.
"""

from __future__ import annotations

from typing import Any


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` is not a usable JSON Schema, or ``None``."""
    from jsonschema import exceptions, validators

    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        return f"invalid JSON Schema: {exc.message}"
    return None


def violations(schema: dict[str, Any], value: Any) -> list[str]:
    """Every violation of ``schema`` by ``value``, as ``<path>: <message>``, in path order."""
    from jsonschema import validators

    cls = validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{e.json_path}: {e.message}" for e in errors]
