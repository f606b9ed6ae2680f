"""The client WebSocket endpoint on port 3112 (spec/workers.md §7.5), built on :mod:`pyiii.wsio`.

Authentication happens before the upgrade: with ``auth_function`` set, a refusal is an
HTTP 401 response and no WebSocket is opened (see README "Authentication").
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import msgspec

from pyiii import wsio
from pyiii.core import FunctionError, Host
from pyiii.workers.stream.auth import auth_verdict
from pyiii.workers.stream.config import StreamConfig
from pyiii.workers.stream.hub import Client, Hub, Subscription
from pyiii.workers.stream.payloads import ClientMessage, SubscriptionData
from pyiii.workers.stream.triggers import JoinLeaveTriggers
from pyiii.wsio import Accept, Connection, HttpReply, Request

log = logging.getLogger("pyiii.stream")

#: Builds the encoded snapshot messages (``sync``, then ``create``s) for a new subscription.
SyncBuilder = Callable[[SubscriptionData], Awaitable[Iterable[bytes]]]
#: Builds the encoded ``unauthorized`` envelope.
RefusalBuilder = Callable[[SubscriptionData], bytes]


def _response(status: HTTPStatus, code: str, message: str) -> HttpReply:
    return HttpReply.json(status.value, {"error": {"code": code, "message": message}})


class StreamServer:
    def __init__(self, host: Host, config: StreamConfig, hub: Hub, joins: JoinLeaveTriggers,
                 leaves: JoinLeaveTriggers, sync: SyncBuilder, refusal: RefusalBuilder) -> None:
        self.host = host
        self.config = config
        self.hub = hub
        self.joins = joins
        self.leaves = leaves
        self.build_sync = sync
        self.build_refusal = refusal
        self._server: wsio.Server | None = None
        self.clients: set[Client] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    async def start(self) -> None:
        cfg = self.config
        # permessage-deflate is declined by wsio: a zlib context per client would re-compress
        # every event.
        self._server = await wsio.serve(
            self._handle, cfg.host, cfg.port,
            upgrade=self._admit,
            options=wsio.Options.from_millis(
                max_message_bytes=cfg.max_message_bytes, handshake_timeout_ms=cfg.handshake_timeout_ms,
                ping_interval_ms=cfg.ping_interval_ms, ping_timeout_ms=cfg.ping_timeout_ms,
                close_timeout_ms=cfg.close_timeout_ms,
            ),
        )

    async def stop(self) -> None:
        if self._server is None:
            return
        await self._server.close()

    # ------------------------------------------------------------------ admission

    async def _admit(self, request: Request) -> HttpReply | Accept | None:
        if request.path not in ("/", ""):
            return _response(HTTPStatus.NOT_FOUND, "NOT_FOUND", "the stream endpoint is `/`")
        if len(self.clients) >= self.config.max_connections:
            return _response(HTTPStatus.SERVICE_UNAVAILABLE, "too_many_connections",
                             f"stream server limit of {self.config.max_connections} connections reached")
        auth = self.config.auth_function
        if not auth:
            return None
        remote = request.remote
        payload = {
            "headers": request.lowercase_headers(),
            "path": request.path or "/",
            "query_params": parse_qs(request.query, keep_blank_values=True),
            "addr": f"{remote[0]}:{remote[1]}" if remote else "",
        }
        try:
            result = await asyncio.wait_for(
                self.host.call(auth, payload, timeout=self.config.auth_timeout_ms / 1000),
                self.config.auth_timeout_ms / 1000,
            )
        except (TimeoutError, FunctionError) as exc:
            # The browser gets no exception text (it may name internals); the log has it.
            error_id = secrets.token_hex(6)
            log.info("stream connection from %s refused [error_id=%s]: auth function %s failed: %s",
                     payload["addr"], error_id, auth, exc)
            return _response(HTTPStatus.UNAUTHORIZED, "AUTH_ERROR", f"authentication failed (error_id {error_id})")
        except Exception as exc:  # fail closed whatever went wrong
            log.warning("stream connection from %s refused: auth function %s raised %r", payload["addr"], auth, exc)
            return _response(HTTPStatus.UNAUTHORIZED, "AUTH_ERROR", "authentication failed")
        allowed, context = auth_verdict(result)
        if not allowed:
            log.info("stream connection from %s refused by %s", payload["addr"], auth)
            return _response(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "the auth function refused this connection")
        return Accept(state=context)

    # ------------------------------------------------------------------ one client

    async def _handle(self, connection: Connection) -> None:
        client = Client(connection, connection.state)
        self.clients.add(client)
        decoder = msgspec.json.Decoder(ClientMessage)
        try:
            async for frame in connection:
                raw = frame.encode() if isinstance(frame, str) else frame
                if not raw.strip():
                    continue
                try:
                    message = decoder.decode(raw)
                except msgspec.DecodeError as exc:
                    log.info("ignored a stream client message: %s", exc)
                    continue
                if message.type == "join":
                    await self._join(client, message.data)
                else:
                    await self._leave(client, message.data)
        finally:
            self.clients.discard(client)
            for sub in self.hub.drop(client):
                self.host.spawn(self.leaves.notify(self._join_leave_event(client, sub)))

    def _join_leave_event(self, client: Client, sub: Subscription | SubscriptionData) -> dict[str, Any]:
        if isinstance(sub, Subscription):
            sid, stream_name, group_id, item_id = sub.subscription_id, sub.stream_name, sub.group_id, sub.item_id
        else:
            sid, stream_name, group_id, item_id = sub.subscription_id, sub.stream_name, sub.group_id, sub.id
        return {"subscription_id": sid, "stream_name": stream_name, "group_id": group_id, "id": item_id,
                "context": client.context}

    async def _join(self, client: Client, data: SubscriptionData) -> None:
        if (data.subscription_id not in client.subscriptions
                and len(client.subscriptions) >= self.config.max_subscriptions_per_connection):
            log.info("stream client %s reached max_subscriptions_per_connection=%d; join refused",
                     client.connection.remote_address, self.config.max_subscriptions_per_connection)
            self.hub.send(client, self.build_refusal(data))
            return
        if not await self.joins.authorize(self._join_leave_event(client, data)):
            self.hub.send(client, self.build_refusal(data))
            return
        sub = Subscription(client, data.subscription_id, data.stream_name, data.group_id, data.id)
        self.hub.add(sub)  # before reading the sync, so no event can fall between the two
        try:
            pages = await self.build_sync(data)
        except Exception:
            log.exception("sync for %s/%s failed; subscription dropped", data.stream_name, data.group_id)
            self.hub.remove(client, data.subscription_id)
            return
        await self.hub.deliver_sync(sub, pages, self.config.sync_timeout_ms / 1000)

    async def _leave(self, client: Client, data: SubscriptionData) -> None:
        sub = self.hub.remove(client, data.subscription_id)
        await self.leaves.notify(self._join_leave_event(client, sub or data))
