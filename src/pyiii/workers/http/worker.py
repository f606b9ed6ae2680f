"""``iii-http`` (alias ``http``): the ``http`` trigger type, served by an HTTP/1.1 server."""

from __future__ import annotations

import logging
from typing import Any

from pyiii.core import Binding, CallContext, TriggerRegistrationError
from pyiii.workers.base import BuiltinWorker
from pyiii.workers.http import MANIFEST
from pyiii.workers.http.config import HttpConfig
from pyiii.workers.http.paths import InvalidPath, pattern_segments
from pyiii.workers.http.pipeline import Pipeline
from pyiii.workers.http.router import SUPPORTED_METHODS, Route, RouteConflict, Router
from pyiii.workers.http.server import HttpServer, ServerLimits

log = logging.getLogger("pyiii.http")

TRIGGER_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["api_path"],
    "properties": {
        "api_path": {"type": "string", "description": "Route pattern; ':id' or '{id}' segments are parameters"},
        "http_method": {"type": "string", "default": "GET", "enum": sorted(SUPPORTED_METHODS)},
        "condition_function_id": {"type": "string"},
        "middleware_function_ids": {"type": "array", "items": {"type": "string"}},
        "timeout_ms": {"type": "integer", "minimum": 1, "description": "pyiii: per-route timeout"},
    },
}


class HttpWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "HTTP triggers: routes requests to functions"
    config_type = HttpConfig

    config: HttpConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.router = Router()
        self.pipeline = Pipeline(self.host, self.router, self.config)
        c = self.config
        self.server = HttpServer(self.pipeline, ServerLimits(
            max_body_bytes=c.max_body_bytes,
            max_url_bytes=c.max_url_bytes,
            max_headers=c.max_headers,
            keep_alive_timeout=c.keep_alive_timeout,
            max_header_bytes=c.max_header_bytes,
            header_timeout=c.header_timeout,
            body_timeout=c.body_timeout,
            body_min_rate=c.body_min_rate,
            max_connections=c.max_connections,
        ))
        self.address: tuple[str, int] | None = None
        self._drained = False

    async def start(self) -> None:
        self.address = await self.server.listen(self.config.host, self.config.port)
        self.host.add_shutdown_step(self._drain)
        self.host.register_function(f"{self.entry_id}::stats", self._stats, worker=self.entry_id,
                                    description="Open connections and what the HTTP edge refused since start")
        await self.host.register_trigger_type(
            "http", self, description="HTTP route -> function", trigger_request_format=TRIGGER_CONFIG_SCHEMA,
            worker=self.entry_id, binding_key=route_key,
        )
        log.info("iii-http listening on http://%s:%d", *self.address)

    async def _stats(self, data: Any, ctx: CallContext) -> Any:
        return self.server.stats()

    async def _drain(self, grace: float) -> None:
        """Engine shutdown: stop accepting and finish in-flight requests while workers are up."""
        self._drained = True
        await self.server.close(min(grace, self.config.shutdown_grace))

    async def stop(self) -> None:
        if not self._drained:
            await self.server.close(self.config.shutdown_grace)

    def endpoints(self) -> list[str]:
        return [f"http://{self.address[0]}:{self.address[1]}"] if self.address else []

    # ------------------------------------------------------------------ TriggerProvider

    async def register_trigger(self, binding: Binding) -> None:
        add_route(self.router, route_from_binding(binding))

    async def unregister_trigger(self, binding: Binding) -> None:
        self.router.remove(binding.id)


def route_from_binding(binding: Binding) -> Route:
    """Validate an ``http`` binding's config (spec §4.2) into a route; raise a clear error."""
    config = binding.config if isinstance(binding.config, dict) else {}
    api_path = config.get("api_path")
    if not isinstance(api_path, str):
        raise TriggerRegistrationError("api_path is required for http triggers")
    method = config.get("http_method") or "GET"
    if not isinstance(method, str) or method.upper() not in SUPPORTED_METHODS:
        raise TriggerRegistrationError(
            f"http_method {method!r} is not supported (use one of {', '.join(sorted(SUPPORTED_METHODS))})"
        )
    middleware = config.get("middleware_function_ids") or []
    if not isinstance(middleware, list) or not all(isinstance(m, str) for m in middleware):
        raise TriggerRegistrationError("middleware_function_ids must be a list of function ids")
    condition = config.get("condition_function_id")
    if condition is not None and not isinstance(condition, str):
        raise TriggerRegistrationError("condition_function_id must be a function id")
    timeout_ms = config.get("timeout_ms")
    if timeout_ms is not None and (not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms <= 0):
        raise TriggerRegistrationError("timeout_ms must be a positive integer (milliseconds)")
    route = Route(
        method=method.upper(),
        pattern="/" + (api_path[1:] if api_path.startswith("/") else api_path),
        param_names=(),
        binding_id=binding.id,
        function_id=binding.function_id,
        binding=binding,
        middleware_ids=tuple(middleware),
        condition_id=condition or None,
        timeout=timeout_ms / 1000 if timeout_ms else None,
    )
    return route


def route_key(binding: Binding) -> str:
    """One route serves a method and a path shape (``/users/:id`` = ``/users/{uid}``): a second
    binding of it takes the first one over (core/triggers.py)."""
    route = route_from_binding(binding)
    try:
        shape = pattern_segments(route.pattern)
    except InvalidPath as exc:
        raise TriggerRegistrationError(str(exc)) from None
    return route.method + " /" + "/".join(":" if name is not None else text for text, name in shape)


def add_route(router: Router, route: Route) -> None:
    try:
        router.add(route)
    except (RouteConflict, InvalidPath) as exc:
        raise TriggerRegistrationError(str(exc)) from None
