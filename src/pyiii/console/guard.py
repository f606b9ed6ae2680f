"""Who may drive the console (issue 16 item 11).

The console runs next to the developer's browser, so every web page they visit is a possible
caller. Without these checks a page could ``POST /api/invoke`` (``text/plain`` needs no CORS
preflight) or rebind its own DNS name to 127.0.0.1 and read the API. Every request passes:

1. **Host** must be a loopback name, an IP literal (DNS rebinding always uses a name), or listed
   in ``allowed_hosts``.
2. **Token**, when the console has one (always when it binds beyond loopback): an
   ``Authorization: Bearer`` header, or the cookie set by opening any page once with
   ``?token=...`` (``SameSite=Strict``, ``HttpOnly``).
3. **Origin**, on every state-changing request (any method but GET/HEAD/OPTIONS, and WebSocket
   upgrades): absent (not a browser) or the console's own origin or listed in ``allowed_origins``.
4. **JSON**: a state-changing request with a body must say ``Content-Type: application/json``.

Every response also carries a restrictive Content-Security-Policy and ``nosniff``.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import hdrs, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The UI loads only its own files; inline styles are used by the trace waterfall's bars.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def host_name(host_header: str) -> str:
    """``example.com:3113`` -> ``example.com``; ``[::1]:3113`` -> ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _refuse(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class ConsoleGuard:
    def __init__(self, *, port: int, token: str | None, allowed_hosts: list[str],
                 allowed_origins: list[str]) -> None:
        self.token = token
        self.cookie = f"iii_console_token_{port}"  # cookies ignore ports: one name per console
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.allowed_origins = {o.rstrip("/").lower() for o in allowed_origins}

    # ------------------------------------------------------------------ checks

    def host_allowed(self, request: web.Request) -> bool:
        header = request.headers.get(hdrs.HOST)
        if header is None:
            return True  # HTTP/1.0 clients; browsers always send Host
        name = host_name(header)
        return (name == "localhost" or name.endswith(".localhost") or _is_ip(name)
                or "*" in self.allowed_hosts or name in self.allowed_hosts)

    def origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None:
            # No Origin: not a browser page (or a same-origin GET); fetch metadata may still say.
            return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
        wanted = origin.rstrip("/").lower()
        own = f"{request.scheme}://{request.headers.get(hdrs.HOST, '')}".lower()
        return wanted == own or "*" in self.allowed_origins or wanted in self.allowed_origins

    def presented_token(self, request: web.Request) -> str | None:
        auth = request.headers.get(hdrs.AUTHORIZATION, "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return request.cookies.get(self.cookie) or request.query.get("token")

    def token_ok(self, presented: str | None) -> bool:
        assert self.token is not None
        return presented is not None and hmac.compare_digest(presented.encode(), self.token.encode())

    # ------------------------------------------------------------------ aiohttp glue

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.host_allowed(request):
            return _refuse(403, "FORBIDDEN_HOST", "this Host is not allowed; add it to the console's allowed_hosts")
        if self.token is not None:
            if not self.token_ok(self.presented_token(request)):
                return _refuse(401, "UNAUTHORIZED", "console token required: open the console URL with "
                                                    "?token=<token> once, or send Authorization: Bearer <token>")
            if "token" in request.query and request.method == "GET" and not request.path.startswith("/ws/"):
                return self._remember_token(request)
        changing = request.method not in SAFE_METHODS or request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        if changing and not self.origin_allowed(request):
            return _refuse(403, "FORBIDDEN_ORIGIN", "cross-origin requests may not change the console's engine")
        if request.method not in SAFE_METHODS and request.can_read_body and request.content_type != "application/json":
            return _refuse(415, "UNSUPPORTED_MEDIA_TYPE", "the console API takes application/json bodies only")
        return await handler(request)

    def _remember_token(self, request: web.Request) -> web.StreamResponse:
        """``?token=`` once: keep it in a cookie and drop it from the address bar and history."""
        query = {k: v for k, v in request.query.items() if k != "token"}
        location = request.path + ("?" + urlencode(query) if query else "")
        response = web.HTTPFound(location)
        assert self.token is not None
        response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response

    async def add_headers(self, _request: web.Request, response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
