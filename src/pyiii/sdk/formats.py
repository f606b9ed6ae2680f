"""JSON Schemas for ``request_format``/``response_format`` derived from type hints.

Only what maps unambiguously is described (primitives, Optional, list, dict, pydantic
models); anything else yields no schema rather than a wrong one.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, get_args, get_origin, get_type_hints

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def is_pydantic_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and callable(getattr(annotation, "model_json_schema", None))


def _optional_inner(annotation: Any) -> Any | None:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(args) == 2 and len(rest) == 1:
            return rest[0]
    return None


def _schema(annotation: Any) -> dict[str, Any] | None:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    inner = _optional_inner(annotation)
    if inner is not None:
        schema = _schema(inner)
        if schema is not None and "type" in schema:
            schema["type"] = [schema["type"], "null"]
        return schema
    if annotation is type(None) or annotation is None:
        return {"type": "null"}
    if annotation in _PRIMITIVES:
        return {"type": _PRIMITIVES[annotation]}
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is list or annotation is list:
        out: dict[str, Any] = {"type": "array"}
        item = _schema(args[0]) if args else None
        if item is not None:
            out["items"] = item
        return out
    if origin is dict or annotation is dict:
        out = {"type": "object"}
        value = _schema(args[1]) if len(args) >= 2 else None
        if value is not None:
            out["additionalProperties"] = value
        return out
    if is_pydantic_model(annotation):
        model_schema: dict[str, Any] = annotation.model_json_schema()
        return model_schema
    return None


def python_type_to_format(annotation: Any) -> dict[str, Any] | None:
    """A JSON Schema (with ``$schema``) for a type, or ``None`` when it has no clear one."""
    schema = _schema(annotation)
    if schema is not None:
        schema["$schema"] = JSON_SCHEMA_DIALECT
    return schema


def _hints(func: Any) -> dict[str, Any]:
    try:
        return get_type_hints(func)
    except Exception:  # unresolvable hints: no schema, no crash
        return {}


def first_param_annotation(func: Any) -> Any:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return inspect.Parameter.empty
    if not params:
        return inspect.Parameter.empty
    return _hints(func).get(params[0].name, inspect.Parameter.empty)


def extract_request_format(func: Any) -> dict[str, Any] | None:
    return python_type_to_format(first_param_annotation(func)) if callable(func) else None


def extract_response_format(func: Any) -> dict[str, Any] | None:
    if not callable(func):
        return None
    return python_type_to_format(_hints(func).get("return", inspect.Parameter.empty))


def resolve_format(fmt: Any) -> Any:
    """A class given as a format (e.g. a pydantic model) becomes its JSON Schema."""
    if isinstance(fmt, type):
        return python_type_to_format(fmt)
    dump = getattr(fmt, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    return fmt
