"""Trigger types and bindings (spec/protocol.md §3.3-§3.5, §3.11).

A *trigger type* has one provider: an in-process :class:`TriggerProvider` or a remote peer.
A *binding* ties a function to a type with a config. Bindings for a type nobody provides are
*parked* and delivered when a provider appears; bindings of a departed provider are parked
again and re-delivered, same id, to the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pyiii import protocol as p
from pyiii.core.errors import TriggerRegistrationError

if TYPE_CHECKING:
    from pyiii.core.peer import Peer

log = logging.getLogger("pyiii.triggers")


@dataclass(slots=True)
class Binding:
    id: str
    trigger_type: str
    function_id: str
    config: Any = None
    metadata: Any = None
    #: The worker that registered it; ``None`` for built-ins and ``engine::register_trigger``.
    owner: Peer | None = None

    def frame(self) -> bytes:
        return p.encode(
            p.RegisterTrigger(
                id=self.id,
                trigger_type=self.trigger_type,
                function_id=self.function_id,
                config=p.to_raw(self.config),
                metadata=p.ABSENT if self.metadata is None else p.to_raw(self.metadata),
            )
        )


class TriggerProvider(Protocol):
    """An in-process provider arms and disarms bindings of its trigger types.

    ``register_trigger`` raises :class:`TriggerRegistrationError` to refuse a binding. A
    second registration with a known binding id replaces the first.
    """

    async def register_trigger(self, binding: Binding) -> None: ...

    async def unregister_trigger(self, binding: Binding) -> None: ...


@dataclass(slots=True)
class TriggerType:
    id: str
    description: str = ""
    trigger_request_format: Any = None
    call_request_format: Any = None
    provider: TriggerProvider | None = None
    owner: Peer | None = None
    worker_name: str | None = None


class TriggerRegistry:
    """Holds types, live bindings and parked bindings, and talks to providers."""

    def __init__(self) -> None:
        self.types: dict[str, TriggerType] = {}
        self.live: dict[str, Binding] = {}
        self.parked: dict[str, Binding] = {}

    def bindings_of(self, trigger_type: str) -> list[Binding]:
        return [b for b in self.live.values() if b.trigger_type == trigger_type]

    async def add_type(self, tt: TriggerType) -> None:
        """Publish a type, replacing any previous provider, then deliver its bindings."""
        previous = self.types.get(tt.id)
        if previous is not None and previous.owner is not None and previous.owner is not tt.owner:
            previous.owner.trigger_types.discard(tt.id)
        self.types[tt.id] = tt
        if tt.owner is not None:
            tt.owner.trigger_types.add(tt.id)
        # Replay live bindings to the new provider, then drain what was parked for it.
        for binding in self.bindings_of(tt.id):
            if not await self._arm(tt, binding):
                self.live.pop(binding.id, None)
                self.parked[binding.id] = binding
        for binding in [b for b in self.parked.values() if b.trigger_type == tt.id]:
            if await self._arm(tt, binding):
                del self.parked[binding.id]
                self.live[binding.id] = binding

    async def remove_type(self, type_id: str, owner: Peer | None) -> bool:
        """Remove a type if ``owner`` still provides it; its bindings are parked."""
        tt = self.types.get(type_id)
        if tt is None or tt.owner is not owner:
            return False
        del self.types[type_id]
        if owner is not None:
            owner.trigger_types.discard(type_id)
        for binding in self.bindings_of(type_id):
            del self.live[binding.id]
            self.parked[binding.id] = binding
        return True

    async def add_binding(self, binding: Binding) -> bool:
        """Register a binding. Returns False when parked. Raises TriggerRegistrationError when
        an in-process provider refuses it (an older live binding with that id is kept)."""
        tt = self.types.get(binding.trigger_type)
        old = self.live.get(binding.id)
        if tt is None:
            if old is not None:
                await self._disarm(old)
                self._forget(old)
            self.parked[binding.id] = binding
            if binding.owner is not None:
                binding.owner.triggers.add(binding.id)
            log.warning("trigger %s parked: no worker provides trigger type %r yet", binding.id, binding.trigger_type)
            return False
        if tt.provider is not None:
            await tt.provider.register_trigger(binding)  # may raise TriggerRegistrationError
        elif not await self._arm(tt, binding):
            self.parked[binding.id] = binding
            if binding.owner is not None:
                binding.owner.triggers.add(binding.id)
            return False
        if old is not None and old.trigger_type != binding.trigger_type:
            await self._disarm(old)
        if old is not None:
            self._forget(old)
        self.parked.pop(binding.id, None)
        self.live[binding.id] = binding
        if binding.owner is not None:
            binding.owner.triggers.add(binding.id)
        return True

    async def remove_binding(self, binding_id: str) -> bool:
        """Disarm and remove a live binding, or drop a parked one. Unknown id: False."""
        if binding_id in self.parked:
            self._forget(self.parked.pop(binding_id))
            return True
        binding = self.live.get(binding_id)
        if binding is None:
            return False
        await self._disarm(binding)
        self.live.pop(binding_id, None)
        self._forget(binding)
        return True

    def provider_rejected(self, provider: Peer, result: p.TriggerRegistrationResult) -> Binding | None:
        """A worker provider refused a binding: park it. Returns it if the answer counts."""
        binding = self.live.get(result.id)
        if binding is None:
            return None
        tt = self.types.get(binding.trigger_type)
        if tt is None or tt.owner is not provider:
            return None  # only the current provider of the type may answer (anti-spoofing)
        del self.live[binding.id]
        self.parked[binding.id] = binding
        return binding

    async def drop_peer(self, peer: Peer) -> None:
        """Disconnect cleanup (spec §3.11 step 3)."""
        for binding_id in list(peer.triggers):
            binding = self.live.get(binding_id) or self.parked.get(binding_id)
            if binding is not None and binding.owner is peer:
                await self.remove_binding(binding_id)
        peer.triggers.clear()
        for type_id in list(peer.trigger_types):
            await self.remove_type(type_id, peer)

    def _forget(self, binding: Binding) -> None:
        if binding.owner is not None:
            binding.owner.triggers.discard(binding.id)

    async def _arm(self, tt: TriggerType, binding: Binding) -> bool:
        try:
            if tt.provider is not None:
                await tt.provider.register_trigger(binding)
            elif tt.owner is not None:
                await tt.owner.send_frame(binding.frame())
            return True
        except TriggerRegistrationError as exc:
            log.warning("provider of %r refused trigger %s: %s", tt.id, binding.id, exc.message)
            return False
        except ConnectionError:
            return False

    async def _disarm(self, binding: Binding) -> None:
        tt = self.types.get(binding.trigger_type)
        if tt is None:
            return
        try:
            if tt.provider is not None:
                await tt.provider.unregister_trigger(binding)
            elif tt.owner is not None and tt.owner.connected:
                await tt.owner.send_frame(
                    p.encode(p.UnregisterTrigger(id=binding.id, trigger_type=binding.trigger_type))
                )
        except ConnectionError:
            pass
        except Exception:  # a provider bug must not break the caller's cleanup
            log.exception("provider of %r failed to disarm trigger %s", tt.id, binding.id)
