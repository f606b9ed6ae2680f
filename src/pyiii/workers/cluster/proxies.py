"""Make the other engines' functions (and replicated bindings) callable here.

A *proxy* is an ordinary in-process function registered under a remote function's id, in the
namespace it is served in there; it forwards the call to an engine that announced that
``(namespace, id)``. Rules:

* an id registered locally (by a worker connected here, or a built-in) is never proxied; a
  worker that registers an id already proxied simply overwrites the proxy (last writer wins);
* a proxy is removed when no live engine announces its id any more;
* a replicated binding is an ownerless copy of a remote worker's binding, with the id
  ``cluster:<engine>:<binding id>``, so e.g. any engine's HTTP port serves every route.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pyiii.core import DEFAULT_NAMESPACE, CallContext, FunctionError, Host, TriggerRegistrationError
from pyiii.core import error_codes as E
from pyiii.workers.cluster.directory import AnnouncedTrigger, Announcement

log = logging.getLogger("pyiii.cluster")

#: ``forward(target_engine, function_id, namespace, data, ctx)``
Forward = Callable[[str, str, str, Any, CallContext], Awaitable[Any]]
#: ``(namespace, function id)``
Key = tuple[str, str]
PROXY_MARK = "cluster_proxy"


class Proxies:
    def __init__(self, host: Host, worker_name: str, forward: Forward) -> None:
        self.host = host
        self.worker_name = worker_name
        self.forward = forward
        #: (namespace, function id) -> engines that announced it (round-robin among them)
        self.owners: dict[Key, list[str]] = {}
        self._turn = itertools.count()
        #: engines in their shutdown grace period: used only when no other owner is left
        self.draining: set[str] = set()
        #: local binding id -> the announced binding it copies
        self.replicas: dict[str, AnnouncedTrigger] = {}
        #: bindings a provider refused; not retried until their announcement changes
        self._refused: dict[str, AnnouncedTrigger] = {}

    def is_proxy(self, function_id: str, namespace: str = DEFAULT_NAMESPACE) -> bool:
        entry = self.host.functions.get(function_id, namespace)
        return entry is not None and entry.extra.get(PROXY_MARK) is True

    # ------------------------------------------------------------------ functions

    def sync_functions(self, remote: dict[str, Announcement]) -> None:
        owners: dict[Key, list[str]] = {}
        self.draining = {engine_id for engine_id, a in remote.items() if a.draining}
        for engine_id in sorted(remote):
            for key in remote[engine_id].served():
                owners.setdefault(key, []).append(engine_id)
        for key in list(self.owners):
            if key not in owners:
                self._drop(key)
        for key, engines in owners.items():
            namespace, function_id = key
            entry = self.host.functions.get(function_id, namespace)
            if entry is not None and entry.extra.get(PROXY_MARK) is not True:
                self.owners.pop(key, None)  # served here: never proxied
                continue
            if entry is None:
                self._register(key)
            self.owners[key] = engines

    def _register(self, key: Key) -> None:
        namespace, function_id = key

        async def proxy(data: Any, ctx: CallContext) -> Any:
            engines = self.owners.get(key)
            if not engines:
                raise FunctionError(E.FUNCTION_NOT_FOUND, f"Function {function_id} not found")
            preferred = [e for e in engines if e not in self.draining] or engines
            target = preferred[next(self._turn) % len(preferred)]
            return await self.forward(target, function_id, namespace, data, ctx)

        entry = self.host.register_function(
            function_id, proxy, worker=self.worker_name, description=f"proxy of {function_id} on another engine",
            namespace=namespace,
        )
        entry.extra[PROXY_MARK] = True

    def _drop(self, key: Key) -> None:
        self.owners.pop(key, None)
        namespace, function_id = key
        if self.is_proxy(function_id, namespace):
            self.host.unregister_function(function_id, worker=self.worker_name, namespace=namespace)

    def drop_all(self) -> None:
        for key in list(self.owners):
            self._drop(key)

    # ------------------------------------------------------------------ bindings

    async def sync_triggers(self, remote: dict[str, Announcement]) -> None:
        wanted: dict[str, AnnouncedTrigger] = {}
        for engine_id, announcement in remote.items():
            for trigger in announcement.triggers:
                wanted[f"cluster:{engine_id}:{trigger.id}"] = trigger
        for local_id, trigger in list(self.replicas.items()):
            if wanted.get(local_id) != trigger:
                del self.replicas[local_id]
                await self.host.unregister_trigger(local_id)
        for local_id in list(self._refused):
            if wanted.get(local_id) != self._refused[local_id]:
                del self._refused[local_id]
        for local_id, trigger in wanted.items():
            if local_id in self.replicas or local_id in self._refused:
                continue
            try:
                await self.host.register_trigger(trigger.type, trigger.function_id, trigger.config,
                                                 trigger_id=local_id, namespace=trigger.namespace,
                                                 trigger_namespace=trigger.trigger_namespace)
            except TriggerRegistrationError as exc:
                log.warning("cluster: replica of binding %s refused here: %s", local_id, exc.message)
                self._refused[local_id] = trigger
                continue
            self.replicas[local_id] = trigger

    async def drop_triggers(self) -> None:
        for local_id in list(self.replicas):
            del self.replicas[local_id]
            await self.host.unregister_trigger(local_id)
