"""The checker must catch every kind of anomaly it claims to count."""

from __future__ import annotations

from pathlib import Path

from tests.faults.checker import check
from tests.faults.history import History, Op


def _history(*outcomes: str) -> History:
    h = History()
    for i, outcome in enumerate(outcomes):
        op = h.invoke("enqueue", f"p{i}")
        if outcome != "never":
            h.complete(op, outcome)  # type: ignore[arg-type]
    return h


def test_clean_history_passes() -> None:
    h = _history("ok", "ok", "fail")
    r = check(h.ops, ["p0", "p1"])
    assert r.ok and r.summary()["acked"] == 2 and r.summary()["failed"] == 1


def test_lost_acked_operation() -> None:
    r = check(_history("ok", "ok").ops, ["p0"])
    assert not r.ok and r.lost == ["p1"]


def test_failed_operation_not_observed_is_not_lost() -> None:
    assert check(_history("ok", "fail", "unknown").ops, ["p0"]).ok


def test_failed_operation_observed_is_indeterminate_not_phantom() -> None:
    r = check(_history("ok", "fail").ops, ["p0", "p1"])
    assert r.ok and r.indeterminate_observed == 1


def test_duplicates_counted_and_tolerance() -> None:
    h = _history("ok", "ok")
    r = check(h.ops, ["p0", "p0", "p0", "p1"])
    assert not r.ok and r.duplicates == {"p0": 3} and r.summary()["duplicates"] == 2
    assert check(h.ops, ["p0", "p0", "p1"], allow_duplicates=1).ok


def test_phantom() -> None:
    r = check(_history("ok").ops, ["p0", "ghost"])
    assert not r.ok and r.phantoms == ["ghost"]


def test_unresolved_and_double_resolved() -> None:
    h = _history("ok", "never")
    h.complete(h.ops[0], "fail")  # a second completion is recorded but does not change the outcome
    r = check(h.ops, ["p0"])
    assert r.unresolved == [1] and r.double_resolved == [0] and h.ops[0].outcome == "ok"
    assert not r.ok


def test_history_round_trip(tmp_path: Path) -> None:
    h = _history("ok", "fail")
    h.dump(tmp_path / "h.jsonl")
    again = History.load(tmp_path / "h.jsonl")
    assert [(o.payload_id, o.outcome) for o in again.ops] == [("p0", "ok"), ("p1", "fail")]
    assert isinstance(again.ops[0], Op)
