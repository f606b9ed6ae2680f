"""Errors that travel on the wire as ``ErrorBody`` (spec/protocol.md §3.9)."""

from __future__ import annotations

from typing import Final

FUNCTION_NOT_FOUND: Final = "function_not_found"
INVOCATION_STOPPED: Final = "invocation_stopped"
INVOCATION_ERROR: Final = "invocation_error"
INVOCATION_FAILED: Final = "invocation_failed"
INVOCATION_TIMEOUT: Final = "invocation_timeout"
CHANNEL_SEND_FAILED: Final = "channel_send_failed"
ENQUEUE_ERROR: Final = "enqueue_error"
TRIGGER_REGISTRATION_FAILED: Final = "trigger_registration_failed"
DESERIALIZATION_ERROR: Final = "deserialization_error"
SERIALIZATION_ERROR: Final = "serialization_error"
INVALID_FRAME: Final = "invalid_frame"
PAYLOAD_TOO_DEEP: Final = "payload_too_deep"
FORBIDDEN: Final = "FORBIDDEN"
NOT_FOUND: Final = "NOT_FOUND"
INVALID_ARGUMENTS: Final = "INVALID_ARGUMENTS"
LIMIT_EXCEEDED: Final = "limit_exceeded"
#: A call or result larger than the receiving worker accepts (the code the SDKs use themselves,
#: spec iii-0.23-0.25 §2.4).
PAYLOAD_TOO_LARGE: Final = "payload_too_large"
#: 0.23+ namespaces (spec iii-0.23-0.25 §1.12): a namespace named and left blank.
INVALID_NAMESPACE: Final = "INVALID_NAMESPACE"
#: ``registrationrejected`` codes (§4).
FUNCTION_NAMESPACE_CONFLICT: Final = "FUNCTION_NAMESPACE_CONFLICT"
WORKER_NAMESPACE_CONFLICT: Final = "WORKER_NAMESPACE_CONFLICT"


class FunctionError(Exception):
    """A function failed with a wire error ``{code, message, stacktrace?}``.

    In-process handlers raise it to answer with a specific code; the invoker raises it to
    in-process callers when the target failed.
    """

    def __init__(self, code: str, message: str, stacktrace: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.stacktrace = stacktrace


def bad_input(function_id: str, reason: object) -> FunctionError:
    """A payload ``function_id`` cannot take, answered with the reference's code and wording."""
    return FunctionError(DESERIALIZATION_ERROR, f"Failed to deserialize input for {function_id}: {reason}")


class TriggerRegistrationError(Exception):
    """A trigger provider refused a binding; the message is sent to the binding's owner."""

    def __init__(self, message: str, code: str = TRIGGER_REGISTRATION_FAILED) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
