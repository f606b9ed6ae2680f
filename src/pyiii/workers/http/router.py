"""A segment trie of routes: lookup cost depends on the path's depth, not the number of routes.

Static segments win over parameters, with backtracking (``/users/me/posts`` still reaches
``/users/:id/posts`` when ``/users/me`` has no ``posts`` child). The node reached by the path
decides: a path that matches but lacks the method is a 405, never a fallback to another node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyiii.workers.http.paths import pattern_segments

SUPPORTED_METHODS = frozenset(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"))


class RouteConflict(ValueError):
    pass


@dataclass(slots=True)
class Route:
    method: str
    #: The pattern as the request object shows it (leading ``/``, spelling as registered).
    pattern: str
    param_names: tuple[str, ...]
    binding_id: str
    function_id: str
    binding: Any
    middleware_ids: tuple[str, ...] = ()
    condition_id: str | None = None
    #: Per-route timeout in seconds; ``None`` uses the worker default.
    timeout: float | None = None


@dataclass(slots=True)
class _Node:
    static: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    routes: dict[str, Route] = field(default_factory=dict)


@dataclass(slots=True)
class Match:
    routes: dict[str, Route]
    values: list[str]


class Router:
    def __init__(self) -> None:
        self._root = _Node()
        #: binding id -> its route, for replacement and removal.
        self._by_binding: dict[str, Route] = {}

    def __len__(self) -> int:
        return len(self._by_binding)

    def add(self, route: Route) -> None:
        """Insert ``route``; a route of the same binding id is replaced. Raises RouteConflict."""
        shape = pattern_segments(route.pattern)
        names = tuple(name for _, name in shape if name is not None)
        route.param_names = names
        existing = self._find(shape)
        held = existing.routes.get(route.method) if existing is not None else None
        if held is not None and held.binding_id != route.binding_id and held.param_names != names:
            raise RouteConflict(
                f"Route '{route.method} {route.pattern}' conflicts with already-registered route "
                f"'{held.method} {held.pattern}' (same shape, different parameter names)"
            )
        self.remove(route.binding_id)
        node = self._root
        for text, name in shape:
            if name is not None:
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                node = node.static.setdefault(text, _Node())
        replaced = node.routes.get(route.method)
        if replaced is not None:
            self._by_binding.pop(replaced.binding_id, None)  # same method+path: last one wins
        node.routes[route.method] = route
        self._by_binding[route.binding_id] = route

    def remove(self, binding_id: str) -> Route | None:
        """Remove the route of ``binding_id`` if it still holds its method+path."""
        route = self._by_binding.pop(binding_id, None)
        if route is None:
            return None
        shape = pattern_segments(route.pattern)
        trail: list[tuple[_Node, str | None]] = []
        node = self._root
        for text, name in shape:
            trail.append((node, None if name is not None else text))
            nxt = node.param if name is not None else node.static.get(text)
            assert nxt is not None
            node = nxt
        if node.routes.get(route.method) is route:
            del node.routes[route.method]
        # Prune nodes left empty, so churn does not grow the trie.
        for parent, key in reversed(trail):
            child = parent.param if key is None else parent.static[key]
            assert child is not None
            if child.routes or child.static or child.param is not None:
                break
            if key is None:
                parent.param = None
            else:
                del parent.static[key]
        return route

    def match(self, segments: list[str]) -> Match | None:
        values: list[str] = []
        node = self._walk(self._root, segments, 0, values)
        return Match(node.routes, values) if node is not None else None

    def _walk(self, node: _Node, segments: list[str], index: int, values: list[str]) -> _Node | None:
        if index == len(segments):
            return node if node.routes else None
        segment = segments[index]
        child = node.static.get(segment)
        if child is not None:
            found = self._walk(child, segments, index + 1, values)
            if found is not None:
                return found
        if node.param is not None and segment:
            values.append(segment)
            found = self._walk(node.param, segments, index + 1, values)
            if found is not None:
                return found
            values.pop()
        return None

    def _find(self, shape: list[tuple[str, str | None]]) -> _Node | None:
        node: _Node | None = self._root
        for text, name in shape:
            if node is None:
                return None
            node = node.param if name is not None else node.static.get(text)
        return node
