"""Splitting request paths and route patterns into segments, safely.

Paths are matched raw (not percent-decoded), segment by segment, so an encoded character never
matches a static segment it spells. What is refused outright: dot segments, written plainly or
percent-encoded (``/a/../admin``, ``/%2e%2e/admin``, ``/files/..%2fetc``), and NUL bytes.
Nothing is normalised: ``//x`` and ``/x/`` are different paths from ``/x``, so a request either
reaches exactly the route it names or none.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOT_PARTS = frozenset((".", ".."))


class InvalidPath(ValueError):
    pass


def request_segments(path: str) -> list[str]:
    """``/users/42`` -> ``["users", "42"]``; ``/`` -> ``[]``. Raises InvalidPath."""
    if not path.startswith("/"):
        raise InvalidPath("the request target must be an absolute path")
    if path == "/":
        return []
    segments = path[1:].split("/")
    if "/." not in path and "%" not in path and "\\" not in path:
        return segments  # no segment can be, or decode to, a dot segment or a NUL
    for segment in segments:
        if _is_unsafe(segment):
            raise InvalidPath("dot segments and NUL bytes are not allowed in paths")
    return segments


def _is_unsafe(segment: str) -> bool:
    if segment in _DOT_PARTS:
        return True
    if "%" not in segment and "\\" not in segment:
        return False
    decoded = unquote(segment, errors="replace")
    if "\x00" in decoded:
        return True
    # `..%2f` or `%2e%2e%5c` only become traversal once someone decodes them: refuse them here.
    return any(part in _DOT_PARTS for part in re.split(r"[/\\]", decoded))


def pattern_segments(api_path: str) -> list[tuple[str, str | None]]:
    """Parse a route pattern into ``(static_text, None)`` / ``("", param_name)`` pairs.

    ``users/:id`` and ``/users/{id}`` both give ``[("users", None), ("", "id")]``.
    Raises InvalidPath with a message fit for a trigger-registration error.
    """
    stripped = api_path[1:] if api_path.startswith("/") else api_path
    if stripped == "":
        return []
    result: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    parts = stripped.split("/")
    for index, part in enumerate(parts):
        name = _param_name(part)
        if name is not None:
            if name in seen:
                raise InvalidPath(f"api_path '{api_path}' uses the parameter '{name}' twice")
            seen.add(name)
            result.append(("", name))
            continue
        if part == "" and index != len(parts) - 1:
            raise InvalidPath(f"api_path '{api_path}' has an empty segment ('//')")
        if "{" in part or "}" in part or part.startswith(":") or "*" in part:
            raise InvalidPath(
                f"api_path '{api_path}': segment '{part}' is not a static segment nor a whole-segment "
                "parameter (':name' or '{name}'); wildcards and partial parameters are not supported"
            )
        if _is_unsafe(part):
            raise InvalidPath(f"api_path '{api_path}' contains a dot segment")
        result.append((part, None))
    return result


def _param_name(part: str) -> str | None:
    if part.startswith(":"):
        name = part[1:]
    elif part.startswith("{") and part.endswith("}"):
        name = part[1:-1]
    else:
        return None
    if not _PARAM_NAME.match(name):
        raise InvalidPath(f"'{part}' is not a valid parameter name (letters, digits and '_')")
    return name
