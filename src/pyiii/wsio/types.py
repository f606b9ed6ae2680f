"""What both WebSocket backends share: the request an upgrade hook sees, its possible answers,
the options of a server or a client, and the errors callers catch."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiii.wsio.connection import Connection

#: Largest message (after reassembly of fragments) a connection accepts by default.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

MESSAGE_TOO_BIG = 1009
ABNORMAL_CLOSURE = 1006


def fit_close_reason(reason: str) -> str:
    """A close reason fits in 123 bytes of UTF-8 (RFC 6455 §5.5): cut on a character boundary
    (websockets refuses a longer one, picows would send it)."""
    return reason.encode()[:123].decode(errors="ignore")


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request on a WebSocket port, before any upgrade."""

    path: str
    query: str
    #: As received, in order (names keep their case).
    headers: tuple[tuple[str, str], ...]
    remote: tuple[str, int] | None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def lowercase_headers(self) -> dict[str, str]:
        return {key.lower(): value for key, value in self.headers}


@dataclass(frozen=True, slots=True)
class HttpReply:
    """Answer the request with plain HTTP instead of upgrading (a refusal, or /healthz)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, body: object, headers: tuple[tuple[str, str], ...] = ()) -> HttpReply:
        return cls(status, json.dumps(body).encode(), (("Content-Type", "application/json"), *headers))

    @property
    def phrase(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"


@dataclass(frozen=True, slots=True)
class Accept:
    """Upgrade, adding ``headers`` to the 101 response; ``state`` is handed to the connection."""

    headers: tuple[tuple[str, str], ...] = ()
    state: object = None


UpgradeHook = Callable[[Request], Awaitable[HttpReply | Accept | None]]
Handler = Callable[["Connection"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Options:
    """Per-connection limits and timers (server and client alike). ``None`` disables a timer."""

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: Until the 101 is sent (server: includes the upgrade hook) or received (client).
    handshake_timeout_s: float | None = 10.0
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 10.0
    #: How long our close frame may wait for the peer's before the socket is aborted.
    close_timeout_s: float = 1.0
    #: Received messages held before reading pauses (TCP backpressure to the sender).
    max_queue: int = 16
    headers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_millis(cls, *, max_message_bytes: int, handshake_timeout_ms: int, ping_interval_ms: int,
                    ping_timeout_ms: int, close_timeout_ms: int, max_queue: int = 16) -> Options:
        """From a config's millisecond settings, where a ping setting of 0 turns that timer off."""
        return cls(
            max_message_bytes=max_message_bytes,
            handshake_timeout_s=handshake_timeout_ms / 1000,
            ping_interval_s=ping_interval_ms / 1000 if ping_interval_ms > 0 else None,
            ping_timeout_s=ping_timeout_ms / 1000 if ping_timeout_ms > 0 else None,
            close_timeout_s=close_timeout_ms / 1000,
            max_queue=max_queue,
        )


class ConnectionClosed(Exception):
    """The connection is closed (``code`` 1006 when it ended without a close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"connection closed: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason


class HandshakeRefused(Exception):
    """A client's upgrade was answered with an HTTP status other than 101."""

    def __init__(self, status: int, body: bytes = b"") -> None:
        super().__init__(f"server refused the WebSocket upgrade with HTTP {status}")
        self.status = status
        self.body = body
