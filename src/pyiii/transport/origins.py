"""Which browser pages may open a WebSocket to a worker listener (issue 16 item 11).

A browser always sends ``Origin`` on a WebSocket handshake and lets any page open one to any
address, so without this check a web page the developer visits could connect to the trusted
worker port on localhost and call ``state::set``. SDK clients (Python, Node iii-sdk) send no
``Origin`` and are not affected.

* Trusted listener (no ``rbac`` block): browsers do not belong here; a handshake with an
  ``Origin`` is refused unless the origin is listed in ``allowed_origins``.
* RBAC listener: meant for browsers, each session authenticated by the auth function; any
  origin is accepted unless ``allowed_origins`` is given, which is then honoured.

``allowed_origins`` entries are origins (``https://app.example.com``, compared without case or
a trailing slash) or ``"*"`` for any.
"""

from __future__ import annotations


def normalize(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str | None, allowed: list[str] | None, rbac: bool) -> bool:
    """Whether a handshake carrying ``origin`` (``None``: no header) may proceed."""
    if origin is None:
        return True
    if allowed is None:
        return rbac
    wanted = normalize(origin)
    return any(entry == "*" or normalize(entry) == wanted for entry in allowed)
