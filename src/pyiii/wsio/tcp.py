"""Socket options both backends set on every TCP socket they own."""

from __future__ import annotations

import socket


def set_nodelay(sock: socket.socket | None) -> None:
    """TCP_NODELAY: a frame leaves at once instead of waiting for the previous one's ACK (Nagle),
    which would add up to 40 ms to a request/response exchange. Unix sockets have no such option."""
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
