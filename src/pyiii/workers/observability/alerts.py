"""Alert rules over the engine metrics (spec §11.1 ``alerts``), evaluated every few seconds.

``metric`` is a dotted path into ``engine_metrics`` (``invocations.error``,
``performance.p99_duration_ms``, ``workers.active``, ``invocations.by_function.<id>.error``)
or ``error_rate`` (percent of failed calls). Counters (``invocations.*``, ``workers.spawns``,
``workers.deaths``) and ``error_rate`` are measured over ``window_seconds``; the rest are
current values.
"""

from __future__ import annotations

import logging
import operator
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from pyiii.core import Host
from pyiii.workers.observability.config import AlertRule

#: Not "pyiii.observability": alert log lines are meant to land in the log store.
alert_log = logging.getLogger("pyiii.alerts")

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, "greaterthan": operator.gt, ">=": operator.ge, "greaterthanorequal": operator.ge,
    "<": operator.lt, "lessthan": operator.lt, "<=": operator.le, "lessthanorequal": operator.le,
    "==": operator.eq, "equal": operator.eq, "!=": operator.ne, "notequal": operator.ne,
}
_HISTORY = 512


def lookup(snapshot: dict[str, Any], path: str) -> float | None:
    node: Any = snapshot
    for part in _split(path):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def _split(path: str) -> list[str]:
    # Function ids contain "::" and maybe dots: by_function.<rest up to the last segment>.<field>
    if ".by_function." in path:
        head, rest = path.split(".by_function.", 1)
        fid, _, field = rest.rpartition(".")
        return [*head.split("."), "by_function", fid, field]
    return path.split(".")


def _is_counter(path: str) -> bool:
    return path.startswith("invocations.") or path in ("workers.spawns", "workers.deaths")


class Alerts:
    def __init__(self, host: Host, rules: list[AlertRule], snapshot: Callable[[], dict[str, Any]]) -> None:
        self.host = host
        self.rules = [r for r in rules if r.operator in _OPS]
        self.snapshot = snapshot
        self.history: deque[tuple[float, dict[str, Any]]] = deque(maxlen=_HISTORY)
        self.state: dict[str, dict[str, Any]] = {}
        self.last_evaluated_ms: int | None = None

    def _value(self, rule: AlertRule, now: float, current: dict[str, Any]) -> float | None:
        past = next((snap for t, snap in self.history if t >= now - rule.window_seconds), None)
        if rule.metric == "error_rate":
            errors = lookup(current, "invocations.error") or 0.0
            total = lookup(current, "invocations.total") or 0.0
            if past is not None:
                errors -= lookup(past, "invocations.error") or 0.0
                total -= lookup(past, "invocations.total") or 0.0
            return errors / total * 100 if total > 0 else 0.0
        value = lookup(current, rule.metric)
        if value is not None and past is not None and _is_counter(rule.metric):
            value -= lookup(past, rule.metric) or 0.0
        return value

    async def evaluate(self) -> list[dict[str, Any]]:
        now = time.time()
        current = self.snapshot()
        triggered = []
        for rule in self.rules:
            if not rule.enabled:
                continue
            value = self._value(rule, now, current)
            firing = value is not None and _OPS[rule.operator](value, rule.threshold)
            state = self.state.setdefault(rule.name, {"name": rule.name, "metric": rule.metric,
                                                      "threshold": rule.threshold, "operator": rule.operator,
                                                      "firing": False, "last_fired_ms": None})
            state["value"] = value
            state["firing"] = firing
            if not firing:
                continue
            last = state["last_fired_ms"]
            if last is not None and now * 1000 - last < rule.cooldown_seconds * 1000:
                continue
            state["last_fired_ms"] = int(now * 1000)
            alert = {**state, "message": f"{rule.name}: {rule.metric}={value:g} {rule.operator} {rule.threshold:g}"}
            triggered.append(alert)
            await self._act(rule, alert)
        self.history.append((now, current))
        self.last_evaluated_ms = int(now * 1000)
        return triggered

    async def _act(self, rule: AlertRule, alert: dict[str, Any]) -> None:
        action = rule.action
        if action.type == "log":
            alert_log.warning("alert firing: %s", alert["message"])
        elif action.type == "webhook" and action.url:
            import httpx  # ~60 ms to import: only once a webhook alert fires, not at engine start

            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    await client.post(action.url, json=alert)
            except httpx.HTTPError as exc:
                alert_log.warning("alert %s: webhook %s failed: %s", rule.name, action.url, exc)
        elif action.type == "function" and action.path:
            self.host.call_void(action.path, alert)

    def listing(self) -> dict[str, Any]:
        firing = [s for s in self.state.values() if s["firing"]]
        return {
            "alerts": firing,
            "rules": [{"name": r.name, "metric": r.metric, "threshold": r.threshold, "operator": r.operator,
                       "window_seconds": r.window_seconds, "cooldown_seconds": r.cooldown_seconds,
                       "enabled": r.enabled, "action": {"type": r.action.type, "url": r.action.url,
                                                        "path": r.action.path}}
                      for r in self.rules],
            "firing_count": len(firing),
            "timestamp": int(time.time() * 1000),
        }
