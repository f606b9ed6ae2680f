"""Is this URL one the engine may call? (spec §5: allowlist, private addresses, https).

With ``block_private_ips`` the host is resolved here and the request is then sent to the very
address that was checked (the Host header and TLS SNI keep the name), so a DNS answer that
changes between the check and the connection cannot steer the call to a private address.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pyiii.workers.http_functions.config import SecurityConfig

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRejected(ValueError):
    code = "url_validation_failed"


@dataclass(slots=True, frozen=True)
class Target:
    #: What to connect to (the checked IP in place of the name when pinned).
    url: str
    #: ``Host`` header / SNI name to send when the URL was pinned to an address.
    host_header: str | None = None
    sni_hostname: str | None = None


def is_blocked(address: IPAddress) -> bool:
    """Anything not globally routable: loopback, private, link-local, CGNAT, doc ranges..."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


class UrlGuard:
    def __init__(self, security: SecurityConfig) -> None:
        self.security = security
        patterns = [p.lower() for p in security.url_allowlist]
        self.any_host = not patterns or "*" in patterns
        self.patterns = patterns

    async def check(self, url: str) -> Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise UrlRejected(f"invalid URL {url!r}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise UrlRejected(f"URL scheme must be http or https: {url!r}")
        if self.security.require_https and scheme != "https":
            raise UrlRejected(f"URL must use https (security.require_https): {url!r}")
        host = (parts.hostname or "").lower()
        if not host:
            raise UrlRejected(f"URL has no host: {url!r}")
        if not self.any_host and not any(fnmatch.fnmatchcase(host, p) for p in self.patterns):
            raise UrlRejected(f"host {host!r} is not in security.url_allowlist")
        if not self.security.block_private_ips:
            return Target(url)
        addresses = await _resolve(host, port or (443 if scheme == "https" else 80))
        blocked = [str(a) for a in addresses if is_blocked(a)]
        if blocked:
            raise UrlRejected(f"host {host!r} resolves to a non-public address ({blocked[0]}); "
                              "security.block_private_ips forbids it")
        pinned = addresses[0]
        literal = f"[{pinned}]" if pinned.version == 6 else str(pinned)
        netloc = f"{literal}:{port}" if port else literal
        host_header = parts.netloc.rpartition("@")[2]
        return Target(urlunsplit((scheme, netloc, parts.path, parts.query, "")), host_header,
                      host if scheme == "https" and not _is_ip(host) else None)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UrlRejected(f"cannot resolve host {host!r}: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UrlRejected(f"host {host!r} has no address")
    return addresses
