"""The registration hooks of an RBAC listener (spec/protocol.md §6.5), as typed values.

A listener may name a function the engine asks before a session registers a function, a trigger
type or a trigger. The hook gets the registration and the session's context; an object answer
allows it, and each field the answer names (as a string, or ``metadata`` / ``config`` as any
value) replaces the registration's. Any other answer, an error or a timeout denies it (fail
closed). The session (core/session_registrations.py) asks; these structs say what is asked and
how an answer remaps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self


@dataclass(frozen=True, slots=True)
class RegistrationHooks:
    """The hook function ids of one listener (its ``rbac.on_*_registration_function_id``)."""

    on_function_registration: str | None = None
    on_trigger_type_registration: str | None = None
    on_trigger_registration: str | None = None
    #: A hook that has not answered by then denies the registration.
    timeout_ms: int = 10_000


#: A listener without hooks (every trusted listener).
NO_HOOKS = RegistrationHooks()


class Registration(Protocol):
    """What a hook is asked about; ``remapped`` applies an allowing answer."""

    def hook_payload(self, context: Any) -> dict[str, Any]: ...

    def remapped(self, answer: dict[str, Any]) -> Self: ...


@dataclass(frozen=True, slots=True)
class FunctionRegistration:
    function_id: str
    description: str | None
    metadata: Any
    #: The registering connection's namespace (shown to the hook, iii 0.23; not remappable).
    namespace: str = "default"

    def hook_payload(self, context: Any) -> dict[str, Any]:
        return {"function_id": self.function_id, "description": self.description, "metadata": self.metadata,
                "namespace": self.namespace, "context": context}

    def remapped(self, answer: dict[str, Any]) -> FunctionRegistration:
        return FunctionRegistration(
            _str_or(answer.get("function_id"), self.function_id),
            _str_or(answer.get("description"), self.description),
            answer["metadata"] if "metadata" in answer else self.metadata,
            self.namespace,
        )


@dataclass(frozen=True, slots=True)
class TriggerTypeRegistration:
    type_id: str
    description: str

    def hook_payload(self, context: Any) -> dict[str, Any]:
        return {"trigger_type_id": self.type_id, "description": self.description, "context": context}

    def remapped(self, answer: dict[str, Any]) -> TriggerTypeRegistration:
        return TriggerTypeRegistration(
            _str_or(answer.get("trigger_type_id"), self.type_id), _str_or(answer.get("description"), self.description)
        )


@dataclass(frozen=True, slots=True)
class TriggerRegistration:
    trigger_id: str
    trigger_type: str
    function_id: str
    config: Any
    metadata: Any
    #: The binding's target namespace (shown to the hook, iii 0.23; not remappable).
    namespace: str = "default"

    def hook_payload(self, context: Any) -> dict[str, Any]:
        return {"trigger_id": self.trigger_id, "trigger_type": self.trigger_type, "function_id": self.function_id,
                "config": self.config, "metadata": self.metadata, "namespace": self.namespace, "context": context}

    def remapped(self, answer: dict[str, Any]) -> TriggerRegistration:
        # The binding's metadata is shown to the hook but not taken from its answer (spec §6.5).
        return TriggerRegistration(
            _str_or(answer.get("trigger_id"), self.trigger_id),
            _str_or(answer.get("trigger_type"), self.trigger_type),
            _str_or(answer.get("function_id"), self.function_id),
            answer["config"] if "config" in answer else self.config,
            self.metadata,
            self.namespace,
        )


def _str_or(value: Any, default: Any) -> Any:
    return value if isinstance(value, str) else default


__all__ = [
    "NO_HOOKS",
    "FunctionRegistration",
    "Registration",
    "RegistrationHooks",
    "TriggerRegistration",
    "TriggerTypeRegistration",
]
