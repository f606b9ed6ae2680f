"""A seeded fault scheduler: the same seed always yields the same fault sequence, so a failing
seed replays (spec §4). Faults are plain callables; the scheduler only decides when and which."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FaultEvent:
    at: float
    name: str
    ok: bool = True
    error: str | None = None


@dataclass
class FaultScheduler:
    seed: int
    faults: dict[str, Callable[[], None]]
    interval: tuple[float, float] = (0.5, 1.5)
    events: list[FaultEvent] = field(default_factory=list)

    def plan(self, count: int) -> list[tuple[float, str]]:
        """The deterministic plan: ``count`` (delay, fault name) pairs."""
        rng = random.Random(self.seed)
        names = sorted(self.faults)
        return [(rng.uniform(*self.interval), rng.choice(names)) for _ in range(count)]

    def run(self, count: int, stop: threading.Event | None = None) -> list[FaultEvent]:
        """Execute the plan on the calling thread (start it on a thread to run alongside load)."""
        start = time.monotonic()
        for delay, name in self.plan(count):
            if stop is not None and stop.wait(delay):
                break
            if stop is None:
                time.sleep(delay)
            event = FaultEvent(time.monotonic() - start, name)
            try:
                self.faults[name]()
            except Exception as exc:  # a fault that could not be applied is recorded, not fatal
                event.ok, event.error = False, repr(exc)
            self.events.append(event)
        return self.events

    def start(self, count: int) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(count, stop), daemon=True)
        thread.start()
        return thread, stop
