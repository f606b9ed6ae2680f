"""Reading and building the observe fields of frames (spec iii-0.23-0.25 §5.3).

Reading is lenient, as the official SDK's: a malformed ``caller`` is no caller, non-string members
are dropped, a ``parent`` inside ``parent`` is dropped, a non-positive or non-integer
``observe_depth`` is 0, an ``activation`` without a string ``observer_id`` is none. Building sends
only what the caller set; the engine applies the defaults.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from .codec import dumps
from .invocation_context import ActiveInvocation

_CALLER_FIELDS: Final = ("worker_id", "worker_name", "function_id", "invocation_id")

#: What an observer ships to its target when ``capture`` is not given (spec §5.3.1).
DEFAULT_CAPTURE: Final = ("input", "output", "caller")
CAPTURES: Final = frozenset({"input", "output", "error", "caller", "metadata"})


def _strings(value: dict[str, Any]) -> dict[str, Any]:
    return {k: value[k] for k in _CALLER_FIELDS if isinstance(value.get(k), str)}


def decode_caller(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    caller = _strings(value)
    parent = value.get("parent")
    if isinstance(parent, dict):
        stripped = _strings(parent)
        if stripped:
            caller["parent"] = stripped
    return caller or None


def decode_activation(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not isinstance(value.get("observer_id"), str):
        return None
    activation = {"observer_id": value["observer_id"]}
    if isinstance(value.get("activation_id"), str):
        activation["activation_id"] = value["activation_id"]
    return activation


def decode_observe_depth(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return 0
    return value


def decode_reason(value: Any) -> dict[str, str] | None:
    """An ErrorBody ``{code, message}``; a missing part is filled so it always reads well."""
    if not isinstance(value, dict):
        return None
    code = value.get("code")
    message = value.get("message")
    code = code if isinstance(code, str) and code else "UNKNOWN"
    return {"code": code, "message": message if isinstance(message, str) else code}


def caller_for(ctx: ActiveInvocation) -> dict[str, Any]:
    """The ``caller`` an outgoing call asserts from inside a handler: that handler's function and
    invocation, and its own caller (one level) as ``parent``. The engine stamps the worker."""
    caller: dict[str, Any] = {"function_id": ctx.function_id, "invocation_id": ctx.invocation_id}
    if ctx.caller:
        parent = _strings(ctx.caller)
        if parent:
            caller["parent"] = parent
    return caller


def snapshot(value: Any, what: str) -> Any:
    """A deep copy of a JSON value, checked to be JSON now (``TypeError`` otherwise), so a caller
    mutating its dict afterwards cannot change what is replayed."""
    try:
        dumps(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"observe: {what} is not JSON: {exc}") from None
    return copy.deepcopy(value)


NamespaceFor = Callable[[str, str | None], str | None]

_SOURCE_FIELDS: Final = ("args", "filters", "on", "capture", "deliver")
_OPTION_FIELDS: Final = ("metadata", "max_fires", "expires_in_ms", "max_in_flight")


def build_observe_message(
    observer_id: str, source: dict[str, Any], target: Any, options: dict[str, Any], namespace_for: NamespaceFor
) -> dict[str, Any]:
    """The ``observe`` frame: ``namespace_for(function_id, explicit)`` fills the namespaces as for
    a call (explicit > ``default`` for ``engine::*`` > the worker's > omitted)."""
    function_id = source["function_id"]
    src: dict[str, Any] = {"function_id": function_id}
    namespace = namespace_for(function_id, source.get("namespace"))
    if namespace is not None:
        src["namespace"] = namespace
    for key in _SOURCE_FIELDS:
        if source.get(key) is not None:
            src[key] = snapshot(source[key], f"source.{key}")
    target_id = target["function_id"] if isinstance(target, dict) else target
    tgt: dict[str, Any] = {"function_id": target_id}
    target_ns = namespace_for(target_id, target.get("namespace") if isinstance(target, dict) else None)
    if target_ns is not None:
        tgt["namespace"] = target_ns
    message: dict[str, Any] = {"type": "observe", "id": observer_id, "source": src, "target": tgt}
    for key in _OPTION_FIELDS:
        if options.get(key) is not None:
            message[key] = snapshot(options[key], f"options.{key}")
    return message
