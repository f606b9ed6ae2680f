"""``iii-http-functions`` (alias ``http-functions``): functions whose body is an HTTP call.

It installs the host's HTTP function factory: a ``registerfunction`` frame with an ``invocation``
then becomes an in-process function owned by the registering worker (so that worker's
disconnect or ``unregisterfunction`` removes it, like any of its functions).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pyiii import protocol as p
from pyiii.core import InProcessHandler
from pyiii.workers.base import BuiltinWorker
from pyiii.workers.http_functions import MANIFEST
from pyiii.workers.http_functions.auth import SecretMissing, resolve
from pyiii.workers.http_functions.config import HttpFunctionsConfig
from pyiii.workers.http_functions.url_guard import UrlGuard, UrlRejected

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("pyiii.http_functions")


class HttpFunctionsWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Functions invoked by calling an external HTTP endpoint"
    config_type = HttpFunctionsConfig

    config: HttpFunctionsConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = UrlGuard(self.config.security)
        self.client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self.host.set_http_function_factory(self.build)

    def _http_client(self) -> httpx.AsyncClient:
        # httpx costs ~50 ms to import: loaded when the first HTTP function is registered, so an
        # engine whose workers register none starts without it.
        if self.client is None:
            import httpx

            from pyiii.workers.http_functions.coalesce import coalescing_transport

            limits = httpx.Limits(max_connections=self.config.max_connections)
            self.client = httpx.AsyncClient(
                follow_redirects=False,  # a redirect must not lead the engine somewhere unchecked
                trust_env=False,  # nor may an environment proxy
                limits=limits,
                # head and a small body in one write: minimal receivers read a single recv()
                transport=coalescing_transport(limits=limits, trust_env=False),
            )
        return self.client

    async def stop(self) -> None:
        self.host.clear_http_function_factory(self.build)
        if self.client is not None:
            await self.client.aclose()

    async def build(self, function_id: str, invocation: p.HttpInvocationRef) -> InProcessHandler:
        """Validate at registration time; raise ValueError (the engine drops and logs it)."""
        from pyiii.workers.http_functions.invoke import HttpFunction

        client = self._http_client()
        try:
            await self.guard.check(invocation.url)
        except UrlRejected as exc:
            raise ValueError(f"{UrlRejected.code}: {exc}") from None
        try:
            auth = resolve(invocation.auth)
        except SecretMissing as exc:
            raise ValueError(str(exc)) from None
        timeout_ms = invocation.timeout_ms or self.config.default_timeout_ms
        log.info("HTTP function %s -> %s %s", function_id, invocation.method, invocation.url)
        return HttpFunction(
            function_id=function_id,
            invocation=invocation,
            auth=auth,
            guard=self.guard,
            client=client,
            timeout=min(timeout_ms, self.config.max_timeout_ms) / 1000,
            max_response_bytes=self.config.max_response_bytes,
        )
