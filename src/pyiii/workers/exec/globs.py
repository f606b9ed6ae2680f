"""Glob patterns for file watching: ``**`` crosses folders, ``*`` does not, ``{a,b}`` alternates."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath


def expand_braces(pattern: str) -> list[str]:
    """``src/*.{py,ts}`` -> ``["src/*.py", "src/*.ts"]`` (nested groups supported)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    out: list[str] = []
    for option in match.group(1).split(","):
        out.extend(expand_braces(head + option + tail))
    return out


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.compile(regex + r"\Z")


class GlobSet:
    """Matches paths relative to ``root`` against any of the patterns."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = [p.removeprefix("./") for raw in patterns for p in expand_braces(raw)]

    def matches(self, relative_path: str) -> bool:
        path = PurePosixPath(relative_path).as_posix()
        return any(_compile(p).match(path) for p in self.patterns)

    def roots(self) -> list[str]:
        """The folders to watch: each pattern's literal leading folders (``src/**/*.py`` ->
        ``src``); ``.`` when a pattern starts with a wildcard."""
        out: set[str] = set()
        for pattern in self.patterns:
            parts = pattern.split("/")[:-1]
            literal: list[str] = []
            for part in parts:
                if any(ch in part for ch in "*?[{"):
                    break
                literal.append(part)
            out.add("/".join(literal) or ".")
        if "." in out:
            return ["."]
        return sorted(out)
