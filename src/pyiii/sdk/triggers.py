"""Trigger bindings, trigger types and the provider-side handler interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

TConfig = TypeVar("TConfig")
C = TypeVar("C")
R = TypeVar("R")


@dataclass
class RegisterTriggerInput:
    """``{type, function_id, config, metadata}`` of ``register_trigger``."""

    type: str
    function_id: str
    config: Any = None
    metadata: Any = None
    #: iii 0.23+: where ``function_id`` runs when it fires (None: the worker's namespace).
    namespace: str | None = None
    #: iii 0.23+: where the provider of ``type`` is looked up (None: the engine decides).
    trigger_namespace: str | None = None


@dataclass
class RegisterTriggerTypeInput:
    """A trigger type this worker provides; formats may be JSON Schemas or model classes."""

    id: str
    description: str
    trigger_request_format: Any = None
    call_request_format: Any = None


@dataclass
class TriggerConfig(Generic[TConfig]):
    """What a provider's handler receives for each binding it must arm or disarm."""

    id: str
    function_id: str
    config: Any
    metadata: dict[str, Any] | None = None
    #: Where the binding's function resolves (iii 0.23+; None: default): fire it with
    #: ``trigger({"function_id": ..., "namespace": config.namespace, ...})``.
    namespace: str | None = None


class TriggerHandler(ABC, Generic[TConfig]):
    """Implemented by workers that provide a trigger type."""

    @abstractmethod
    async def register_trigger(self, config: TriggerConfig[TConfig]) -> None: ...

    @abstractmethod
    async def unregister_trigger(self, config: TriggerConfig[TConfig]) -> None: ...


class Trigger:
    """Handle of a registered binding."""

    def __init__(self, unregister_fn: Callable[[], None], trigger_id: str | None = None) -> None:
        self._unregister_fn = unregister_fn
        self.id = trigger_id

    def unregister(self) -> None:
        self._unregister_fn()


class TriggerTypeRef(Generic[C, R]):
    """Returned by ``register_trigger_type``: binds functions to this type conveniently."""

    def __init__(
        self,
        iii: Any,
        trigger_type_id: str,
        config_cls: type[C] | None = None,
        request_cls: type[R] | None = None,
    ) -> None:
        self._iii = iii
        self._trigger_type_id = trigger_type_id
        self._config_cls = config_cls
        self._request_cls = request_cls

    @property
    def id(self) -> str:
        return self._trigger_type_id

    def register_trigger(
        self, function_id: str, config: C, metadata: dict[str, Any] | None = None
    ) -> Trigger:
        dump = getattr(config, "model_dump", None)
        trigger: Trigger = self._iii.register_trigger(
            {
                "type": self._trigger_type_id,
                "function_id": function_id,
                "config": dump() if callable(dump) else config,
                "metadata": metadata,
            }
        )
        return trigger

    def register_function(
        self,
        function_id: str,
        handler: Callable[[R], Any] | Callable[[R], Awaitable[Any]],
        *,
        description: str | None = None,
    ) -> Any:
        return self._iii.register_function(function_id, handler, description=description)


def trigger_input_fields(trigger: Any) -> RegisterTriggerInput:
    """Accept a dict, our dataclass, or a pydantic-like input object."""
    if isinstance(trigger, RegisterTriggerInput):
        return trigger
    if not isinstance(trigger, dict):
        dump = getattr(trigger, "model_dump", None)
        if not callable(dump):
            raise TypeError(f"trigger must be a dict or RegisterTriggerInput, got {type(trigger).__name__}")
        trigger = dump()
    if not isinstance(trigger.get("type"), str) or not isinstance(trigger.get("function_id"), str):
        raise TypeError("a trigger needs string 'type' and 'function_id'")
    return RegisterTriggerInput(
        type=trigger["type"],
        function_id=trigger["function_id"],
        config=trigger.get("config"),
        metadata=trigger.get("metadata"),
        namespace=trigger.get("namespace"),
        trigger_namespace=trigger.get("trigger_namespace"),
    )


def trigger_type_input_fields(trigger_type: Any) -> RegisterTriggerTypeInput:
    if isinstance(trigger_type, RegisterTriggerTypeInput):
        return trigger_type
    if isinstance(trigger_type, dict):
        return RegisterTriggerTypeInput(**trigger_type)
    return RegisterTriggerTypeInput(
        id=trigger_type.id,
        description=trigger_type.description,
        trigger_request_format=getattr(trigger_type, "trigger_request_format", None),
        call_request_format=getattr(trigger_type, "call_request_format", None),
    )
