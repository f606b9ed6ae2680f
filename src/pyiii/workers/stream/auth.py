"""How the stream port reads an auth function's answer: it fails closed.

Only an explicit allow admits a connection (README "Authentication"):

* ``true``;
* an object that does not deny: the reference SDKs' ``StreamAuthResult`` ``{"context": X}``
  (``{}`` when its context is unset: the Python SDK drops ``None`` fields), Motia's
  ``{"authorized": true, "context"?}``, or ``{"unauthorized": false}``.

An object denies when ``authorized`` is present and not ``true`` or ``unauthorized`` is present
and not ``false``. Everything else refuses: ``false``, ``null`` (a forgotten ``return``), a
string, a number, an array; so do an error and a timeout of the call (the caller's side). The
reference engine admits every answer; pyiii does not.
"""

from __future__ import annotations

from typing import Any


def auth_verdict(result: Any) -> tuple[bool, Any]:
    """``(allowed, context)`` for an auth function's result."""
    if result is True:
        return True, None
    if not isinstance(result, dict):
        return False, None
    if "authorized" in result and result["authorized"] is not True:
        return False, None
    if "unauthorized" in result and result["unauthorized"] is not False:
        return False, None
    return True, result.get("context")


def join_verdict(result: Any) -> bool:
    """Whether one ``stream:join`` handler lets a join through. A handler may say nothing
    (``null``, ``{}``: a hook that only observes); any denial refuses: ``false``,
    ``authorized`` other than ``true``, ``unauthorized`` other than ``false``. (An error or a
    timeout of the handler refuses too: the caller's side.)"""
    if result is False:
        return False
    if not isinstance(result, dict):
        return True
    if result.get("authorized") not in (None, True):
        return False
    return result.get("unauthorized") in (None, False)
