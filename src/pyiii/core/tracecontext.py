"""W3C trace-context helpers: the engine forwards ``traceparent`` untouched and stamps the
target function into ``baggage`` as ``iii.function.id`` (spec/protocol.md §8)."""

from __future__ import annotations

import functools
import os
import re
from typing import Final
from urllib.parse import quote, unquote

FUNCTION_ID_KEY: Final = "iii.function.id"
_TRACEPARENT_RE: Final = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@functools.lru_cache(maxsize=1024)
def with_function_id(baggage: str | None, function_id: str) -> str:
    """Return ``baggage`` with ``iii.function.id`` set to ``function_id`` (others kept).
    Cached: every traced call does this, mostly with the same few (baggage, function) pairs."""
    entries = [e for e in (baggage or "").split(",") if e.strip() and e.split("=", 1)[0].strip() != FUNCTION_ID_KEY]
    entries.append(f"{FUNCTION_ID_KEY}={quote(function_id, safe=':/@!$&()*+-._~')}")
    return ",".join(entries)


def parse_baggage(baggage: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in (baggage or "").split(","):
        if "=" not in entry:
            continue
        key, value = entry.split("=", 1)
        out[key.strip()] = unquote(value.split(";", 1)[0].strip())
    return out


def parse_traceparent(traceparent: str | None) -> tuple[str, str, int] | None:
    """``(trace_id, span_id, flags)`` or None if absent/invalid."""
    if not traceparent:
        return None
    m = _TRACEPARENT_RE.match(traceparent.strip().lower())
    if m is None or m.group(1) == "0" * 32 or m.group(2) == "0" * 16:
        return None
    return m.group(1), m.group(2), int(m.group(3), 16)


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()


def make_traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"
