"""Checking an ``observe`` frame field by field (spec iii-0.23-0.25 §5.3.1, §5.4 steps 2-3).

The SDK validates almost nothing, so every field is checked here and a bad one is a typed
refusal naming it: ``INVALID_ARGS`` for types and values, ``INVALID_NAMESPACE`` for a blank
namespace, ``INVALID_FILTER`` for the filter. ``null`` in an optional field is absent (§5.2).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from pyiii import protocol as p
from pyiii.core.namespaces import DEFAULT, is_blank
from pyiii.core.observe.filters import FilterError, FilterLimits, compile_filter
from pyiii.core.observe.model import CAPTURE_PARTS, DEFAULT_CAPTURE, DELIVER_MODES, ON_ACCEPTS, ObserveSpec

INVALID_ARGS: Final = "INVALID_ARGS"
INVALID_NAMESPACE: Final = "INVALID_NAMESPACE"
INVALID_FILTER: Final = "INVALID_FILTER"
#: Largest ``max_fires`` / ``expires_in_ms`` / ``max_in_flight`` (JSON's exact integers; a
#: bigger one would overflow the expiry timer).
MAX_COUNT: Final = 2**53
#: Longest observer / function id accepted (ids are keys of engine tables).
MAX_ID_LENGTH: Final = 1024

_SOURCE_KEYS: Final = frozenset(("function_id", "namespace", "args", "filters", "capture", "on", "deliver"))
_TARGET_KEYS: Final = frozenset(("function_id", "namespace"))


class ObserveRefusal(Exception):
    """Why an ``observe`` is refused: ``code`` and ``message`` go to ``observeresult.error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def observer_id(msg: p.Observe) -> str | None:
    """The frame's id if it is a usable string (no reply can be addressed otherwise)."""
    value = _decode(msg.id, "id")
    return value if isinstance(value, str) and value.strip() and len(value) <= MAX_ID_LENGTH else None


def parse_observe(msg: p.Observe, oid: str, limits: FilterLimits | None = None) -> tuple[ObserveSpec, list[str]]:
    """The frame as a spec and its warnings (unknown members, ignored); raises ObserveRefusal."""
    warnings: list[str] = []
    source = _object(_decode(msg.source, "source"), "source", required=True)
    target = _decode(msg.target, "target")
    if isinstance(target, str):  # the API's bare-string target (sent as an object by the SDK)
        target = {"function_id": target}
    target = _object(target, "target", required=True)
    warnings += [f"source.{k} is not an observe field: ignored" for k in source if k not in _SOURCE_KEYS]
    warnings += [f"target.{k} is not an observe field: ignored" for k in target if k not in _TARGET_KEYS]
    source_id = _function_id(source.get("function_id"), "source.function_id")
    target_id = _function_id(target.get("function_id"), "target.function_id")
    filters = source.get("filters")
    try:
        compiled = compile_filter({} if filters is None else filters, limits or FilterLimits())
    except FilterError as exc:
        raise ObserveRefusal(INVALID_FILTER, exc.message) from None
    args = source.get("args")
    if args is not None and not isinstance(args, dict):
        raise ObserveRefusal(INVALID_ARGS, "source.args must be an object")
    metadata = _decode(msg.metadata, "metadata")
    spec = ObserveSpec(
        id=oid,
        source_ns=_namespace(source.get("namespace"), "source.namespace"),
        source_id=source_id,
        target_ns=_namespace(target.get("namespace"), "target.namespace"),
        target_id=target_id,
        filter=compiled,
        capture=_capture(source.get("capture")),
        on=_choice(source.get("on"), "source.on", ON_ACCEPTS, "success"),
        deliver=_choice(source.get("deliver"), "source.deliver", DELIVER_MODES, "envelope"),
        args=args,
        metadata=metadata,
        has_metadata=metadata is not None,
        max_fires=_count(_decode(msg.max_fires, "max_fires"), "max_fires"),
        expires_in_ms=_count(_decode(msg.expires_in_ms, "expires_in_ms"), "expires_in_ms"),
        max_in_flight=_count(_decode(msg.max_in_flight, "max_in_flight"), "max_in_flight"),
    )
    return spec, warnings


def _decode(raw: msgspec.Raw, what: str) -> Any:
    try:
        return p.from_raw(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        raise ObserveRefusal(INVALID_ARGS, f"{what} cannot be decoded") from None


def _object(value: Any, what: str, *, required: bool) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ObserveRefusal(INVALID_ARGS, f"{what} must be an object")
    return value


def _function_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ObserveRefusal(INVALID_ARGS, f"{what} must be a non-blank string")
    if len(value) > MAX_ID_LENGTH:
        raise ObserveRefusal(INVALID_ARGS, f"{what} is longer than {MAX_ID_LENGTH} characters")
    return value


def _namespace(value: Any, what: str) -> str:
    if value is None:
        return DEFAULT
    if not isinstance(value, str):
        raise ObserveRefusal(INVALID_ARGS, f"{what} must be a string")
    if is_blank(value):
        raise ObserveRefusal(INVALID_NAMESPACE, f"{what} must not be blank")
    return value


def _capture(value: Any) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_CAPTURE
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ObserveRefusal(INVALID_ARGS, "source.capture must be an array of strings")
    unknown = [v for v in value if v not in CAPTURE_PARTS]
    if unknown:
        raise ObserveRefusal(
            INVALID_ARGS, f"source.capture: unknown part {unknown[0]!r} (allowed: {', '.join(sorted(CAPTURE_PARTS))})"
        )
    return tuple(dict.fromkeys(value))


def _choice(value: Any, what: str, allowed: Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        raise ObserveRefusal(INVALID_ARGS, f"{what} must be one of {', '.join(sorted(allowed))}")
    return value


def _count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise ObserveRefusal(INVALID_ARGS, f"{what} must be a positive integer up to 2^53")
    return value
