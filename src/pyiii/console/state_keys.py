"""Keys for state values. ``state::list`` returns values only (no keys), so the console finds
each value's key by trying its identifying fields and confirming with ``state::get``, then by
comparing with the keys it wrote or opened recently. Values whose key stays unknown are shown
read-only (open them by key)."""

from __future__ import annotations

import asyncio
from typing import Any

from pyiii.console.caller import Caller

CANDIDATE_FIELDS = ("id", "key", "_id", "uuid", "name", "slug")
#: Recently written/opened keys kept per scope (each costs one state::get per page view).
KNOWN_KEYS_CAP = 64


class KeyFinder:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.known: dict[str, dict[str, None]] = {}  # scope -> insertion-ordered keys

    def remember(self, scope: str, key: str) -> None:
        keys = self.known.setdefault(scope, {})
        keys.pop(key, None)
        keys[key] = None
        while len(keys) > KNOWN_KEYS_CAP:
            keys.pop(next(iter(keys)))

    def forget(self, scope: str, key: str) -> None:
        self.known.get(scope, {}).pop(key, None)

    async def rows(self, scope: str, values: list[Any]) -> list[dict[str, Any]]:
        """``[{key, value}]`` for one page of values; ``key`` is null when it cannot be found."""
        keys = list(await asyncio.gather(*(self._by_field(scope, v) for v in values)))
        if any(k is None for k in keys):
            known = await self._known_values(scope)
            for i, value in enumerate(values):
                if keys[i] is None:
                    keys[i] = next((k for k, stored in known if stored == value), None)
        return [{"key": k, "value": v} for k, v in zip(keys, values, strict=True)]

    async def _known_values(self, scope: str) -> list[tuple[str, Any]]:
        keys = list(self.known.get(scope, {}))
        values = await asyncio.gather(*(self.caller.call("state::get", {"scope": scope, "key": k}) for k in keys))
        return [(k, v) for k, v in zip(keys, values, strict=True) if v is not None]

    async def _by_field(self, scope: str, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        for field in CANDIDATE_FIELDS:
            candidate = value.get(field)
            if isinstance(candidate, str | int) and not isinstance(candidate, bool):
                if await self.caller.call("state::get", {"scope": scope, "key": str(candidate)}) == value:
                    return str(candidate)
        return None
