"""Trigger types and bindings (spec/protocol.md §3.3-§3.5, §3.11; iii-0.23-0.25 §1.6).

A *trigger type* has one provider per namespace, keyed ``(namespace, type id)``: an in-process
:class:`TriggerProvider` (built-ins serve ``default``) or a remote peer (its connection's
namespace, or the one its ``registertriggertype`` names). A *binding* ties a function to a type
with a config; its provider is the one in its explicit ``trigger_namespace`` (strict), else in
its registrant's home namespace, else in ``default`` (:mod:`pyiii.core.provider_keys`). Bindings
no provider serves are *parked* and delivered when one appears; bindings of a departed provider
are resolved again (a home binding may fall back to ``default``) or parked, same id. A binding
served by ``default`` only because its home had no provider moves home when one registers there
(*re-homing*), so start order never decides which provider serves a project.

Bindings have owners. A type whose provider serves one binding per key (an HTTP route: method
and path) gives a ``binding_key``; bindings of one key form a stack whose top is armed and the
others *shadowed*. A trusted registrant takes the top over (logged); when the top goes, the one
below is armed again. A *guarded* binding (from an RBAC session) may neither take over nor
replace by id a binding it does not own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pyiii import protocol as p
from pyiii.core.errors import FORBIDDEN, LIMIT_EXCEEDED, TriggerRegistrationError
from pyiii.core.namespaces import DEFAULT
from pyiii.core.provider_keys import ProviderKey, candidate_keys, is_on_fallback

if TYPE_CHECKING:
    from pyiii.core.access import Access
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
    #: The registrant's grant when it is an RBAC session: the binding is *guarded* (it may not
    #: take over others' bindings) and its target is re-checked against the grant when it fires.
    grant: Access | None = None
    #: Where its function (and condition, and HTTP route middlewares) resolve when it fires
    #: (``registertrigger.namespace``; spec iii-0.23-0.25 §1.6).
    namespace: str = DEFAULT
    #: Where its provider must be (``registertrigger.trigger_namespace``); None: home, then default.
    trigger_namespace: str | None = None
    #: Its registrant's connection namespace (``default`` for built-ins and engine calls).
    home_namespace: str = DEFAULT
    #: The namespace of the provider that serves it now (armed or shadowed); None while parked.
    provider_namespace: str | None = None

    def __post_init__(self) -> None:
        # iii <= 0.8 (and Motia 1.0.0rc24, which the Motia template pins) named a binding's
        # condition `_condition_path`; iii 0.9+ ignores it and runs the handler unconditionally.
        # Read it as `condition_function_id` here, once, so every trigger type honours it and the
        # access check of targets() sees the condition too.
        config = self.config
        if isinstance(config, dict) and "_condition_path" in config and "condition_function_id" not in config:
            self.config = {**config, "condition_function_id": config["_condition_path"]}

    @property
    def guarded(self) -> bool:
        return self.grant is not None and self.grant.rbac

    def may_replace(self, other: Binding) -> bool:
        """Whether this binding may take ``other``'s place (same id, or same exclusive key). A
        guarded one only its own owner's, or one whose owner is gone (its cleanup is under way),
        as for functions (``Access.takeover_refusal``)."""
        if not self.guarded:
            return True
        return other.owner is not None and (other.owner is self.owner or not other.owner.connected)

    def targets(self) -> list[str]:
        """Every function the engine runs for this binding: the function, and the condition and
        middleware functions its config names (the same config keys for every trigger type)."""
        out = [self.function_id]
        config = self.config if isinstance(self.config, dict) else {}
        condition = config.get("condition_function_id")
        if isinstance(condition, str) and condition:
            out.append(condition)
        middleware = config.get("middleware_function_ids")
        if isinstance(middleware, list):
            out.extend(m for m in middleware if isinstance(m, str))
        return out

    @property
    def provider_key(self) -> ProviderKey | None:
        """The provider serving it now, None while parked."""
        ns = self.provider_namespace
        return None if ns is None else (ns, self.trigger_type)

    def frame(self, provider_namespace: str) -> bytes:
        """``registertrigger`` for a worker provider in ``provider_namespace``."""
        return p.encode(
            p.RegisterTrigger(
                id=self.id,
                trigger_type=self.trigger_type,
                function_id=self.function_id,
                config=p.to_raw(self.config),
                metadata=p.ABSENT if self.metadata is None else p.to_raw(self.metadata),
                # Only when not default: the provider fires with it; 0.22.1 providers see no change.
                namespace=None if self.namespace == DEFAULT else self.namespace,
                trigger_namespace=None if provider_namespace == DEFAULT else provider_namespace,
            )
        )


class TriggerProvider(Protocol):
    """An in-process provider arms and disarms bindings of its trigger types.

    ``register_trigger`` raises :class:`TriggerRegistrationError` to refuse a binding. A
    second registration with a known binding id replaces the first.
    """

    async def register_trigger(self, binding: Binding) -> None: ...

    async def unregister_trigger(self, binding: Binding) -> None: ...


#: What makes two bindings of a type "the same" (one serves at a time), or None if any number
#: may coexist; raises TriggerRegistrationError for a config the provider would refuse.
BindingKey = Callable[[Binding], Hashable | None]


@dataclass(slots=True)
class TriggerType:
    id: str
    description: str = ""
    trigger_request_format: Any = None
    call_request_format: Any = None
    provider: TriggerProvider | None = None
    owner: Peer | None = None
    worker_name: str | None = None
    binding_key: BindingKey | None = None
    #: The namespace it serves: ``default`` for built-ins, the provider's otherwise.
    namespace: str = DEFAULT

    @property
    def key(self) -> ProviderKey:
        return (self.namespace, self.id)


def _owned_by_another(binding_id: str) -> TriggerRegistrationError:
    return TriggerRegistrationError(f"trigger '{binding_id}' is owned by another worker", FORBIDDEN)


class TriggerRegistry:
    """Holds providers, live, shadowed and parked bindings, and talks to providers."""

    def __init__(self, max_per_owner: int | None = None) -> None:
        #: Bindings one owner may hold (``max_triggers_per_worker``), however it registered
        #: them: its own ``registertrigger`` frames or ``engine::register_trigger`` calls.
        self.max_per_owner = max_per_owner
        #: Providers by ``(namespace, type id)``.
        self.providers: dict[ProviderKey, TriggerType] = {}
        #: Armed at their provider (the top of their key's stack, if the type has keys).
        self.live: dict[str, Binding] = {}
        #: Waiting for a provider of their type.
        self.parked: dict[str, Binding] = {}
        #: Registered under a key another binding serves; armed again when it leaves.
        self.shadowed: dict[str, Binding] = {}
        #: One stack per provider and binding key (stacks of two namespaces never meet).
        self._stacks: dict[tuple[ProviderKey, Hashable], list[str]] = {}
        self._key_of: dict[str, tuple[ProviderKey, Hashable]] = {}
        #: Trigger type -> the worker to add to config.yaml for it (set by whoever builds the
        #: engine from the worker catalog); names the fix when a binding waits for a provider.
        self.provider_hint: Callable[[str], str | None] = lambda _type: None
        #: Types whose waiting bindings are being gathered into one warning, with their names.
        self._waiting: dict[str, list[tuple[str, str]]] = {}

    @property
    def types(self) -> dict[str, TriggerType]:
        """The ``default`` providers by type id (the one type table of a 0.22.1 engine)."""
        return {type_id: tt for (ns, type_id), tt in self.providers.items() if ns == DEFAULT}

    def find(self, binding_id: str) -> Binding | None:
        return self.live.get(binding_id) or self.shadowed.get(binding_id) or self.parked.get(binding_id)

    def resolve(self, binding: Binding) -> TriggerType | None:
        """The provider that should serve ``binding`` (spec iii-0.23-0.25 §1.6), or None."""
        for key in candidate_keys(binding.trigger_type, binding.trigger_namespace, binding.home_namespace):
            tt = self.providers.get(key)
            if tt is not None:
                return tt
        return None

    def provider_of(self, binding: Binding) -> TriggerType | None:
        """The provider serving ``binding`` now (None while it is parked)."""
        key = binding.provider_key
        return None if key is None else self.providers.get(key)

    def _served_by(self, key: ProviderKey) -> list[Binding]:
        """Live and shadowed bindings of provider ``key``; stacks bottom to top, so that placing
        them again in this order serves the same tops."""
        stacked = [bid for (pk, _), stack in self._stacks.items() if pk == key for bid in stack]
        loose = [b.id for b in self.live.values() if b.provider_key == key and b.id not in self._key_of]
        return [b for b in (self.live.get(bid) or self.shadowed.get(bid) for bid in [*stacked, *loose]) if b]

    async def add_type(self, tt: TriggerType) -> None:
        """Publish a provider, replacing any previous one under its key, then deliver its
        bindings: those it replaces, those of its namespace on the default fallback, the parked."""
        key = tt.key
        previous = self.providers.get(key)
        if previous is not None and previous.owner is not None and previous.owner is not tt.owner:
            previous.owner.trigger_types.discard(key)
        self.providers[key] = tt
        if tt.owner is not None:
            tt.owner.trigger_types.add(key)
        for binding in [b for b in self._served_by(key) if b.id in self.live]:
            if not await self._arm(tt, binding):
                self.live.pop(binding.id, None)
                self._park(binding)
                below = self._unstack(binding)
                if below is not None:
                    await self._rearm(below)
        if tt.namespace != DEFAULT:
            await self._rehome(tt)
        for binding in [b for b in self.parked.values() if b.trigger_type == tt.id]:
            if self.resolve(binding) is not tt:
                continue  # still waits for another namespace's provider
            await self._place_parked(tt, binding)

    async def _rehome(self, tt: TriggerType) -> None:
        """Bindings of ``tt``'s namespace served by ``default`` only because their home had no
        provider move to ``tt``: ``unregistertrigger`` to the old provider, the same id to the
        new one; a refusal there parks them."""
        movers = [
            b for b in self._served_by((DEFAULT, tt.id))
            if b.home_namespace == tt.namespace
            and is_on_fallback(b.trigger_namespace, b.home_namespace, b.provider_namespace)
        ]
        for binding in movers:
            await self._detach(binding)
            log.info("trigger %s (%s) moves to the %s provider of namespace %r", binding.id, _who(binding), tt.id,
                     tt.namespace)
            self._park(binding)
            await self._place_parked(tt, binding)

    async def _place_parked(self, tt: TriggerType, binding: Binding) -> None:
        try:
            placed = await self._place(tt, binding, None)
        except TriggerRegistrationError as exc:
            kind, name = _display(binding)
            log.warning("%s '%s' (%s trigger %s) stays waiting: %s", kind, name, _label(binding), binding.id,
                        exc.message)
            return
        if placed:
            self.parked.pop(binding.id, None)

    async def remove_type(self, type_id: str, owner: Peer | None, namespace: str = DEFAULT) -> bool:
        """Remove the provider ``(namespace, type_id)`` if ``owner`` still is it. Its bindings
        are resolved again (a home binding may fall back to ``default``) or parked."""
        key = (namespace, type_id)
        tt = self.providers.get(key)
        if tt is None or tt.owner is not owner:
            return False
        served = self._served_by(key)
        del self.providers[key]
        if owner is not None:
            owner.trigger_types.discard(key)
        for binding in served:
            self.live.pop(binding.id, None)
            self.shadowed.pop(binding.id, None)
            self._key_of.pop(binding.id, None)
            self._park(binding)
        for stack_key in [k for k in self._stacks if k[0] == key]:
            del self._stacks[stack_key]
        for binding in served:
            other = self.resolve(binding)
            if other is not None:
                await self._place_parked(other, binding)
        return True

    async def add_binding(self, binding: Binding) -> bool:
        """Register a binding. Returns False when parked. Raises TriggerRegistrationError when
        an in-process provider refuses it, with FORBIDDEN when a guarded binding would take
        the place of another owner's (an older binding with that id is kept), or with
        LIMIT_EXCEEDED when its owner already holds ``max_per_owner`` bindings."""
        old = self.find(binding.id)
        if old is not None and not binding.may_replace(old):
            raise _owned_by_another(binding.id)
        self._check_quota(binding)
        tt = self.resolve(binding)
        if tt is None:
            if old is not None:
                await self._retire(old)
            self._park(binding)
            if binding.owner is not None:
                binding.owner.triggers.add(binding.id)
            self._announce_waiting(binding)
            return False
        placed = await self._place(tt, binding, old)
        if binding.owner is not None:
            binding.owner.triggers.add(binding.id)
        return placed

    def _check_quota(self, binding: Binding) -> None:
        owner = binding.owner
        limit = self.max_per_owner
        if owner is None or limit is None or binding.id in owner.triggers:
            return
        if len(owner.triggers) >= limit:
            raise TriggerRegistrationError(f"max_triggers_per_worker={limit} reached", LIMIT_EXCEEDED)

    #: Bindings of one missing type that arrive within this many seconds share one warning.
    WAITING_GATHER_S = 0.25

    def _announce_waiting(self, binding: Binding) -> None:
        """One warning per missing trigger type, naming the steps (or functions) that wait and the
        worker line that provides it; bindings that arrive together are gathered into it."""
        name = _display(binding)
        gathering = self._waiting.get(binding.trigger_type)
        if gathering is not None:
            if name not in gathering:
                gathering.append(name)
            return
        self._waiting[binding.trigger_type] = [name]
        try:
            asyncio.get_running_loop().call_later(self.WAITING_GATHER_S, self._warn_waiting, binding.trigger_type)
        except RuntimeError:  # no loop (a synchronous caller): say it now
            self._warn_waiting(binding.trigger_type)

    def _warn_waiting(self, trigger_type: str) -> None:
        names = self._waiting.pop(trigger_type, [])
        waiting = [b for b in self.parked.values() if b.trigger_type == trigger_type and self.resolve(b) is None]
        if not names or not waiting:
            return  # provided (or withdrawn) meanwhile
        label = _label(waiting[0])
        log.warning("%s", waiting_message(label, names, self.provider_hint(trigger_type), trigger_type))

    async def remove_binding(self, binding_id: str) -> bool:
        """Disarm and remove a binding (the one below it in its stack serves again), or drop a
        parked one. Unknown id: False."""
        binding = self.find(binding_id)
        if binding is None:
            return False
        await self._retire(binding)
        return True

    async def _place(self, tt: TriggerType, binding: Binding, old: Binding | None) -> bool:
        """Arm ``binding`` at provider ``tt`` on top of its key's stack (taking it over),
        replacing ``old`` (same id). Returns False when a worker provider is unreachable (then
        it is parked)."""
        key = self._key(tt, binding)
        top = self.live.get(self._stacks[key][-1]) if key is not None and key in self._stacks else None
        if top is not None and top.id != binding.id and not binding.may_replace(top):
            raise TriggerRegistrationError(
                f"{tt.id} '{key[1] if key else ''}' is owned by another worker (trigger '{top.id}')", FORBIDDEN
            )
        if tt.provider is not None:
            await tt.provider.register_trigger(binding)  # may raise TriggerRegistrationError
        elif not await self._arm(tt, binding):
            if old is not None:
                await self._retire(old)
            self._park(binding)
            return False
        binding.provider_namespace = tt.namespace
        if old is not None:
            if old.provider_key != tt.key:  # the same provider replaces it by id itself
                await self._disarm(old)
            self.live.pop(old.id, None)
            self.shadowed.pop(old.id, None)
            self.parked.pop(old.id, None)
            below = self._unstack(old)
            self._forget(old)
            if below is not None and below != key:
                await self._rearm(below)
            top = self.live.get(self._stacks[key][-1]) if key is not None and key in self._stacks else None
        if key is not None:
            if top is not None and top.id != binding.id:
                # The provider already serves the new binding in its place; let it forget the old.
                log.warning(
                    "trigger %s (%s) takes over %s '%s' from trigger %s (%s); it serves again when %s goes",
                    binding.id, _who(binding), tt.id, key[1], top.id, _who(top), binding.id,
                )
                del self.live[top.id]
                await self._disarm(top)
                self.shadowed[top.id] = top
            self._stacks.setdefault(key, []).append(binding.id)
            self._key_of[binding.id] = key
        self.live[binding.id] = binding
        return True

    async def _retire(self, binding: Binding) -> None:
        """Take ``binding`` out of every table and forget it."""
        await self._detach(binding)
        self._forget(binding)

    async def _detach(self, binding: Binding) -> None:
        """Take ``binding`` off its provider (disarmed if armed) and out of every table; if it
        served a key, the one below serves again."""
        if self.live.pop(binding.id, None) is not None:
            await self._disarm(binding)
        self.shadowed.pop(binding.id, None)
        self.parked.pop(binding.id, None)
        below = self._unstack(binding)
        binding.provider_namespace = None
        if below is not None:
            await self._rearm(below)

    def _park(self, binding: Binding) -> None:
        binding.provider_namespace = None
        self.parked[binding.id] = binding

    def _key(self, tt: TriggerType, binding: Binding) -> tuple[ProviderKey, Hashable] | None:
        if tt.binding_key is None:
            return None
        key = tt.binding_key(binding)  # may raise TriggerRegistrationError
        return None if key is None else (tt.key, key)

    def _unstack(self, binding: Binding) -> tuple[ProviderKey, Hashable] | None:
        """Remove ``binding`` from its stack; returns the key if another binding must now serve."""
        key = self._key_of.pop(binding.id, None)
        if key is None:
            return None
        stack = self._stacks[key]
        was_top = stack[-1] == binding.id
        stack.remove(binding.id)
        if not stack:
            del self._stacks[key]
            return None
        return key if was_top else None

    async def _rearm(self, key: tuple[ProviderKey, Hashable]) -> None:
        """Arm the new top of ``key``'s stack; one its provider now refuses is parked."""
        while key in self._stacks:
            stack = self._stacks[key]
            binding = self.shadowed.pop(stack[-1])
            tt = self.providers.get(key[0])
            if tt is not None and await self._arm(tt, binding):
                self.live[binding.id] = binding
                log.warning("trigger %s (%s) serves %s '%s' again", binding.id, _who(binding), key[0][1], key[1])
                return
            stack.pop()
            self._key_of.pop(binding.id, None)
            if not stack:
                del self._stacks[key]
            self._park(binding)

    def provider_rejected(self, provider: Peer, result: p.TriggerRegistrationResult) -> Binding | None:
        """A worker provider refused a binding: park it. Returns it if the answer counts."""
        binding = self.live.get(result.id)
        if binding is None:
            return None
        tt = self.provider_of(binding)
        if tt is None or tt.owner is not provider:
            return None  # only the provider that serves it may answer (anti-spoofing)
        del self.live[binding.id]
        self._park(binding)
        return binding

    async def drop_peer(self, peer: Peer) -> None:
        """Disconnect cleanup (spec §3.11 step 3)."""
        for binding_id in list(peer.triggers):
            binding = self.find(binding_id)
            if binding is not None and binding.owner is peer:
                await self._retire(binding)
        peer.triggers.clear()
        for namespace, type_id in list(peer.trigger_types):
            await self.remove_type(type_id, peer, namespace)

    def _forget(self, binding: Binding) -> None:
        if binding.owner is not None:
            binding.owner.triggers.discard(binding.id)

    async def _arm(self, tt: TriggerType, binding: Binding) -> bool:
        try:
            if tt.provider is not None:
                await tt.provider.register_trigger(binding)
            elif tt.owner is not None:
                await tt.owner.send_frame(binding.frame(tt.namespace))
            return True
        except TriggerRegistrationError as exc:
            log.warning("provider of %r refused trigger %s: %s", tt.id, binding.id, exc.message)
            return False
        except ConnectionError:
            return False

    async def _disarm(self, binding: Binding) -> None:
        tt = self.provider_of(binding)
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


