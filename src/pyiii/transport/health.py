"""``/healthz`` and ``/readyz`` on every worker listener (docs/deployment.md).

* ``/healthz`` (liveness): 200 while the event loop answers at all — restart the process when
  this fails.
* ``/readyz`` (readiness): 200 only once every configured worker has started (adapters
  connected) and every registered adapter check holds, and not while shutting down; 503
  otherwise, so a load balancer sends new work elsewhere during start-up, an outage of Redis
  or the shutdown grace period. ``adapters`` names each check with its error text and the time
  it ran (checks are bounded by a timeout and cached briefly, pyiii.core.health); a listener
  with an ``rbac`` block shows only the status and a boolean per check.
"""

from __future__ import annotations

from http import HTTPStatus

from pyiii.core.engine import Engine
from pyiii.core.health import HealthStatus
from pyiii.wsio import HttpReply

PATHS = ("/healthz", "/readyz")


def _json(status: HTTPStatus, body: dict[str, object]) -> HttpReply:
    return HttpReply.json(status.value, body, (("Cache-Control", "no-store"),))


async def readiness(engine: Engine) -> tuple[bool, dict[str, HealthStatus]]:
    checks = await engine.health.report()
    ready = engine.ready and not engine.stopping and all(c.ok for c in checks.values())
    return ready, checks


async def probe(engine: Engine, path: str, detail: bool = True) -> HttpReply:
    """``detail`` off (a listener facing browsers or untrusted workers): the status and one
    boolean per check only. An adapter's error text names hosts and ports of the private
    network; the operator reads it on a trusted listener or in the log."""
    if path == "/healthz":
        return _json(HTTPStatus.OK, {"status": "ok", "stopping": engine.stopping})
    ready, checks = await readiness(engine)
    status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
    state = "ready" if ready else ("stopping" if engine.stopping else "not_ready")
    body: dict[str, object] = {"status": state, "checks": {name: c.ok for name, c in checks.items()}}
    if detail:
        body.update(started=engine.ready, adapters={name: c.to_json() for name, c in checks.items()},
                    workers=len(engine.peers))
    return _json(status, body)
