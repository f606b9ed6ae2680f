"""One WebSocket listener (an ``iii-worker-manager`` entry): ``/``, ``/otel`` and
``/ws/channels/{id}`` (spec/protocol.md §1).

Every limit is configurable: frame size, connections, handshake deadline, heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from http import HTTPStatus
from urllib.parse import parse_qs

import msgspec

from pyiii import protocol as p
from pyiii import wsio
from pyiii.core.access import parse_expose_rules
from pyiii.core.engine import Engine
from pyiii.core.session import Session
from pyiii.transport import health
from pyiii.transport.channel_endpoint import ABORTED_CODE, ABORTED_REASON, serve_reader, serve_writer
from pyiii.transport.origins import origin_allowed
from pyiii.transport.rbac import AuthRefused, PendingAuth, RbacConfig, authenticate
from pyiii.transport.ws_peer import WebSocketPeer
from pyiii.wsio import Accept, Connection, ConnectionClosed, HttpReply, Request

log = logging.getLogger("pyiii.listener")

CHANNEL_PREFIX = "/ws/channels/"


class ListenerConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    port: int = 49134
    #: Loopback unless a config (or `pyiii --host`) names another address (ARCHITECTURE rule 9).
    host: str = "127.0.0.1"
    handshake_timeout_ms: int = 10_000
    middleware_function_id: str | None = None
    rbac: RbacConfig | None = None
    #: Browser origins allowed to open a WebSocket here (see transport/origins.py). Unset: none on
    #: a trusted listener, any on an RBAC listener. Clients that send no Origin (SDKs) always pass.
    allowed_origins: list[str] | None = None
    #: Largest inbound message (bytes); larger ones close the connection with 1009.
    max_frame_bytes: int = 64 * 1024 * 1024
    max_connections: int = 10_000
    #: Heartbeat: ping every interval, drop a peer that has not answered within the timeout.
    #: A half-open peer is gone after at most interval + timeout + close_timeout (31 s by
    #: default, under the "2x heartbeat interval" goal of fault F4).
    ping_interval_ms: int = 20_000
    ping_timeout_ms: int = 10_000
    #: How long a closing connection may take to answer our close frame before it is aborted;
    #: it also bounds how long a peer that failed the heartbeat keeps its socket.
    close_timeout_ms: int = 1_000


def _text_response(status: HTTPStatus, body: dict[str, object]) -> HttpReply:
    return HttpReply.json(status.value, body)


class Listener:
    def __init__(self, engine: Engine, config: ListenerConfig, name: str = "main") -> None:
        self.engine = engine
        self.config = config
        self.name = name
        self.expose = parse_expose_rules(config.rbac.expose_functions) if config.rbac else []
        self.pending_auth = PendingAuth(config.rbac.max_pending_handshakes) if config.rbac else None
        self._server: wsio.Server | None = None
        self._connections: set[Connection] = set()

    @property
    def port(self) -> int:
        """The bound port (useful with ``port: 0``)."""
        assert self._server is not None
        return self._server.port

    async def start(self) -> None:
        cfg = self.config
        self._server = await wsio.serve(
            self._handle,
            cfg.host,
            cfg.port,
            upgrade=self._route,
            options=wsio.Options.from_millis(
                max_message_bytes=cfg.max_frame_bytes, handshake_timeout_ms=cfg.handshake_timeout_ms,
                ping_interval_ms=cfg.ping_interval_ms, ping_timeout_ms=cfg.ping_timeout_ms,
                close_timeout_ms=cfg.close_timeout_ms,
            ),
        )
        log.info("listener %s on %s:%d (WebSocket backend %s)", self.name, cfg.host, self.port, self._server.backend)

    async def stop(self) -> None:
        if self._server is None:
            return
        await self._server.close()

    # ------------------------------------------------------------------ routing

    async def _route(self, request: Request) -> HttpReply | Accept | None:
        path = request.path
        if path in health.PATHS:
            # No error text where untrusted clients connect.
            return await health.probe(self.engine, path, detail=self.config.rbac is None)
        origin = request.header("Origin")
        if not origin_allowed(origin, self.config.allowed_origins, self.config.rbac is not None):
            log.warning("WebSocket from origin %r refused: not in allowed_origins of listener %s", origin, self.name)
            return _text_response(
                HTTPStatus.FORBIDDEN,
                {"error": {"code": "FORBIDDEN_ORIGIN", "message": f"origin {origin!r} is not allowed on this port"}},
            )
        if len(self._connections) >= self.config.max_connections:
            return _text_response(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {
                    "error": {
                        "code": "too_many_connections",
                        "message": f"listener limit of {self.config.max_connections} reached",
                    }
                },
            )
        if path in ("/", "", "/otel"):
            if self.pending_auth is not None and self.pending_auth.full:
                return _text_response(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    {"error": {"code": "too_many_pending_handshakes", "message": self.pending_auth.refusal()}},
                )
            return None
        if path.startswith(CHANNEL_PREFIX):
            channel_id = path[len(CHANNEL_PREFIX) :]
            query = parse_qs(request.query)
            key = query.get("key", [""])[0]
            direction = query.get("dir", [""])[0]
            channels = self.engine.channels
            if direction not in ("read", "write") or (
                channels.lookup(channel_id, key) is None
                and not (direction == "read" and channels.was_aborted(channel_id, key))
            ):
                return _text_response(
                    HTTPStatus.NOT_FOUND, {"error": {"code": "NOT_FOUND", "message": "Channel not found"}}
                )
            return None
        return _text_response(HTTPStatus.NOT_FOUND, {"error": {"code": "NOT_FOUND", "message": "Not Found"}})

    async def _handle(self, connection: Connection) -> None:
        self._connections.add(connection)
        try:
            request = connection.request
            if request.path.startswith(CHANNEL_PREFIX):
                await self._serve_channel(connection, request.path[len(CHANNEL_PREFIX) :], request.query)
            elif request.path == "/otel":
                await self._serve_otel(connection, request.query)
            else:
                await self._serve_worker(connection, request.query)
        finally:
            self._connections.discard(connection)

    # ------------------------------------------------------------------ endpoints

    async def _session(self, connection: Connection, query: str) -> object:
        headers = connection.request.lowercase_headers()
        remote = connection.remote_address
        ip = remote[0] if remote else None
        try:
            return await authenticate(
                self.engine,
                self.config.rbac,
                self.expose,
                self.config.middleware_function_id,
                headers,
                query,
                ip,
                self.pending_auth,
            )
        except Exception as exc:  # AuthRefused, or anything else: fail closed
            # The client gets no detail (the auth function's error text, a validation message
            # or a timeout may name internals); the log has it under the same error_id.
            error_id = secrets.token_hex(6)
            if isinstance(exc, AuthRefused):
                log.info("connection from %s to listener %s refused [error_id=%s]: %s", ip, self.name, error_id, exc)
            else:
                log.exception("connection from %s to listener %s refused [error_id=%s]", ip, self.name, error_id)
            try:
                await connection.send_text(p.encode(p.ErrorFrame(error=p.ErrorBody(
                    code="AUTH_ERROR", message=f"authentication failed (error_id {error_id})"))))
                await connection.close(1008, "unauthorized")
            except ConnectionClosed:
                pass
            return None

    async def _serve_worker(self, connection: Connection, query: str) -> None:
        from pyiii.core.access import Access

        access = await self._session(connection, query)
        if not isinstance(access, Access):
            return
        remote = connection.remote_address
        peer = WebSocketPeer(
            connection,
            str(uuid.uuid4()),
            str(uuid.uuid4()),
            ip_address=remote[0] if remote else None,
            listener=self.name,
            access=access,
        )
        limits = self.engine.limits
        session = Session(self.engine, peer, hold_grace_ms=limits.registration_namespace_grace_ms,
                          hold_quiet_ms=limits.namespace_hold_quiet_ms)
        try:
            await self.engine.connect_peer(peer)
            # Frames in order, text undecoded (bytes); on picows each is handled as it arrives,
            # without a task switch (wsio/inline.py).
            await connection.serve(session.handle_frame, inline=wsio.every_message)
        except ConnectionClosed as exc:
            if exc.code == wsio.MESSAGE_TOO_BIG:
                log.warning(
                    "worker %s sent a frame over max_frame_bytes=%d; connection closed",
                    peer.display_name,
                    self.config.max_frame_bytes,
                )
        except ConnectionError:
            # The worker went away while the engine was writing to it (e.g. it broke the
            # protocol right after the upgrade): a disconnect like any other.
            log.debug("worker %s disconnected while being written to", peer.worker_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker connection %s failed", peer.worker_id)
        finally:
            await self.engine.disconnect_peer(peer)

    async def _serve_otel(self, connection: Connection, query: str) -> None:
        if await self._session(connection, query) is None:
            return
        async for message in connection:
            if isinstance(message, bytes) and message[:4] in p.TELEMETRY_PREFIXES:
                sink = self.engine.telemetry_sink
                if sink is not None:
                    try:
                        sink(message[:4], message[4:])
                    except Exception:
                        log.exception("telemetry frame rejected")

    async def _serve_channel(self, connection: Connection, channel_id: str, query: str) -> None:
        params = parse_qs(query)
        direction = params.get("dir", [""])[0]
        key = params.get("key", [""])[0]
        channel = self.engine.channels.lookup(channel_id, key)
        if channel is None:
            if direction == "read" and self.engine.channels.was_aborted(channel_id, key):
                await connection.close(ABORTED_CODE, ABORTED_REASON)  # it broke off before we came
            else:
                await connection.close(1008, "channel not found")
            return
        if direction == "write":
            if channel.writer_taken:
                await connection.close(1008, "channel writer already connected")
                return
            channel.writer_taken = True
            await serve_writer(connection, channel, self.engine.channels)
        else:
            if channel.reader_taken:
                await connection.close(1008, "channel reader already connected")
                return
            channel.reader_taken = True
            await serve_reader(connection, channel, self.engine.channels)
