"""Seed and scale of the fuzz tests, from the environment so any run can be replayed or grown.

    PYIII_FUZZ_SEED=<n>        replay a run (the seed is printed by every fuzz test)
    PYIII_FUZZ_FRAMES=<n>      WebSocket frames (default 100,000; long variant 1,000,000)
    PYIII_FUZZ_REQUESTS=<n>    HTTP requests (default 10,000; long variant 100,000)
"""

from __future__ import annotations

import os
import random
from typing import Any

#: Every call and request leaves a span in the engine's trace store, which keeps up to 256 MiB
#: by default (iii-observability ``max_bytes``): bounded, but it would hide a real leak under the
#: RSS bound. The fuzz engines keep 2 MiB, so what RSS growth remains is not retention.
SMALL_TRACE_STORE: dict[str, Any] = {"name": "iii-observability", "config": {"max_bytes": 2 * 1024 * 1024}}


def seed() -> int:
    """The run's seed: ``PYIII_FUZZ_SEED`` or a fresh one, printed so a failure can be replayed."""
    value = int(os.environ.get("PYIII_FUZZ_SEED") or random.SystemRandom().randrange(1 << 32))
    print(f"fuzz seed {value} (replay: PYIII_FUZZ_SEED={value})")
    return value


def count(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)
