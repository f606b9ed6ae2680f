"""The HTTP status of a function's error (spec/workers.md §4.9).

Most errors are the function's own business: 500. Two engine codes say something the client can
act on, so they get the status a client or load balancer understands: an overloaded target
(``limit_exceeded``: the worker's pending-call quota or this caller's share of it is full) is
503 with ``Retry-After``, and a call that did not answer in time is 504. ``function_not_found``
stays 500, as in the reference (the route exists, its worker is gone).
"""

from __future__ import annotations

from pyiii.core import error_codes as E

#: What a client reads for a 503 when ``expose_errors`` is off (the log has the engine's text).
OVERLOADED_MESSAGE = "The service is overloaded; retry later"

_STATUS = {E.LIMIT_EXCEEDED: 503, E.INVOCATION_TIMEOUT: 504}


def status_for(code: str) -> int:
    return _STATUS.get(code, 500)
