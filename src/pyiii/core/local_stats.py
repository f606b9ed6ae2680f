"""``localinvocationstats`` (worker -> engine, spec iii-0.23-0.25 §3.4): what a worker ran
in-process, which the engine never saw. No reply exists, so a bad report is logged and dropped.

Each report is validated before anything is counted (types, at most ``max_local_stats_rows``
rows, counts that are non-negative integers, finite durations), and a row counts only for a
function the reporting connection owns in its namespace: a worker cannot inflate the statistics
of somebody else's function. Valid rows go to the function's and the worker's totals (shown by
``engine::functions::list`` / ``engine::workers::list``) and to the call metrics observers
(``Host.add_local_stats_observer``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from pyiii import protocol as p
from pyiii.core.features import OBSERVE_V1

if TYPE_CHECKING:
    from pyiii.core.session import Session

log = logging.getLogger("pyiii.engine")

#: Largest count one row may carry (a JSON integer can be any size).
MAX_COUNT: Final = 2**31 - 1
#: Bytes a report may spend per row (a row the SDK sends is ~100 bytes plus its function id).
ROW_BYTES: Final = 4096
#: Longest function id in a row (ids are short; a longer one is not a function of this worker).
MAX_FUNCTION_ID_CHARS: Final = 1024
#: The SDK's reasons for a dropped report; any other string is counted as ``OTHER`` so that a
#: worker cannot grow the per-reason table.
DROP_REASONS: Final = frozenset(("BUFFER_FULL", "TOO_LARGE", "INACTIVE"))


class InvalidReport(ValueError):
    """A ``localinvocationstats`` the engine refuses as a whole."""


@dataclass(slots=True, frozen=True)
class FunctionRow:
    function_id: str
    count: int
    errors: int
    duration_ms_sum: float


@dataclass(slots=True, frozen=True)
class DroppedRow:
    function_id: str
    reason: str
    count: int


def _count(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value <= MAX_COUNT else None


def _decoded(raw: msgspec.Raw, name: str, max_bytes: int) -> Any:
    if len(raw) > max_bytes:
        raise InvalidReport(f"{name} is {len(raw)} bytes, over {max_bytes} (max_local_stats_rows x {ROW_BYTES})")
    try:
        return p.from_raw(raw)
    except (msgspec.DecodeError, RecursionError, ValueError) as exc:
        raise InvalidReport(f"{name} is not decodable: {exc}") from None


def _rows(raw: msgspec.Raw, name: str, max_rows: int) -> list[Any]:
    value = _decoded(raw, name, max_rows * ROW_BYTES)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidReport(f"{name} must be an array")
    if len(value) > max_rows:
        raise InvalidReport(f"{name} lists {len(value)} rows, over max_local_stats_rows={max_rows}")
    return value


def _function_row(row: Any) -> FunctionRow | None:
    if not isinstance(row, dict):
        return None
    fid, count, errors = row.get("function_id"), _count(row.get("count")), _count(row.get("errors", 0))
    duration = row.get("duration_ms_sum", 0)
    if not isinstance(fid, str) or not fid or len(fid) > MAX_FUNCTION_ID_CHARS:
        return None
    if count is None or errors is None or errors > count:
        return None
    if type(duration) not in (int, float) or not math.isfinite(duration) or duration < 0:
        return None
    return FunctionRow(fid, count, errors, float(duration))


def parse_report(msg: p.LocalInvocationStats, max_rows: int) -> tuple[list[FunctionRow], list[DroppedRow], int]:
    """The valid rows of a report and how many rows were malformed (and skipped). Raises
    :class:`InvalidReport` when the report's shape is wrong or it is too large."""
    window_ms = _decoded(msg.window_ms, "window_ms", 32)
    if window_ms is not None and _count(window_ms) is None:
        raise InvalidReport("window_ms must be a non-negative integer")
    functions: list[FunctionRow] = []
    dropped: list[DroppedRow] = []
    bad = 0
    for row in _rows(msg.functions, "functions", max_rows):
        parsed = _function_row(row)
        if parsed is None:
            bad += 1
        else:
            functions.append(parsed)
    for row in _rows(msg.dropped_reports, "dropped_reports", max_rows):
        fid = row.get("function_id") if isinstance(row, dict) else None
        reason = row.get("reason") if isinstance(row, dict) else None
        count = _count(row.get("count")) if isinstance(row, dict) else None
        if not isinstance(fid, str) or len(fid) > MAX_FUNCTION_ID_CHARS or not isinstance(reason, str) or count is None:
            bad += 1
            continue
        dropped.append(DroppedRow(fid, reason if reason in DROP_REASONS else "OTHER", count))
    return functions, dropped, bad


async def on_local_invocation_stats(session: Session, msg: p.LocalInvocationStats) -> None:
    peer, engine = session.peer, session.engine
    if OBSERVE_V1 not in peer.shared_features:
        log.debug("localinvocationstats from %s ignored: it did not negotiate observe.v1", peer.display_name)
        return
    try:
        functions, dropped, bad = parse_report(msg, engine.limits.max_local_stats_rows)
    except InvalidReport as exc:
        log.warning("localinvocationstats from %s dropped: %s", peer.display_name, exc)
        return
    stats = peer.local_stats
    stats.reports += 1
    foreign = 0
    for row in functions:
        entry = session.functions.get(row.function_id, peer.namespace)
        if entry is None or entry.owner is not peer:
            foreign += 1  # not (or no longer) this worker's function: nothing to count it on
            continue
        entry.local_invocations += row.count
        entry.local_errors += row.errors
        stats.invocations += row.count
        stats.errors += row.errors
        stats.duration_ms_sum += row.duration_ms_sum
        session.invoker.observe_local(entry.id, row.count, row.errors, row.duration_ms_sum / 1000)
    for drop in dropped:
        stats.dropped_reports[drop.reason] = stats.dropped_reports.get(drop.reason, 0) + drop.count
    if bad or foreign:
        log.info(
            "localinvocationstats from %s: %d malformed row(s) and %d row(s) for functions it does not own skipped",
            peer.display_name, bad, foreign,
        )
