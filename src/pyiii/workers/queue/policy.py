"""How a queue is consumed: attempts, backoff, concurrency, ordering.

How attempts count (the reference differs between its two modes, and so do we, on purpose):

* named queues (``queue_configs.<name>.max_retries``): **total** attempts; ``max_retries: 4``
  means 4 calls, ``0`` means 1 call, then the dead-letter queue.
* subscribers (``queue_config.maxRetries`` or ``max_retries``): **retries after the first
  attempt**; ``maxRetries: 2`` means 3 calls. Without it: ``default_max_attempts`` (3) calls.

The n-th retry waits ``backoff_ms * 2**(n-1)`` (1 s, 2 s, 4 s...), capped at ``max_backoff_ms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pyiii.workers.queue.config import NamedQueueConfig, QueueWorkerConfig

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 3
    backoff_ms: int = 1000
    max_backoff_ms: int = 3_600_000
    concurrency: int = 10
    fifo: bool = False
    group_field: str | None = None

    def delay_ms(self, failed_attempts: int) -> int:
        """Wait before the next attempt, after ``failed_attempts`` (>= 1) failures."""
        exponent = min(max(failed_attempts - 1, 0), 40)
        return int(min(self.backoff_ms * (2**exponent), self.max_backoff_ms))

    def retry_delay_ms(self, failed_attempts: int) -> int | None:
        """The wait before the next attempt after ``failed_attempts`` failures, or None when
        they used up ``max_attempts``: the message goes to the dead-letter queue."""
        if failed_attempts >= self.max_attempts:
            return None
        return self.delay_ms(failed_attempts)

    def describe(self) -> dict[str, Any]:
        return {"max_attempts": self.max_attempts, "backoff_ms": self.backoff_ms, "concurrency": self.concurrency,
                "type": "fifo" if self.fifo else "standard", "message_group_field": self.group_field}


def named_policy(cfg: NamedQueueConfig, worker: QueueWorkerConfig) -> DeliveryPolicy:
    fifo = cfg.type == "fifo"
    return DeliveryPolicy(
        max_attempts=max(1, cfg.max_retries),
        backoff_ms=cfg.backoff_ms,
        max_backoff_ms=worker.max_backoff_ms,
        # The reference forces 1 for fifo; we keep order per message group and let different
        # groups run in parallel up to `concurrency`.
        concurrency=cfg.concurrency,
        fifo=fifo,
        group_field=cfg.message_group_field,
    )


def snake_keys(raw: dict[str, Any]) -> dict[str, Any]:
    return {_CAMEL.sub("_", k).lower(): v for k, v in raw.items()}


def _int(cfg: dict[str, Any], key: str, low: int) -> int | None:
    value = cfg.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < low:
        raise ValueError(f"queue_config.{key} must be an integer >= {low}, got {value!r}")
    return int(value)


def subscriber_policy(queue_config: Any, worker: QueueWorkerConfig) -> DeliveryPolicy:
    """Parse a durable:subscriber ``queue_config`` (camelCase or snake_case keys); raises
    ValueError with a message naming the bad key. Unknown keys are ignored, as in the reference."""
    if queue_config is None:
        queue_config = {}
    if not isinstance(queue_config, dict):
        raise ValueError("queue_config must be an object")
    cfg = snake_keys(queue_config)
    retries = _int(cfg, "max_retries", 0)
    backoff = _int(cfg, "backoff_delay_ms", 0)
    if backoff is None:
        backoff = _int(cfg, "backoff_ms", 0)
    concurrency = _int(cfg, "concurrency", 0)
    kind = cfg.get("type")
    if kind is not None and not isinstance(kind, str):
        raise ValueError("queue_config.type must be a string")
    group_field = cfg.get("message_group_field")
    if group_field is not None and not isinstance(group_field, str):
        raise ValueError("queue_config.messageGroupField must be a string")
    return DeliveryPolicy(
        max_attempts=retries + 1 if retries is not None else worker.default_max_attempts,
        backoff_ms=backoff if backoff is not None else worker.default_backoff_ms,
        max_backoff_ms=worker.max_backoff_ms,
        concurrency=concurrency if concurrency is not None else worker.default_concurrency,
        fifo=kind == "fifo",
        group_field=group_field,
    )
