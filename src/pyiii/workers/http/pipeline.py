"""One HTTP request through the iii pipeline (spec §4.5): route, global middleware, channels and
body, condition, route middleware, handler; then a buffered or streamed response."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from pyiii.core import ABORTED, DEFAULT_NAMESPACE, EOF, Binding, Channel, FunctionError, Host, Span, SpanKind
from pyiii.core import error_codes as E
from pyiii.w3c_trace import trace_id_of
from pyiii.workers.http import response as R
from pyiii.workers.http.channel_io import ResponseControl, WatchedQueue, ref, start_filling, watch
from pyiii.workers.http.config import HttpConfig
from pyiii.workers.http.cors import Cors
from pyiii.workers.http.function_errors import OVERLOADED_MESSAGE, status_for
from pyiii.workers.http.paths import InvalidPath, request_segments
from pyiii.workers.http.request import Request
from pyiii.workers.http.router import Route, Router
from pyiii.workers.http.sink import ResponseSink

log = logging.getLogger("pyiii.http")


#: What a client reads when ``expose_errors`` is off; the log line has the real text.
GENERIC_ERROR = "Internal Server Error (see the server log for this error_id)"


def new_error_id() -> str:
    return secrets.token_hex(6)


def query_params(raw: str) -> dict[str, str | list[str]]:
    """``a=1&b=2&b=3`` -> ``{"a": "1", "b": ["2", "3"]}``: a key given once is a string (what the
    reference engine sends), a repeated key is the list of its values in order (the reference keeps
    the last one only; Motia's ``query_params`` type is ``str | list[str]``)."""
    out: dict[str, str | list[str]] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        seen = out.get(key)
        if seen is None:
            out[key] = value
        elif isinstance(seen, list):
            seen.append(value)
        else:
            out[key] = [seen, value]
    return out


class Responded(Exception):
    """A step answered the request itself (middleware respond, condition false, an error)."""


class Pipeline:
    def __init__(self, host: Host, router: Router, config: HttpConfig) -> None:
        self.host = host
        self.router = router
        self.configure(config)

    def configure(self, config: HttpConfig) -> None:
        self.config = config
        self.cors = Cors(config.cors)
        self.timeout = config.default_timeout / 1000
        self.semaphore = asyncio.Semaphore(max(1, config.concurrency_request_limit))
        entries = [m for m in config.middleware if m.phase == "preHandler"]
        self.global_middleware = tuple(m.function_id for m in sorted(entries, key=lambda m: m.priority))

    # ------------------------------------------------------------------ entry point

    async def __call__(self, request: Request, sink: ResponseSink) -> None:
        origin = request.headers.get("origin")
        if origin is not None:
            if self.cors.is_preflight(request):
                sink.send(200, self.cors.preflight(request, origin), b"")
                return
            sink.extra_headers = self.cors.response_headers(origin)
        try:
            segments = request_segments(request.path)
        except InvalidPath as exc:
            sink.send_error(400, "INVALID_PATH", str(exc))
            return
        match = self.router.match(segments)
        if match is None:
            sink.send_error(404, "NOT_FOUND", "Not Found")
            return
        route = match.routes.get(request.method)
        if route is None and request.method == "HEAD":
            route = match.routes.get("GET")  # HEAD is GET without a body, through the same pipeline
        if route is None:
            allowed = sorted(match.routes) + (["HEAD"] if "GET" in match.routes and "HEAD" not in match.routes else [])
            sink.send_error(405, "METHOD_NOT_ALLOWED", f"Method {request.method} not allowed",
                            headers=[("allow", ", ".join(allowed))])
            return
        params = dict(zip(route.param_names, match.values, strict=True))
        semaphore = self.semaphore
        await semaphore.acquire()  # ``async with`` would add two coroutine frames per request
        try:
            await self._serve(route, params, request, sink)
        finally:
            semaphore.release()

    async def _serve(self, route: Route, params: dict[str, str], request: Request, sink: ResponseSink) -> None:
        timeout = route.timeout if route.timeout is not None else self.timeout
        exchange = _Exchange()
        headers = request.headers
        exchange.baggage = headers.get("baggage")
        tracer = self.host.tracer
        if tracer.enabled:
            # spec/workers.md §4.8: the server span; every call this request makes is under it.
            span = tracer.start_span(f"{request.method} {route.pattern}", SpanKind.SERVER,
                                     headers.get("traceparent"), _server_attributes(route, request))
            exchange.traceparent = span.traceparent
            if isinstance(span, Span):
                span.trace_state = headers.get("tracestate")
                exchange.span = span
        else:
            exchange.traceparent = headers.get("traceparent")
        try:
            try:
                if not self._deadline_in_call(route):
                    async with asyncio.timeout(timeout):
                        streaming = await self._respond(route, params, request, sink, exchange, None)
                else:
                    # No middleware or condition: the handler call carries the deadline itself,
                    # and a timer is armed only for the rarer waits (slow body, null result).
                    deadline = asyncio.get_running_loop().time() + timeout
                    streaming = await self._respond(route, params, request, sink, exchange, deadline)
            except TimeoutError:
                if exchange.in_middleware and not sink.started:
                    sink.send_error(504, "MIDDLEWARE_TIMEOUT", "Middleware timeout")
                elif not sink.started:
                    sink.send_error(504, "TIMEOUT", f"Request did not complete within {timeout * 1000:.0f} ms")
                return
            except Responded:
                return
            if streaming is not None:
                await streaming
        finally:
            exchange.close(self.host)
            if exchange.span is not None:
                _end_server_span(exchange.span, sink, exchange.call)

    def _deadline_in_call(self, route: Route) -> bool:
        """Whether the handler call alone can enforce the request deadline: no middleware or
        condition runs first, and the function lives in a worker (the invoker times such calls
        out; in-process handlers have no timeout of their own)."""
        if self.global_middleware or route.middleware_ids or route.condition_id is not None:
            return False
        namespace = route.binding.namespace if route.binding is not None else DEFAULT_NAMESPACE
        entry = self.host.functions.get(route.function_id, namespace)
        return entry is not None and entry.handler is None

    # ------------------------------------------------------------------ steps

    async def _respond(self, route: Route, params: dict[str, str], request: Request, sink: ResponseSink,
                       exchange: _Exchange, deadline: float | None) -> Awaitable[None] | None:
        """``deadline``: loop time the response must start by, when the caller did not put the
        whole step under a timeout (then every wait here must respect it)."""
        headers = request.headers
        query = query_params(request.query) if request.query else {}
        if self.global_middleware or route.middleware_ids:
            view = {"path_params": params, "query_params": query, "headers": headers, "method": request.method}
            for function_id in self.global_middleware:
                await self._middleware(function_id, view, sink, exchange)

        request_channel, response_channel = exchange.open(self.host, self.config.channel_buffer)
        chunk = self.config.channel_chunk_bytes
        body: Any = None
        if "application/json" in headers.get("content-type", ""):
            if deadline is None or request.body.complete:
                raw = await request.body.read_all()
            else:
                async with asyncio.timeout_at(deadline):
                    raw = await request.body.read_all()
            if raw:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    pass
            exchange.filler = start_filling(request_channel, request.body, raw, chunk)
        else:
            exchange.filler = start_filling(request_channel, request.body, None, chunk)

        payload: dict[str, Any] = {
            "query_params": query,
            "path_params": params,
            "headers": headers,
            "path": route.pattern,
            "method": request.method,
            "body": body,
            "trigger": {"type": "http", "path": route.pattern, "method": route.method},
        }
        if route.condition_id is not None:
            await self._condition(route.condition_id, payload, sink, exchange, route.binding)
        for function_id in route.middleware_ids:
            await self._middleware(function_id, view, sink, exchange, route.binding)

        payload["request_body"] = ref(request_channel, "read")
        payload["response"] = ref(response_channel, "write")
        loop = asyncio.get_running_loop()
        if deadline is None:
            call_timeout = route.timeout or self.timeout
        else:
            call_timeout = max(0.001, deadline - loop.time())
        call = loop.create_task(self.host.fire(
            route.binding, payload, timeout=call_timeout, traceparent=exchange.traceparent, baggage=exchange.baggage,
        ))
        exchange.call = call
        return await self._await_answer(route, call, response_channel, sink, deadline, exchange.traceparent)

    async def _middleware(self, function_id: str, view: dict[str, Any], sink: ResponseSink,
                          exchange: _Exchange, binding: Binding | None = None) -> None:
        """``binding``: the route's, for route middleware (checked against its registrant's grant)."""
        payload = {"phase": "preHandler", "request": view, "context": {}}
        exchange.in_middleware = True
        try:
            async with asyncio.timeout(self.timeout):
                result = await self._call(binding, function_id, payload, exchange)
            exchange.in_middleware = False
        except TimeoutError:
            sink.send_error(504, "MIDDLEWARE_TIMEOUT", "Middleware timeout")
            raise Responded from None
        except FunctionError as exc:
            if exc.code == E.INVOCATION_TIMEOUT:
                sink.send_error(504, "MIDDLEWARE_TIMEOUT", "Middleware timeout")
            else:
                self._send_function_error(sink, f"middleware {function_id}", exc, exchange.traceparent)
            raise Responded from None
        action = result.get("action") if isinstance(result, dict) else None
        if action == "respond":
            assert isinstance(result, dict)
            status, headers, body = R.middleware_response(result.get("response"))
            sink.send(status, headers, body)
            raise Responded
        if action != "continue":
            log.warning("middleware %s returned no known action (%r); continuing", function_id, action)

    async def _call(self, binding: Binding | None, function_id: str, payload: dict[str, Any],
                    exchange: _Exchange) -> Any:
        kwargs: dict[str, Any] = {"timeout": self.timeout, "traceparent": exchange.traceparent,
                                  "baggage": exchange.baggage}
        if binding is None:
            return await self.host.call(function_id, payload, **kwargs)
        return await self.host.call_for(binding, function_id, payload, **kwargs)

    async def _condition(self, function_id: str, payload: dict[str, Any], sink: ResponseSink,
                         exchange: _Exchange, binding: Binding | None) -> None:
        try:
            verdict = await self._call(binding, function_id, payload, exchange)
        except FunctionError as exc:
            self._send_function_error(sink, f"condition {function_id}", exc, exchange.traceparent)
            raise Responded from None
        if verdict is False:
            sink.send_error(422, "CONDITION_NOT_MET", "Request condition not met", skipped=True)
            raise Responded

    async def _await_answer(self, route: Route, call: asyncio.Future[Any], channel: Channel,
                            sink: ResponseSink, deadline: float | None,
                            traceparent: str | None) -> Awaitable[None] | None:
        """Race the handler's result against its response channel. A non-null result before any
        body chunk wins (buffered); a body chunk first starts a streamed response.

        One future per wait, woken by the call's completion or by an item put on the channel:
        no ``queue.get()`` task, which a plain buffered answer would only create and cancel."""
        queue = channel.queue
        assert isinstance(queue, WatchedQueue)
        loop = asyncio.get_running_loop()
        control: ResponseControl | None = None
        result_known = False
        waker = _Waker()
        call.add_done_callback(waker.wake)
        try:
            while True:
                if not result_known and call.done():
                    result_known = True
                    result = self._result_or_respond(route, call, sink, traceparent)
                    if result is not None:
                        status, headers, body = R.buffered(result)
                        sink.send(status, headers, body)
                        return None
                while not queue.empty():
                    item = queue.get_nowait()
                    if item is EOF or item is ABORTED:
                        # The stream ended before any body byte: a non-null result still wins.
                        if not result_known:
                            await asyncio.wait((call,))
                            result = self._result_or_respond(route, call, sink, traceparent)
                            if result is not None:
                                status, headers, body = R.buffered(result)
                                sink.send(status, headers, body)
                                return None
                        if item is ABORTED:  # the handler's writer left before finishing
                            sink.send_error(502, "RESPONSE_ABORTED",
                                            f"the response stream of {route.function_id} broke off")
                        elif control is None:
                            sink.send(200, [], b"")
                        else:
                            sink.send(control.status, control.headers, b"")
                        return None
                    if isinstance(item, str):
                        if control is None:
                            control = ResponseControl()
                        control.apply(item)
                        continue
                    assert isinstance(item, bytes)
                    if control is None:
                        sink.start(200, [])
                    else:
                        sink.start(control.status, control.headers)
                    if not result_known:
                        call.add_done_callback(_log_late_failure)
                    return _stream(item, queue, sink)
                waker.future = loop.create_future()
                queue.on_put = waker.wake
                if result_known and deadline is not None:
                    # A null result: only the channel can answer now, and nothing else times it.
                    async with asyncio.timeout_at(deadline):
                        await waker.future
                else:
                    await waker.future  # the call (pending) times out by itself
        finally:
            queue.on_put = None
            waker.future = None
            call.remove_done_callback(waker.wake)

    def _result_or_respond(self, route: Route, call: asyncio.Future[Any], sink: ResponseSink,
                           traceparent: str | None) -> Any:
        try:
            return call.result()
        except FunctionError as exc:
            if exc.code == E.INVOCATION_TIMEOUT:
                sink.send_error(504, "TIMEOUT", exc.message)
            else:
                self._send_function_error(sink, f"handler {route.function_id}", exc, traceparent)
            raise Responded from None

    def _send_function_error(self, sink: ResponseSink, what: str, exc: FunctionError,
                             traceparent: str | None = None) -> None:
        error_id = new_error_id()
        trace_id = trace_id_of(traceparent)
        log.warning("HTTP %s failed [error_id=%s trace_id=%s]: %s: %s", what, error_id, trace_id or "-",
                    exc.code, exc.message)
        status = status_for(exc.code)
        if status == 503:  # overload: typed, retryable, and no internals (worker names, counts)
            message = exc.message if self.config.expose_errors else OVERLOADED_MESSAGE
            sink.send_error(503, exc.code, message, error_id,
                            [("retry-after", str(self.config.overload_retry_after))])
        elif status == 504:
            sink.send_error(504, "TIMEOUT", exc.message, error_id)
        elif self.config.expose_errors:
            sink.send_error(500, exc.code, exc.message, error_id)
        else:  # the text may carry internals (paths, SQL, secrets): the operator finds it by id
            error = {"code": "INTERNAL_ERROR", "message": GENERIC_ERROR, "error_id": error_id}
            if trace_id:
                error["trace_id"] = trace_id
            sink.send_json(500, orjson.dumps({"error": error}))


async def _stream(first: bytes, queue: asyncio.Queue[object], sink: ResponseSink) -> None:
    try:
        await sink.write(first)
        while (item := await queue.get()) is not EOF:
            if item is ABORTED:
                # No terminating chunk: the client sees a truncated response, not a whole one.
                log.warning("the handler's response stream broke off after %d bytes", sink.body_bytes)
                return
            if isinstance(item, bytes):
                await sink.write(item)
        sink.end()
    except ConnectionError:
        log.debug("client left during a streamed response")


def _server_attributes(route: Route, request: Request) -> dict[str, Any]:
    """The HTTP server span's attributes (spec/workers.md §4.8)."""
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", "http")
    host = headers.get("host", "")
    target = f"{request.path}?{request.query}" if request.query else request.path
    attributes: dict[str, Any] = {
        "iii.trigger.type": "http",
        "faas.trigger": "http",
        "http.request.method": request.method,
        "http.route": route.pattern,
        "url.path": request.path,
        "url.scheme": scheme,
        "url.full": f"{scheme}://{host}{target}",
        "iii.function.kind": "internal" if route.function_id.startswith("engine::") else "user",
    }
    if request.query:
        attributes["url.query"] = request.query
    if host:
        attributes["server.address"] = host
    if "user-agent" in headers:
        attributes["user_agent.original"] = headers["user-agent"]
    if "content-type" in headers:
        attributes["http.request.header.content_type"] = headers["content-type"]
    if request.content_length is not None:
        attributes["http.request.body.size"] = request.content_length
    return attributes


def _end_server_span(span: Span, sink: ResponseSink, call: asyncio.Future[Any] | None) -> None:
    status = sink.status
    if status:
        span.set_attribute("http.response.status_code", status)
    failure = call.exception() if call is not None and call.done() and not call.cancelled() else None
    failed = status >= 400 or not sink.started  # the status decides, not the handler alone
    if isinstance(failure, FunctionError):
        if failed:
            span.fail(failure)
            return
        span.record_error(failure.message, failure.code, failure.stacktrace)  # the response went out all the same
    if failed:
        span.end("error", f"HTTP {status}" if status else "no response sent")
    else:
        span.end("ok")


def _log_late_failure(call: asyncio.Future[Any]) -> None:
    if call.cancelled():
        return
    exc = call.exception()
    if exc is not None:
        log.warning("streaming handler failed after its response started: %s", exc)


class _Waker:
    """Resolves the future the answer loop is waiting on, whoever calls first."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: asyncio.Future[None] | None = None

    def wake(self, _call: object = None) -> None:
        future = self.future
        if future is not None and not future.done():
            future.set_result(None)


class _Exchange:
    """The per-request resources that must be released however the request ends."""

    __slots__ = ("baggage", "call", "channels", "filler", "in_middleware", "span", "traceparent")

    def __init__(self) -> None:
        #: Whether the request deadline, if it passes now, is a middleware's fault.
        self.in_middleware = False
        self.channels: tuple[Channel, Channel] | None = None
        self.filler: asyncio.Future[None] | None = None
        self.call: asyncio.Future[Any] | None = None
        #: Trace context of every call this request makes (under the server span if traced).
        self.traceparent: str | None = None
        self.baggage: str | None = None
        self.span: Span | None = None

    def open(self, host: Host, buffer: int) -> tuple[Channel, Channel]:
        request_channel = host.create_channel(buffer)
        request_channel.writer_taken = True  # the engine writes the request body
        response_channel = host.create_channel(buffer)
        response_channel.reader_taken = True  # the engine reads the response
        watch(response_channel)  # before its refs are published: nothing has written to it yet
        self.channels = (request_channel, response_channel)
        return self.channels

    def close(self, host: Host) -> None:
        body_cut = self.filler is not None and not self.filler.done()
        if body_cut:
            assert self.filler is not None
            self.filler.cancel()
        if self.channels is not None and (body_cut or self.channels[0].aborted):
            # The body never ended: its reader (attached, or still to come) gets an error.
            host.abort_channel(self.channels[0])
        if self.call is not None and not self.call.done():
            # The handler keeps running in its worker; we only stop waiting for it.
            self.call.add_done_callback(_log_late_failure)
        if self.channels is not None:
            # The exchange is over: nobody may attach to these channels any more.
            for channel in self.channels:
                host.finish_channel(channel, "write")
                host.finish_channel(channel, "read")
