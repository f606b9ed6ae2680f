"""One async function per trigger: engine payload → handler input + ctx → engine result."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pyiii.steps import runtime
from pyiii.steps.context import FlowContext, TriggerInfo
from pyiii.steps.inputs import ApiRequest, ApiResponse, StateTriggerInput, StreamTriggerInput, to_http_result
from pyiii.steps.invoke import arity, invoke, run_middleware
from pyiii.steps.model import LoadedStep
from pyiii.steps.schemas import SchemaError, validate
from pyiii.steps.step_config import TriggerDef
from pyiii.steps.streams import Stream

log = logging.getLogger("pyiii.steps")

EngineFunction = Callable[[Any], Awaitable[Any]]


#: What every wrapper below looks like to ``inspect.signature``: ``(payload)``, no annotations.
_SIGNATURE = inspect.Signature([inspect.Parameter("payload", inspect.Parameter.POSITIONAL_OR_KEYWORD)])


def _bare(fn: EngineFunction) -> EngineFunction:
    # The SDK derives request formats and model conversion from handler annotations and reads
    # the signature three times per registration; these wrappers have none worth reading, and
    # working them out costs ~150 µs per registration (0.15 s for 1,000 steps).
    fn.__annotations__ = {}
    fn.__signature__ = _SIGNATURE  # type: ignore[attr-defined]
    return fn


def trigger_info(t: TriggerDef) -> TriggerInfo:
    return TriggerInfo(type=t.type, index=t.index, path=t.path, method=t.method, topic=t.topic,
                       expression=t.expression)


def make_input(t: TriggerDef, payload: Any) -> Any:
    """The handler's first argument, before validation."""
    if t.type == "http":
        return ApiRequest.from_payload(payload)
    if t.type == "state":
        return StateTriggerInput(payload if isinstance(payload, dict) else {})
    if t.type == "stream":
        return StreamTriggerInput(payload if isinstance(payload, dict) else {})
    if t.type == "cron":
        return None
    return payload


def _args(fn: Callable[..., Any], t: TriggerDef, value: Any, ctx: FlowContext) -> tuple[Any, ...]:
    # A one-parameter cron handler is Motia 0.x's ``handler(context)``: cron has no input.
    # A two-parameter one is ``handler(input, ctx)`` with ``input`` None.
    if t.type == "cron" and arity(fn) == 1:
        return (ctx,)
    return (None if t.type == "cron" else value, ctx)


def http_error(status: int, code: str, message: str, details: list[Any] | None = None) -> ApiResponse[Any]:
    """The one error body pyiii answers with (docs/errors.md):
    ``{"error": {"code", "message", "details"?}}``, as iii-http's own errors. An ApiResponse, like
    a handler's, so middleware around it can read and edit it."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return ApiResponse(status=status, body={"error": error})


def _invalid_body(request: ApiRequest[Any], exc: SchemaError) -> ApiResponse[Any]:
    """400 for a body that does not fit the schema, saying why when there was no JSON at all:
    iii-http only decodes a body sent with ``Content-Type: application/json`` and hands the
    step ``None`` for one that is not JSON."""
    if request.body is None:
        headers = {str(k).lower(): v for k, v in request.headers.items()}
        content_type = str(headers.get("content-type") or "")
        length = str(headers.get("content-length") or "").strip()
        chunked = "chunked" in str(headers.get("transfer-encoding") or "").lower()
        has_body = chunked or (length not in ("", "0"))
        if "application/json" not in content_type.lower():
            got = f" (got {content_type!r})" if content_type else ""
            return http_error(415 if has_body else 400, "MISSING_CONTENT_TYPE",
                              f"send the body as JSON with the header `Content-Type: application/json`{got}")
        if not has_body:
            return http_error(400, "MISSING_BODY", "the request has no body; this route expects a JSON body")
        return http_error(400, "BODY_NOT_JSON", "the request body is not valid JSON")
    return http_error(400, "INVALID_BODY", "Invalid request body", [e.to_json() for e in exc.errors])


def handler_function(step: LoadedStep, t: TriggerDef, streams: Mapping[str, Stream]) -> EngineFunction:
    info = trigger_info(t)
    name = step.config.name
    handler = step.handler
    if handler is None:
        raise ValueError(f"step {name!r} has triggers but no handler")

    def context(value: Any) -> FlowContext:
        return FlowContext(trigger=info, input_value=value, step_name=name, streams=streams)

    if t.type == "http":

        async def http_function(payload: Any) -> Any:
            runtime.current_step.set(name)  # each invocation runs in its own task (context)
            request = make_input(t, payload)
            ctx = context(request)

            async def final() -> Any:
                # What the handler returned, as is: Motia middleware reads and edits it
                # (``response = await next(); response.headers[...] = ...``).
                try:
                    request.body = validate(t.body_schema, request.body)
                except SchemaError as exc:
                    return _invalid_body(request, exc)
                return await invoke(handler, (request, ctx))

            if t.middleware:
                return to_http_result(await run_middleware(t.middleware, request, ctx, final))
            return to_http_result(await final())

        return _bare(http_function)

    async def event_function(payload: Any) -> Any:
        runtime.current_step.set(name)
        value = make_input(t, payload)
        if t.type == "queue":
            try:
                value = validate(t.input, value)
            except SchemaError as exc:
                log.error("step %s: message on %r does not match its input schema: %s", name, t.topic, exc)
                raise
        result = await invoke(handler, _args(handler, t, value, context(value)))
        dump = getattr(result, "model_dump", None)
        return dump(mode="json") if callable(dump) else result

    return _bare(event_function)


def noop_function(step: LoadedStep, streams: Mapping[str, Stream]) -> EngineFunction:
    """A noop step's function: nothing triggers it; called directly it runs the step's handler
    (if the file has one) with the payload, else answers ``None``."""
    info = TriggerInfo(type="noop")

    async def noop(payload: Any) -> Any:
        if step.handler is None:
            return None
        ctx = FlowContext(trigger=info, input_value=payload, step_name=step.config.name, streams=streams)
        return await invoke(step.handler, (payload, ctx))

    return _bare(noop)


def condition_function(step: LoadedStep, t: TriggerDef, streams: Mapping[str, Stream]) -> EngineFunction:
    """``condition(input, ctx) -> bool``; only an explicit ``False`` skips the handler."""
    assert t.condition is not None
    condition = t.condition
    info = trigger_info(t)

    async def check(payload: Any) -> bool:
        runtime.current_step.set(step.config.name)
        value = make_input(t, payload)
        ctx = FlowContext(trigger=info, input_value=value, step_name=step.config.name, streams=streams)
        return bool(await invoke(condition, _args(condition, t, value, ctx)))

    return _bare(check)
