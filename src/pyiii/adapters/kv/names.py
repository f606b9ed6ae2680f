"""Table names made of several parts (a stream and a group), joined so that no two different
tuples give the same name: each part escapes ``%`` and ``:`` before the parts are joined with
``:``. A part without those characters is unchanged, so ``orders`` + ``g1`` is still
``orders:g1`` (most tables written before this encoding need no migration)."""

from __future__ import annotations

import re

SEPARATOR = ":"
_ESCAPED = re.compile(r"%(25|3A)")
_UNESCAPE = {"25": "%", "3A": ":"}


def escape(part: str) -> str:
    return part.replace("%", "%25").replace(":", "%3A")


def unescape(part: str) -> str:
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(1)], part)


def compose(*parts: str) -> str:
    return SEPARATOR.join(escape(p) for p in parts)


def split(name: str) -> list[str]:
    return [unescape(p) for p in name.split(SEPARATOR)]
