"""Calls between engines over Redis lists.

A caller LPUSHes a request on ``P:req:<owner>``; the owner's serve loop BRPOPs it, runs the
call through its own engine (so the function's worker sees an ordinary invocation) and LPUSHes
the answer on ``P:rep:<caller>``, which the caller's reply loop BRPOPs. Lists rather than pub/sub:
a request waits for a briefly busy owner instead of being dropped, and every key carries a TTL
so the lists of a dead engine do not linger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any, TypeVar

import msgspec

from pyiii.core import CallContext, FunctionError, Host
from pyiii.core import error_codes as E

log = logging.getLogger("pyiii.cluster")
T = TypeVar("T")

#: Clock difference between hosts tolerated before a stale request is dropped unanswered.
_SKEW_MS = 5_000


class Request(msgspec.Struct, omit_defaults=True):
    id: str
    function_id: str
    reply_to: str
    timeout_ms: int
    sent_at: int
    #: Where ``function_id`` resolves on the serving engine (absent: default, as before namespaces).
    namespace: str = "default"
    data: msgspec.Raw = msgspec.Raw(b"null")
    metadata: Any = None
    traceparent: str | None = None
    baggage: str | None = None


class ErrorReply(msgspec.Struct):
    code: str
    message: str
    stacktrace: str | None = None


class Reply(msgspec.Struct, omit_defaults=True):
    id: str
    result: msgspec.Raw = msgspec.Raw(b"null")
    error: ErrorReply | None = None


_encoder = msgspec.json.Encoder()
_request_decoder = msgspec.json.Decoder(Request)
_reply_decoder = msgspec.json.Decoder(Reply)


class Outbox:
    """Coalesces pushes: everything queued during one loop turn goes out in one pipeline, one
    LPUSH per list (redis-py spends more time per command than Redis does)."""

    def __init__(self, redis: Any, key_ttl_ms: int) -> None:
        self.redis = redis
        self.key_ttl_ms = key_ttl_ms
        self._queued: dict[str, list[bytes]] = {}
        self._flushed: asyncio.Future[None] | None = None

    async def push(self, key: str, body: bytes) -> None:
        self._queued.setdefault(key, []).append(body)
        if self._flushed is None:
            self._flushed = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._flush()))
        await asyncio.shield(self._flushed)

    async def _flush(self) -> None:
        queued, self._queued = self._queued, {}
        done, self._flushed = self._flushed, None
        assert done is not None
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, bodies in queued.items():
                    pipe.lpush(key, *bodies)
                    pipe.pexpire(key, self.key_ttl_ms)
                await pipe.execute()
        except Exception as exc:
            done.set_exception(exc)
            done.exception()  # retrieved: no "never retrieved" warning when nobody waits
        else:
            done.set_result(None)


class Rpc:
    def __init__(self, redis: Any, host: Host, prefix: str, engine_id: str, *, batch: int, key_ttl_ms: int,
                 is_proxy: Any) -> None:
        self.redis = redis
        self.host = host
        self.prefix = prefix
        self.engine_id = engine_id
        self.batch = batch
        self.key_ttl_ms = key_ttl_ms
        #: ``is_proxy(function_id, namespace) -> bool``: a request for a proxy is refused, never bounced on.
        self._is_proxy = is_proxy
        self.outbox = Outbox(redis, key_ttl_ms)
        #: request id -> (target engine, future)
        self._waiting: dict[str, tuple[str, asyncio.Future[Reply]]] = {}
        self.serving = True
        self.served = 0
        self.sent = 0

    def request_key(self, engine_id: str) -> str:
        return f"{self.prefix}:req:{engine_id}"

    def reply_key(self, engine_id: str) -> str:
        return f"{self.prefix}:rep:{engine_id}"

    # ------------------------------------------------------------------ caller side

    async def call(self, target: str, function_id: str, data: Any, ctx: CallContext, timeout_ms: int,
                   namespace: str = "default") -> Any:
        request = Request(
            id=uuid.uuid4().hex, function_id=function_id, namespace=namespace, reply_to=self.engine_id,
            timeout_ms=timeout_ms,
            sent_at=int(time.time() * 1000), data=msgspec.Raw(_encoder.encode(data)), metadata=ctx.metadata,
            traceparent=ctx.traceparent, baggage=ctx.baggage,
        )
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request.id] = (target, future)
        try:
            await self.outbox.push(self.request_key(target), _encoder.encode(request))
            self.sent += 1
            reply = await asyncio.wait_for(future, timeout_ms / 1000)
        except TimeoutError:
            message = f"Function {function_id} on engine {target} did not answer within {timeout_ms} ms"
            raise FunctionError(E.INVOCATION_TIMEOUT, message) from None
        finally:
            self._waiting.pop(request.id, None)
        if reply.error is not None:
            raise FunctionError(reply.error.code, reply.error.message, reply.error.stacktrace)
        return msgspec.json.decode(reply.result)

    def fail_target(self, target: str, code: str, message: str) -> int:
        """The target engine is gone: its callers learn now, not at their timeout."""
        failed = 0
        for request_id, (engine_id, future) in list(self._waiting.items()):
            if (target == "*" or engine_id == target) and not future.done():
                future.set_result(Reply(id=request_id, error=ErrorReply(code, message)))
                failed += 1
        return failed

    async def _take(self, key: str, timeout: float) -> list[bytes]:
        """One blocking pop, then up to ``batch`` more without waiting; ``[]`` on timeout."""
        popped = await self.redis.brpop([key], timeout=timeout)
        if popped is None:
            return []
        bodies = [popped[1]]
        more = await self.redis.rpop(key, self.batch)
        if more:
            bodies.extend(more)
        return bodies

    async def _take_decoded(self, key: str, timeout: float, decoder: msgspec.json.Decoder[T], what: str) -> list[T]:
        """:meth:`_take`, decoded. A failed read is logged and answered ``[]`` after a 1 s pause
        (the loop asks again); an undecodable body is logged and dropped."""
        try:
            bodies = await self._take(key, timeout)
        except Exception as exc:
            log.warning("cluster: reading %s failed (%s); retrying in 1 s", key, exc)
            await asyncio.sleep(1)
            return []
        decoded = []
        for body in bodies:
            try:
                decoded.append(decoder.decode(body))
            except msgspec.DecodeError:
                log.warning("cluster: dropped an undecodable %s", what)
        return decoded

    async def reply_loop(self) -> None:
        key = self.reply_key(self.engine_id)
        while True:
            for reply in await self._take_decoded(key, 1, _reply_decoder, "reply"):
                waiting = self._waiting.get(reply.id)
                if waiting is not None and not waiting[1].done():
                    waiting[1].set_result(reply)

    # ------------------------------------------------------------------ owner side

    async def serve_loop(self) -> None:
        """Take requests until :attr:`serving` is cleared. Never cancelled mid-read: a BRPOP
        cancelled after Redis popped the item would lose the request."""
        key = self.request_key(self.engine_id)
        while self.serving:
            for request in await self._take_decoded(key, 0.5, _request_decoder, "request"):
                # Spawned on the invoker: engine.shutdown drains these like any in-flight call.
                self.host.spawn(self._serve_one(request))

    async def _serve_one(self, request: Request) -> None:
        age = int(time.time() * 1000) - request.sent_at
        if age > request.timeout_ms + _SKEW_MS:
            log.warning("cluster: dropped request for %s, %d ms old (its caller gave up)", request.function_id, age)
            return
        reply = Reply(id=request.id)
        entry = self.host.functions.get(request.function_id, request.namespace)
        try:
            if entry is None or self._is_proxy(request.function_id, request.namespace):
                raise FunctionError(E.FUNCTION_NOT_FOUND, f"Function {request.function_id} not found")
            data: Any = request.data if entry.handler is None else msgspec.json.decode(request.data)
            result = await self.host.call(
                request.function_id, data, metadata=request.metadata, traceparent=request.traceparent,
                baggage=request.baggage, timeout=request.timeout_ms / 1000, namespace=request.namespace,
            )
            reply.result = msgspec.Raw(_encoder.encode(result))
        except FunctionError as exc:
            reply.error = ErrorReply(exc.code, exc.message, exc.stacktrace)
        except Exception as exc:  # a bug here must still answer the caller
            log.exception("cluster: serving %s failed", request.function_id)
            reply.error = ErrorReply(E.INVOCATION_FAILED, str(exc) or type(exc).__name__)
        self.served += 1
        try:
            await self.outbox.push(self.reply_key(request.reply_to), _encoder.encode(reply))
        except Exception as exc:
            log.warning("cluster: could not send the reply for %s to %s: %s", request.function_id,
                        request.reply_to, exc)

    async def stop_serving(self) -> None:
        self.serving = False

    async def cancel(self, task: asyncio.Task[None] | None) -> None:
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
