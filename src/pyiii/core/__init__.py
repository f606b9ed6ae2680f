"""The public API of core: everything a built-in worker may use, and nothing else.

A worker (``workers/<name>/``, ``console/``, ``workers/base.py``, ``workers/event_triggers.py``)
imports from ``pyiii.core`` only, never from its modules; ``tests/unit/test_import_contract.py``
fails on any other core import. The transport and the engine runner use the modules directly.

The host
    :class:`Host` — what a worker receives instead of the engine: register and call functions,
    provide trigger types, bind, spawn, read-only registry views, health checks, shutdown steps,
    the telemetry frame sink, HTTP-invoked functions, data channels, the tracer.

Values a worker handles
    :class:`CallContext` (what an in-process handler knows about a call), ``InProcessHandler``,
    :class:`FunctionEntry` (a registered function), :class:`Binding` (a registered trigger),
    :class:`TriggerType`, :class:`Peer` (a remote worker connection, as ``CallContext.caller``
    and in :attr:`Host.connected_workers`; read it, change its metadata only through
    :meth:`Host.update_worker_metadata`), :class:`WorkerMetadata`, :class:`Channel`, ``EOF`` and
    ``ABORTED`` (a data channel, its end marker and its broken-off marker), :class:`HealthStatus`.

Errors
    :class:`FunctionError` (a wire error ``{code, message}``; raise it to answer with a code),
    :class:`TriggerRegistrationError` (a provider refuses a binding), ``error_codes`` (the wire
    error codes: ``error_codes.FORBIDDEN``, ...), ``bad_input(function_id, reason)`` (the
    ``deserialization_error`` a payload that does not fit is answered with) and
    ``decode_args(function_id, data, kind)`` (a payload converted to a msgspec type, or that error).

Namespaces
    ``DEFAULT_NAMESPACE``, ``is_blank_namespace``: the routing value stored next to an id
    (spec iii-0.23-0.25 §1.1).

Tracing
    :class:`Span`, :class:`PassThroughSpan`, :class:`SpanKind` (what ``Host.tracer.start_span``
    returns and takes), ``in_span`` (run work in a span that reports failures in its result).
    W3C ``traceparent`` / ``baggage`` helpers are the leaf module ``pyiii.w3c_trace``.
"""

from __future__ import annotations

from pyiii.core import errors as error_codes
from pyiii.core.channels import ABORTED, EOF, Channel
from pyiii.core.errors import FunctionError, TriggerRegistrationError, bad_input
from pyiii.core.functions import CallContext, FunctionEntry, InProcessHandler
from pyiii.core.health import HealthStatus
from pyiii.core.host import Host
from pyiii.core.inputs import decode_args
from pyiii.core.namespaces import DEFAULT as DEFAULT_NAMESPACE
from pyiii.core.namespaces import is_blank as is_blank_namespace
from pyiii.core.peer import Peer, WorkerMetadata
from pyiii.core.spans import PassThroughSpan, Span, SpanKind, in_span
from pyiii.core.triggers import Binding, TriggerType

__all__ = [
    "ABORTED",
    "DEFAULT_NAMESPACE",
    "EOF",
    "Binding",
    "CallContext",
    "Channel",
    "FunctionEntry",
    "FunctionError",
    "HealthStatus",
    "Host",
    "InProcessHandler",
    "PassThroughSpan",
    "Peer",
    "Span",
    "SpanKind",
    "TriggerRegistrationError",
    "TriggerType",
    "WorkerMetadata",
    "bad_input",
    "decode_args",
    "error_codes",
    "in_span",
    "is_blank_namespace",
]
