"""``iii-cluster``: engines sharing one Redis call each other's worker functions.

Each engine announces the function ids its connected workers serve (``directory.py``), keeps
in-process *proxies* for the ids other engines announce (``proxies.py``) and forwards a proxied
call over Redis lists to an owning engine (``rpc.py``). To a caller — a worker, a trigger, the
queue — a proxied function is just a function; the owning engine runs it as an ordinary call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from pyiii.adapters.redis_connection import redis_client
from pyiii.core import DEFAULT_NAMESPACE, CallContext, Host
from pyiii.core import error_codes as E
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.cluster import MANIFEST
from pyiii.workers.cluster.config import ClusterConfig
from pyiii.workers.cluster.directory import AnnouncedTrigger, Announcement, Directory
from pyiii.workers.cluster.proxies import Proxies
from pyiii.workers.cluster.rpc import Rpc

log = logging.getLogger("pyiii.cluster")

#: Registrations arrive in bursts (a worker replays all of them on connect): wait this long
#: after the first change before announcing, so one burst is one announcement.
_DEBOUNCE_S = 0.02


class ClusterWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Calls between engines sharing one Redis (function proxies, replicated bindings)."
    config_type = ClusterConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        cfg: ClusterConfig = config
        self.cfg = cfg
        self.engine_id = cfg.engine_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        # One pool; blocking reads (BRPOP, SUBSCRIBE) each hold their own connection from it.
        self.redis: Any = redis_client(cfg.redis_url, max_connections=cfg.max_connections,
                                       pool_timeout_ms=cfg.pool_timeout_ms, owner="iii-cluster")
        self.directory = Directory(self.redis, cfg.key_prefix, self.engine_id, cfg.ttl_ms)
        self.proxies = Proxies(host, entry_id, self._forward)
        # Request/reply lists outlive a dead engine by a few TTLs at most.
        self.rpc = Rpc(self.redis, host, cfg.key_prefix, self.engine_id, batch=cfg.batch,
                       key_ttl_ms=max(cfg.call_timeout_ms, cfg.ttl_ms) * 2, is_proxy=self.proxies.is_proxy)
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._serve_task: asyncio.Task[None] | None = None
        self.healthy = False
        self._known_engines: set[str] = set()
        self.draining = False

    async def start(self) -> None:
        await self.redis.ping()  # fail the start (and readiness) when Redis is unreachable
        self.healthy = True
        self.host.on_functions_changed(self._changed.set)
        self.host.add_shutdown_step(self._before_shutdown)
        self.host.add_health_check(self.entry_id, lambda: self.healthy)
        await self._sync()
        self._serve_task = asyncio.create_task(self.rpc.serve_loop(), name="cluster-serve")
        self._tasks = [
            asyncio.create_task(self.rpc.reply_loop(), name="cluster-replies"),
            asyncio.create_task(self._heartbeat_loop(), name="cluster-heartbeat"),
            asyncio.create_task(self._watch_loop(), name="cluster-watch"),
        ]
        log.info("cluster: engine %s joined %s", self.engine_id, self.cfg.key_prefix)

    async def stop(self) -> None:
        self.rpc.serving = False
        if self._serve_task is not None:  # let BRPOP time out rather than cut it (see serve_loop)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._serve_task), 1.0)
        await self.rpc.cancel(self._serve_task)
        for task in self._tasks:
            await self.rpc.cancel(task)
        self.rpc.fail_target("*", "engine_shutdown", "the engine is shutting down")
        with contextlib.suppress(Exception):
            await self.directory.withdraw()
        self.proxies.drop_all()
        with contextlib.suppress(Exception):
            await self.proxies.drop_triggers()
        await self.redis.aclose()

    async def _before_shutdown(self, grace: float) -> None:
        """Grace period: tell the others to prefer other owners, but keep serving (and keep
        the announcement alive) until the engine has drained, so no call in flight through
        this engine is failed early. :meth:`stop` then leaves the cluster."""
        self.draining = True
        with contextlib.suppress(Exception):
            await self.directory.announce(self.announcement())

    def endpoints(self) -> list[str]:
        return [f"{self.cfg.key_prefix} as {self.engine_id}"]

    # ------------------------------------------------------------------ announce + reconcile

    def announcement(self) -> Announcement:
        served = sorted(
            (e.namespace, e.id) for e in self.host.functions.all() if e.owner is not None and e.owner.connected
        )
        functions = [fid for ns, fid in served if ns == DEFAULT_NAMESPACE]
        namespaced = [(ns, fid) for ns, fid in served if ns != DEFAULT_NAMESPACE]
        replicate = set(self.cfg.replicate_trigger_types)
        triggers = sorted(
            (AnnouncedTrigger(b.id, b.trigger_type, b.function_id, b.config, b.namespace, b.trigger_namespace)
             for b in self.host.bindings.values()
             if b.owner is not None and b.trigger_type in replicate),
            key=lambda t: t.id,
        )
        return Announcement(functions, namespaced, triggers, draining=self.draining)

    async def _sync(self) -> None:
        await self.directory.announce(self.announcement())
        remote = await self.directory.others()
        for gone in self._known_engines - set(remote):
            failed = self.rpc.fail_target(gone, E.INVOCATION_STOPPED, f"engine {gone} left the cluster")
            log.info("cluster: engine %s left (%d waiting call(s) failed)", gone, failed)
        for new in set(remote) - self._known_engines:
            log.info("cluster: engine %s joined", new)
        self._known_engines = set(remote)
        self.proxies.sync_functions(remote)
        await self.proxies.sync_triggers(remote)

    async def _heartbeat_loop(self) -> None:
        interval = self.cfg.heartbeat_ms / 1000
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), interval)
                await asyncio.sleep(_DEBOUNCE_S)
            except TimeoutError:
                pass
            self._changed.clear()
            try:
                await self._sync()
                self.healthy = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.healthy = False
                log.warning("cluster: heartbeat failed: %s", exc)

    async def _watch_loop(self) -> None:
        """Another engine changed its announcement: reconcile now rather than next heartbeat."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.directory.channel)
                while True:
                    msg = await pubsub.get_message(timeout=None)
                    if msg is not None and msg.get("data") != self.engine_id.encode():
                        self._changed.set()
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except Exception as exc:
                log.warning("cluster: change feed failed (%s); resubscribing in 1 s", exc)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(1)

    async def _forward(self, target: str, function_id: str, namespace: str, data: Any, ctx: CallContext) -> Any:
        return await self.rpc.call(target, function_id, data, ctx, self.cfg.call_timeout_ms, namespace)
