"""The one place the SDK compiles an observer filter (spec iii-0.23-0.25 §5.12).

An owner compiles the filters the engine pushes (``functionregistered`` / ``observeradded``) to
match its local invocations and ``obs.emit`` events; a filter it cannot compile is rejected with
``INVALID_FILTER``. The evaluator is ``pyiii.observe_filter`` (a pure leaf shared with the engine).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pyiii.observe_filter import FilterError, compile_filter


class Matcher(Protocol):
    def matches(self, doc: Mapping[str, Any]) -> bool: ...


class InvalidFilter(Exception):
    """The pushed filter does not compile: the owner rejects the observer with this message."""

    code = "INVALID_FILTER"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _MatchAll:
    def matches(self, doc: Mapping[str, Any]) -> bool:
        return True


def compile_observer_filter(value: Any) -> Matcher:
    """A matcher for a pushed filter; absent or ``{}`` matches everything.

    Filters the engine pushes are in normal form, which may be longer than what the observer wrote,
    so the size limit is not applied to them (spec §5.12.4)."""
    if value is None or value == {}:
        return _MatchAll()
    if not isinstance(value, dict):
        raise InvalidFilter("a filter must be a JSON object")
    try:
        compiled: Matcher = compile_filter(value, check_size=False)
    except FilterError as exc:
        raise InvalidFilter(exc.message) from None
    return compiled
