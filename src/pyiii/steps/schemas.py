"""Schemas in step configs: a pydantic model class or a JSON Schema dict.

Pydantic models validate and convert (the handler gets a model instance). JSON Schema dicts
validate with the optional ``jsonschema`` package when it is installed; without it they are
only documentation (a warning is logged once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("pyiii.steps")
_warned_no_jsonschema = False


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class SchemaError(ValueError):
    """The input does not match the schema; ``errors`` names each failing field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.path or '<root>'}: {e.message}" for e in errors))


def is_model(schema: Any) -> bool:
    return isinstance(schema, type) and callable(getattr(schema, "model_validate", None))


def to_json_schema(schema: Any) -> Any:
    """A JSON-safe description of ``schema`` (for function metadata and request formats)."""
    if schema is None:
        return None
    if is_model(schema):
        return schema.model_json_schema()
    if isinstance(schema, dict):
        return {str(k): to_json_schema(v) if isinstance(v, type) else v for k, v in schema.items()}
    return None


def validate(schema: Any, value: Any) -> Any:
    """``value`` checked against ``schema`` (converted for models); raises :class:`SchemaError`."""
    if schema is None:
        return value
    if is_model(schema):
        from pydantic import ValidationError

        try:
            return schema.model_validate(value)
        except ValidationError as exc:
            errors = [
                FieldError(".".join(str(p) for p in err["loc"]), str(err["msg"])) for err in exc.errors()
            ]
            raise SchemaError(errors) from None
    if isinstance(schema, dict):
        _validate_json_schema(schema, value)
    return value


def _validate_json_schema(schema: dict[str, Any], value: Any) -> None:
    global _warned_no_jsonschema
    try:
        import jsonschema
    except ImportError:
        if not _warned_no_jsonschema:
            _warned_no_jsonschema = True
            log.warning("JSON Schema dicts are not validated: install `jsonschema` to validate them")
        return
    validator = jsonschema.Draft202012Validator(schema)
    errors = [
        FieldError(".".join(str(p) for p in err.absolute_path), err.message)
        for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        raise SchemaError(errors)
