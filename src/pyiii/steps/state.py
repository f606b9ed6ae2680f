"""``ctx.state`` / ``stateManager``: the iii-state functions with Motia's method names.

Every method works awaited (async handlers) and called directly (sync handlers); see
:mod:`pyiii.steps.calls`.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from typing import Any

from pyiii.steps import runtime
from pyiii.steps.calls import call, on_event_loop, then

#: scope -> keys written through pyiii.steps in this process (see :meth:`StateManager.clear`).
_known_keys: dict[str, set[str]] = {}
_known_lock = threading.Lock()


def _remember(scope: str, key: str) -> None:
    with _known_lock:
        _known_keys.setdefault(scope, set()).add(key)


def _forget(scope: str, key: str) -> None:
    with _known_lock:
        _known_keys.get(scope, set()).discard(key)


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) and not isinstance(value, type) else value


class StateManager:
    """Scope ("group id") → key → JSON value."""

    def get(self, scope: str, key: str) -> Any:
        return call("state::get", {"scope": scope, "key": key})

    def set(self, scope: str, key: str, value: Any) -> Any:
        """Returns ``{"old_value", "new_value"}``."""
        _remember(scope, key)
        return call("state::set", {"scope": scope, "key": key, "value": _dump(value)})

    def update(self, scope: str, key: str, ops: list[dict[str, Any]]) -> Any:
        _remember(scope, key)
        return call("state::update", {"scope": scope, "key": key, "ops": [_dump(op) for op in ops]})

    def delete(self, scope: str, key: str) -> Any:
        """Returns the deleted value (or ``None``)."""
        _forget(scope, key)
        return call("state::delete", {"scope": scope, "key": key})

    def list(self, scope: str) -> Any:
        """Every value in ``scope`` (values only, like ``state::list``)."""
        return call("state::list", {"scope": scope})

    #: Motia G0 name.
    get_group = list

    def list_groups(self) -> Any:
        """Every scope name (a list; the engine answers ``{"groups": [...]}``)."""
        return then(call("state::list_groups", {}), _groups)

    def clear(self, scope: str) -> Any:
        """Delete every key of ``scope``; returns how many were deleted.

        ``state::list`` returns values without their keys, so the keys come from two places:
        every key written through pyiii.steps in this process, and the ``id`` field of listed
        values (Motia's convention). A value written by another process under a key that is not
        its ``id`` survives: delete it by key. See docs/steps.md.
        """
        if on_event_loop():
            return asyncio.ensure_future(self._clear_async(scope))
        return self._clear_sync(scope)

    def _keys(self, scope: str, values: Any) -> builtins.set[str]:
        with _known_lock:
            keys = set(_known_keys.get(scope, set()))
        for value in values or []:
            if isinstance(value, dict) and isinstance(value.get("id"), str | int):
                keys.add(str(value["id"]))
        return keys

    def _clear_sync(self, scope: str) -> int:
        client = runtime.client()
        values = client.trigger({"function_id": "state::list", "payload": {"scope": scope}})
        keys = self._keys(scope, values)
        for key in keys:
            client.trigger({"function_id": "state::delete", "payload": {"scope": scope, "key": key}})
            _forget(scope, key)
        return len(keys)

    async def _clear_async(self, scope: str) -> int:
        client = runtime.client()
        values = await client.trigger_async({"function_id": "state::list", "payload": {"scope": scope}})
        keys = self._keys(scope, values)
        for key in keys:
            await client.trigger_async({"function_id": "state::delete", "payload": {"scope": scope, "key": key}})
            _forget(scope, key)
        return len(keys)


def _groups(result: Any) -> list[str]:
    if isinstance(result, dict):
        return list(result.get("groups") or [])
    return list(result or [])
