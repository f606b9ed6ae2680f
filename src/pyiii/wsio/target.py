"""Split an HTTP request target into path and query."""

from __future__ import annotations

from urllib.parse import SplitResult


def split_target(target: str) -> SplitResult:
    """Origin-form target → path and query. ``urlsplit`` alone would read a leading ``//`` as
    an authority (``//x`` → path ``""``), routing unknown paths to ``/``."""
    path, _, query = target.partition("?")
    return SplitResult("", "", path, query.partition("#")[0], "")
