"""The client WebSocket endpoint on port 3112 (spec/workers.md §7.5), built on ``websockets``.

Authentication happens before the upgrade: with ``auth_function`` set, a refusal is an
HTTP 401 response and no WebSocket is opened (see README "Authentication").
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from pyiii.core import FunctionError, Host
from pyiii.workers.stream.auth import auth_verdict
from pyiii.workers.stream.config import StreamConfig
from pyiii.workers.stream.hub import Client, Hub, Subscription
from pyiii.workers.stream.payloads import ClientMessage, SubscriptionData
from pyiii.workers.stream.triggers import JoinLeaveTriggers

log = logging.getLogger("pyiii.stream")

#: Builds the encoded snapshot messages (``sync``, then ``create``s) for a new subscription.
SyncBuilder = Callable[[SubscriptionData], Awaitable[Iterable[bytes]]]
#: Builds the encoded ``unauthorized`` envelope.
RefusalBuilder = Callable[[SubscriptionData], bytes]


def _response(status: HTTPStatus, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


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
        self._server: Server | None = None
        self._contexts: dict[uuid.UUID, Any] = {}
        self.clients: set[Client] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        cfg = self.config
        self._server = await serve(
            self._handle, cfg.host, cfg.port,
            process_request=self._admit,
            compression=None,  # deflate would cost a zlib context per client and re-compress every event
            max_size=cfg.max_message_bytes,
            open_timeout=cfg.handshake_timeout_ms / 1000,
            ping_interval=cfg.ping_interval_ms / 1000 if cfg.ping_interval_ms > 0 else None,
            ping_timeout=cfg.ping_timeout_ms / 1000 if cfg.ping_timeout_ms > 0 else None,
            close_timeout=cfg.close_timeout_ms / 1000,
            max_queue=16,
            server_header=None,
        )

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close(close_connections=False)
        for client in list(self.clients):
            client.connection.transport.abort()
        await self._server.wait_closed()

    # ------------------------------------------------------------------ admission

    async def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        split = urlsplit(request.path)
        if split.path not in ("/", ""):
            return _response(HTTPStatus.NOT_FOUND, "NOT_FOUND", "the stream endpoint is `/`")
        if len(self.clients) >= self.config.max_connections:
            return _response(HTTPStatus.SERVICE_UNAVAILABLE, "too_many_connections",
                             f"stream server limit of {self.config.max_connections} connections reached")
        auth = self.config.auth_function
        if not auth:
            return None
        remote = connection.remote_address
        payload = {
            "headers": {k.lower(): v for k, v in request.headers.raw_items()},
            "path": split.path or "/",
            "query_params": parse_qs(split.query, keep_blank_values=True),
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
        self._contexts[connection.id] = context
        return None

    # ------------------------------------------------------------------ one client

    async def _handle(self, connection: ServerConnection) -> None:
        sock = connection.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = Client(connection, self._contexts.pop(connection.id, None))
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
        except ConnectionClosed:
            pass
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
