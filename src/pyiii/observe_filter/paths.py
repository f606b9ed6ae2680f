"""Paths (spec §5.12.2): ``root`` then ``.segment``s, parsed once into a resolver.

``\\.`` is a literal dot and ``\\\\`` a backslash inside a segment; any other escape, a trailing
backslash or an empty segment is invalid. A canonical decimal segment (``0``, ``[1-9][0-9]*``, at
most 15 digits) indexes an array and is a plain key on an object. ``@`` (the element ``$any`` is
looking at) is the only root inside an ``$any`` filter and no root anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pyiii.observe_filter.errors import FilterError
from pyiii.observe_filter.values import ABSENT

DOCUMENT_ROOTS: Final = frozenset({"input", "output", "error", "caller", "metadata"})
ELEMENT_ROOT: Final = "@"

_INDEX = re.compile(r"0|[1-9][0-9]{0,14}")

Resolver = Callable[[Any], Any]
"""Scope (the match document, or the ``$any`` element) -> the value at the path, or ABSENT."""


@dataclass(frozen=True, slots=True)
class Path:
    root: str
    #: (object key, array index when the key is canonical) per segment after the root.
    segments: tuple[tuple[str, int | None], ...]


def split(text: str) -> list[str]:
    """The unescaped segments of ``text``, root included."""
    segments: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped not in (".", "\\"):
                what = "a trailing `\\`" if escaped is None else f"the escape `\\{escaped}`"
                raise FilterError(f"path `{text}`: {what} is invalid (only `\\.` and `\\\\`)")
            current.append(escaped)
        elif char == ".":
            segments.append(_segment(current, text))
            current = []
        else:
            current.append(char)
    segments.append(_segment(current, text))
    return segments


def _segment(chars: list[str], text: str) -> str:
    if not chars:
        raise FilterError(f"path `{text}`: empty segment" if text else "empty path")
    return "".join(chars)


def parse_path(text: str, *, in_any: bool, max_segments: int) -> Path:
    root, *rest = split(text)
    if in_any:
        if root != ELEMENT_ROOT:
            raise FilterError(f"path `{text}`: inside $any a path starts with `@` (the array element)")
    elif root not in DOCUMENT_ROOTS:
        hint = " (`@` only inside $any)" if root == ELEMENT_ROOT else ""
        raise FilterError(f"path `{text}`: root `{root}` is not one of {', '.join(sorted(DOCUMENT_ROOTS))}{hint}")
    if len(rest) > max_segments:
        raise FilterError(f"path `{text}`: {len(rest)} segments after the root, more than {max_segments}")
    return Path(root, tuple((key, int(key) if _INDEX.fullmatch(key) else None) for key in rest))


def resolver(path: Path) -> Resolver:
    """A function from scope to value, specialised for the common short paths."""
    root, segments = path.root, path.segments
    if root == ELEMENT_ROOT:
        def start(scope: Any) -> Any:
            return scope
    else:
        def start(scope: Any) -> Any:
            return scope.get(root, ABSENT)
    if not segments:
        return start
    if len(segments) == 1 and segments[0][1] is None:
        (key, _), = segments
        if root == ELEMENT_ROOT:
            return lambda scope: scope.get(key, ABSENT) if isinstance(scope, dict) else ABSENT

        def one_key(scope: Any) -> Any:
            value = scope.get(root, ABSENT)
            return value.get(key, ABSENT) if isinstance(value, dict) else ABSENT
        return one_key

    def walk(scope: Any) -> Any:
        value = start(scope)
        for key, index in segments:
            if isinstance(value, dict):
                value = value.get(key, ABSENT)
            elif index is not None and isinstance(value, list | tuple) and index < len(value):
                value = value[index]
            else:
                return ABSENT
        return value
    return walk