def _display(binding: Binding) -> tuple[str, str]:
    """``("step", "daily-report")`` for a step's binding (its metadata names it), else the function."""
    step = binding.metadata.get("step") if isinstance(binding.metadata, dict) else None
    if isinstance(step, str) and step:
        return "step", step
    return "function", binding.function_id


def _label(binding: Binding) -> str:
    """The trigger's kind as its registrant knows it (a step's ``queue``, not ``durable:subscriber``)."""
    trigger = binding.metadata.get("trigger") if isinstance(binding.metadata, dict) else None
    kind = trigger.get("type") if isinstance(trigger, dict) else None
    return kind if isinstance(kind, str) and kind else binding.trigger_type


def waiting_message(label: str, names: list[tuple[str, str]], worker: str | None, trigger_type: str) -> str:
    """``step 'daily-report' (cron trigger) waits: add `- name: iii-cron` to config.yaml``;
    ``steps 'A' and 'B' (http triggers) wait: ...``."""
    groups: dict[str, list[str]] = {}
    for kind, name in names:
        groups.setdefault(kind, []).append(f"'{name}'")
    parts = []
    for kind, quoted in groups.items():
        if len(quoted) > 4:
            quoted = [*quoted[:3], f"{len(quoted) - 3} more"]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
        parts.append(f"{kind}{'s' if len(names) > 1 and len(groups[kind]) > 1 else ''} {listed}")
    many = len(names) > 1
    fix = (f"add `- name: {worker}` to config.yaml" if worker is not None
           else f"no worker provides trigger type '{trigger_type}' yet (start the worker that registers it)")
    return f"{' and '.join(parts)} ({label} trigger{'s' if many else ''}) {'wait' if many else 'waits'}: {fix}"


def _who(binding: Binding) -> str:
    return binding.owner.display_name if binding.owner is not None else "built-in"
