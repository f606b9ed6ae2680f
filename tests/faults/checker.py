"""Counts lost, duplicated and phantom operations in a history (spec §4 "General method").

* **lost** = acknowledged (outcome ``ok``) but never observed by the system under test;
* **duplicates** = observed more than once;
* **phantoms** = observed but never attempted;
* **unresolved** = invoked but never completed (neither ok, fail nor a recorded timeout);
* **double_resolved** = completed more than once (an invocation must resolve exactly once).

Operations whose outcome is ``fail`` or ``unknown`` may or may not have taken effect; observing
them is neither a loss nor a phantom (they are reported as ``indeterminate_observed``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.faults.history import Op


@dataclass
class Report:
    attempted: int
    acked: int
    failed: int
    unknown: int
    lost: list[str] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    phantoms: list[str] = field(default_factory=list)
    unresolved: list[int] = field(default_factory=list)
    double_resolved: list[int] = field(default_factory=list)
    indeterminate_observed: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.phantoms or self.unresolved or self.double_resolved)

    def summary(self) -> dict[str, int]:
        return {
            "attempted": self.attempted,
            "acked": self.acked,
            "failed": self.failed,
            "unknown": self.unknown,
            "lost": len(self.lost),
            "duplicates": sum(n - 1 for n in self.duplicates.values()),
            "phantoms": len(self.phantoms),
            "unresolved": len(self.unresolved),
            "double_resolved": len(self.double_resolved),
        }


def check(ops: Iterable[Op], observed: Iterable[str], *, allow_duplicates: int = 0) -> Report:
    """Compare the history with the payload ids the system observed (one entry per effect).

    ``allow_duplicates``: duplicates tolerated by the scenario's pass criterion (e.g. "≤ jobs in
    flight at kill time"); they are still reported, ``ok`` only looks at the excess.
    """
    ops = list(ops)
    seen = Counter(observed)
    attempted = {op.payload_id for op in ops}
    acked = {op.payload_id for op in ops if op.outcome == "ok"}
    report = Report(
        attempted=len(ops),
        acked=sum(1 for op in ops if op.outcome == "ok"),
        failed=sum(1 for op in ops if op.outcome == "fail"),
        unknown=sum(1 for op in ops if op.outcome == "unknown"),
    )
    report.lost = sorted(acked - seen.keys())
    dups = {pid: n for pid, n in seen.items() if n > 1}
    if sum(n - 1 for n in dups.values()) > allow_duplicates:
        report.duplicates = dups
    report.phantoms = sorted(seen.keys() - attempted)
    report.unresolved = [op.op_id for op in ops if op.completions == 0]
    report.double_resolved = [op.op_id for op in ops if op.completions > 1]
    report.indeterminate_observed = sum(1 for pid in seen if pid in attempted and pid not in acked)
    return report
