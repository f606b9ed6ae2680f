"""``iii-bridge``: connect this engine to another one as a worker (spec/workers.md §15).

* ``bridge.invoke {function_id, data, timeout_ms?}`` calls a function of the remote engine and
  returns its result; ``bridge.invoke_async`` sends it without waiting (``null``).
* each ``forward`` rule registers ``local_function`` here, running ``remote_function`` there;
* each ``expose`` rule registers ``remote_function`` (default: the same id) on the remote
  engine, running ``local_function`` here.

Errors: a remote function's error keeps its code and message; ``bridge_unavailable`` while the
remote engine cannot be reached (after ``connect_timeout_ms``), ``bridge_timeout`` when it does
not answer in time, ``deserialization_error`` for a malformed ``bridge.invoke`` payload.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import msgspec

from pyiii.adapters.bridge import BridgeError, RemoteEngine, forwarded_error, incoming_trace
from pyiii.core import CallContext, FunctionError
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.bridge import MANIFEST
from pyiii.workers.bridge.config import Expose, Forward, IiiBridgeConfig

log = logging.getLogger("pyiii.bridge")


class InvokeInput(msgspec.Struct):
    function_id: str
    data: Any = None
    timeout_ms: int | None = None


class BridgeWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Connect to another iii engine to expose and forward functions."
    config_type = IiiBridgeConfig
    #: Only when config.yaml lists it: with no config it would connect to its own engine.

    def __init__(self, host: Any, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.config: IiiBridgeConfig = config
        name = config.service_name or config.service_id or "iii-bridge"
        self.remote = RemoteEngine(config.connection(), name)

    async def start(self) -> None:
        self.remote.start()
        self.host.add_health_check(f"{self.entry_id}:bridge", self.remote.ping)
        reg = partial(self.host.register_function, worker=self.entry_id)
        reg("bridge.invoke", self._invoke, description="Invoke a function on the remote iii engine")
        reg("bridge.invoke_async", self._invoke_async, description="Fire-and-forget invoke on the remote iii engine")
        for rule in self.config.forward:
            reg(rule.local_function, partial(self._forward, rule),
                description=f"Forward to remote function {rule.remote_function}")
        for expose in self.config.expose:
            remote_id = expose.remote_function or expose.local_function
            self.remote.register_function(remote_id, partial(self._exposed, expose),
                                          description=f"Exposed from {expose.local_function} (iii-bridge)")
        log.info("iii-bridge to %s: %d forward, %d expose rule(s)", self.remote.url,
                 len(self.config.forward), len(self.config.expose))

    async def stop(self) -> None:
        await self.remote.close()

    def endpoints(self) -> list[str]:
        return [self.remote.url]

    @staticmethod
    def _parse(data: Any) -> InvokeInput:
        try:
            return msgspec.convert(data, InvokeInput)
        except msgspec.ValidationError as exc:
            raise FunctionError("deserialization_error", f"Failed to parse invoke input: {exc}") from None

    async def _call(self, function_id: str, data: Any, timeout_ms: int | None, ctx: CallContext) -> Any:
        try:
            return await self.remote.call(function_id, data, timeout_ms, traceparent=ctx.traceparent,
                                          baggage=ctx.baggage)
        except BridgeError as exc:
            raise FunctionError(exc.code, exc.message) from None

    async def _invoke(self, data: Any, ctx: CallContext) -> Any:
        request = self._parse(data)
        return await self._call(request.function_id, request.data, request.timeout_ms, ctx)

    async def _invoke_async(self, data: Any, ctx: CallContext) -> Any:
        request = self._parse(data)
        try:
            await self.remote.call_void(request.function_id, request.data, ctx.traceparent, ctx.baggage)
        except BridgeError as exc:
            raise FunctionError(exc.code, exc.message) from None
        return None

    async def _forward(self, rule: Forward, data: Any, ctx: CallContext) -> Any:
        return await self._call(rule.remote_function, data, rule.timeout_ms, ctx)

    async def _exposed(self, rule: Expose, data: Any) -> Any:
        traceparent, baggage = incoming_trace()
        try:
            return await self.host.call(rule.local_function, data, traceparent=traceparent, baggage=baggage)
        except FunctionError as exc:  # keeps its code on the remote side
            raise forwarded_error(exc.code, exc.message) from None
