"""An append-only operation history (Jepsen style, spec/benchmarks-and-faults.md §4).

Every client operation is recorded when it is invoked and again when it completes; the checker
(:mod:`tests.faults.checker`) compares the history with what the system observably did.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Outcome = Literal["ok", "fail", "unknown"]


@dataclass(slots=True)
class Op:
    op_id: int
    type: str
    payload_id: str
    t_invoke: float
    t_complete: float | None = None
    outcome: Outcome = "unknown"
    error_code: str | None = None
    #: How many times a completion was recorded; anything but 1 is a bug (resolved twice / never).
    completions: int = 0


class History:
    """Thread-safe: the official SDK completes calls on its own thread."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self._lock = threading.Lock()

    def invoke(self, op_type: str, payload_id: str) -> Op:
        with self._lock:
            op = Op(len(self.ops), op_type, payload_id, time.monotonic())
            self.ops.append(op)
            return op

    def complete(self, op: Op, outcome: Outcome, error_code: str | None = None) -> None:
        with self._lock:
            op.completions += 1
            if op.completions == 1:
                op.t_complete = time.monotonic()
                op.outcome = outcome
                op.error_code = error_code

    def dump(self, path: Path) -> None:
        with path.open("w") as f:
            for op in self.ops:
                f.write(json.dumps(asdict(op)) + "\n")

    @classmethod
    def load(cls, path: Path) -> History:
        h = cls()
        h.ops = [Op(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
        return h
