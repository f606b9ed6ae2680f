"""The one exception type callers of ``trigger()`` need to know about."""

from __future__ import annotations

from typing import Any


class InvocationError(Exception):
    """A call made through the SDK failed.

    ``code`` names the category (``TIMEOUT``, ``SHUTDOWN``, ``FORBIDDEN``,
    ``function_not_found``, ``invocation_failed`` ...). ``stacktrace`` is the remote
    traceback when a handler raised; it is kept out of ``str(err)`` on purpose because it
    may leak internal paths.
    """

    def __init__(
        self,
        code: str,
        message: str,
        function_id: str | None = None,
        stacktrace: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.function_id = function_id
        self.stacktrace = stacktrace
        self.invocation_id = invocation_id



class ForwardedError(InvocationError):
    """Raised by a handler, answers the call with this ``code`` and ``message`` instead of
    ``invocation_failed`` (any other exception, an ``InvocationError`` included, gives
    ``invocation_failed`` as in iii-sdk). For handlers that pass on the answer of a call made
    elsewhere, like pyiii's bridge to another engine."""


def error_from_wire(
    error: Any, *, function_id: str | None, invocation_id: str | None
) -> InvocationError:
    """Turn an ``ErrorBody``-shaped value into an :class:`InvocationError`.

    Anything malformed becomes code ``UNKNOWN`` so a caller never sees a raw dict repr.
    """
    if not isinstance(error, dict):
        return InvocationError(
            "UNKNOWN", str(error), function_id=function_id, invocation_id=invocation_id
        )
    code = error.get("code")
    message = error.get("message")
    stacktrace = error.get("stacktrace")
    return InvocationError(
        code if isinstance(code, str) else "UNKNOWN",
        message if isinstance(message, str) else "<no message>",
        function_id=function_id,
        stacktrace=stacktrace if isinstance(stacktrace, str) else None,
        invocation_id=invocation_id,
    )


class ObserveRejection(Exception):
    """An observer was refused, or an owner refuses one.

    Raised by ``ObserverHandle.ready()`` with the engine's or the owner's ``code``
    (``INVALID_ARGS``, ``INVALID_FILTER``, ``FORBIDDEN``, ``NOT_OBSERVABLE``, ``UNSUPPORTED`` ...).
    Raised by an ``on_observer_added`` hook, it rejects the observer with this ``code`` and
    ``message`` (any other exception rejects with ``OBSERVE_REJECTED``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
