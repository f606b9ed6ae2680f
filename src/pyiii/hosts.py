"""Host names and addresses: loopback or not, and how a process reaches its own port."""

from __future__ import annotations

import ipaddress

LOOPBACK = "127.0.0.1"
_WILDCARDS = {"", "0.0.0.0", "::", "[::]", "*"}


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps a port on this machine (``localhost``, 127/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def connect_host(bind_host: str) -> str:
    """The address this process reaches its own port on, given the host the port is bound to."""
    return LOOPBACK if bind_host in _WILDCARDS or is_loopback(bind_host) else bind_host
