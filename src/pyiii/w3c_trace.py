"""W3C Trace Context and Baggage, the only place pyiii reads or writes those headers.

``traceparent`` is ``<version>-<trace id>-<parent span id>-<flags>`` (W3C Trace Context §3.2).
Version ``00`` has exactly those four fields; a later version may append ``-<more>``, which a
version-00 parser keeps the first four fields of. Version ``ff`` and all-zero ids are invalid.
pyiii also accepts upper-case hex and surrounding blanks and normalises them (the engine always
did), so a sloppy client continues its trace instead of starting a new one.

``baggage`` is a comma-separated list of ``key=value;properties`` (W3C Baggage). The engine
stamps the function it routes to as ``iii.function.id`` (spec/protocol.md §8).

A leaf: imports nothing of pyiii, so the engine, the workers and the SDK share it.
"""

from __future__ import annotations

import functools
import random
import re
from typing import Final, NamedTuple
from urllib.parse import quote, unquote

FUNCTION_ID_KEY: Final = "iii.function.id"
#: The W3C Baggage limits a platform must at least propagate; beyond them members are dropped.
MAX_BAGGAGE_MEMBERS: Final = 64
MAX_BAGGAGE_BYTES: Final = 8192

# All-zero ids and version ff are refused by the patterns themselves (cheaper than in Python).
#: What every SDK sends: version 00, lower-case, exactly four fields.
_VERSION_00: Final = re.compile(r"00-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-([0-9a-f]{2})")
#: Any version but ff, with the extra fields a later version may add.
_ANY_VERSION: Final = re.compile(
    r"(?!ff)([0-9a-f]{2})-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-([0-9a-f]{2})(-.*)?", re.DOTALL)
_FLAGS: Final = {f"{n:02x}": n for n in range(256)}
_BAGGAGE_VALUE_SAFE: Final = ":/@!$&()*+-._~"


_new_tuple: Final = tuple.__new__


class TraceParent(NamedTuple):
    trace_id: str
    span_id: str
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & 1)


def parse_traceparent(header: str | None) -> TraceParent | None:
    """The fields of a valid ``traceparent``, or None (absent or invalid: start a new trace)."""
    if not header:
        return None
    # Every traced call and handled invocation parses one: the common header takes one match,
    # no copies, and skips NamedTuple's Python-level __new__ and int().
    m = _VERSION_00.fullmatch(header)
    if m is not None:
        trace_id, span_id, flags = m.groups()
        return _new_tuple(TraceParent, (trace_id, span_id, _FLAGS[flags]))
    m = _ANY_VERSION.fullmatch(header.strip().lower())
    if m is None:
        return None
    version, trace_id, span_id, flags, rest = m.groups()
    if rest is not None and version == "00":
        return None
    return _new_tuple(TraceParent, (trace_id, span_id, _FLAGS[flags]))


def trace_id_of(header: str | None) -> str | None:
    parsed = parse_traceparent(header)
    return parsed.trace_id if parsed is not None else None


def format_traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def new_trace_id() -> str:
    """A random non-zero 128-bit id as 32 hex digits (as OpenTelemetry's ``RandomIdGenerator``)."""
    while True:
        value = random.getrandbits(128)
        if value:
            return f"{value:032x}"


def new_span_id() -> str:
    """A random non-zero 64-bit id as 16 hex digits."""
    while True:
        value = random.getrandbits(64)
        if value:
            return f"{value:016x}"


def parse_baggage(header: str | None) -> dict[str, str]:
    """``key -> value`` (percent-decoded, properties dropped). Entries without ``=`` are skipped;
    members past :data:`MAX_BAGGAGE_MEMBERS` or :data:`MAX_BAGGAGE_BYTES` are dropped."""
    out: dict[str, str] = {}
    if not header:
        return out
    members = size = 0
    for entry in header.split(","):
        if "=" not in entry:
            continue
        members += 1
        size += len(entry.strip().encode())
        if members > MAX_BAGGAGE_MEMBERS or size > MAX_BAGGAGE_BYTES:
            break
        key, value = entry.split("=", 1)
        out[key.strip()] = unquote(value.split(";", 1)[0].strip())
    return out


@functools.lru_cache(maxsize=1024)
def with_function_id(baggage: str | None, function_id: str) -> str:
    """``baggage`` with ``iii.function.id`` set to ``function_id`` (other members kept, in order).
    Cached: every traced call does this, mostly with the same few (baggage, function) pairs."""
    entries = [e for e in (baggage or "").split(",") if e.strip() and e.split("=", 1)[0].strip() != FUNCTION_ID_KEY]
    entries.append(f"{FUNCTION_ID_KEY}={quote(function_id, safe=_BAGGAGE_VALUE_SAFE)}")
    return ",".join(entries)
