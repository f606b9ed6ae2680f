"""``iii-queue`` config (spec/workers.md §8.2). Every limit is a key here."""

from __future__ import annotations

from typing import Literal

import msgspec

from pyiii.workers.queue.adapter_config import AdapterSpec, subscriber_defaults, validate


class NamedQueueConfig(msgspec.Struct, forbid_unknown_fields=True):
    """One entry of ``queue_configs`` (the reference's ``FunctionQueueConfig``)."""

    #: TOTAL delivery attempts, as in the reference (0 behaves as 1).
    max_retries: int = 3
    concurrency: int = 10
    type: Literal["standard", "fifo"] = "standard"
    message_group_field: str | None = None
    max_priority: int | None = None
    priority_field: str | None = None
    backoff_ms: int = 1000
    #: Accepted for compatibility; delivery is push, nothing polls.
    poll_interval_ms: int = 100

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if self.type == "fifo" and not self.message_group_field:
            raise ValueError("a fifo queue needs message_group_field")
        if self.max_priority is not None and not 1 <= self.max_priority <= 255:
            raise ValueError("max_priority must be within 1..255")
        if self.backoff_ms < 0:
            raise ValueError("backoff_ms must be >= 0")


class QueueWorkerConfig(msgspec.Struct, forbid_unknown_fields=True):
    adapter: AdapterSpec = msgspec.field(default_factory=AdapterSpec)
    queue_configs: dict[str, NamedQueueConfig] = msgspec.field(default_factory=dict)
    #: Visibility timeout: a leased message nobody renews is delivered again after this.
    lease_ms: int = 30_000
    #: Largest accepted ``data`` once JSON-encoded.
    max_message_bytes: int = 8 * 1024 * 1024
    #: Messages kept for a topic that has no subscriber yet; past it, publish is refused.
    max_backlog: int = 100_000
    #: Deliveries cut short by worker disconnects before a message is dead-lettered.
    max_interruptions: int = 10
    #: Upper bound of the exponential backoff.
    max_backoff_ms: int = 3_600_000
    #: Timeout of one handler call; null = the engine's invocation_timeout_ms.
    handler_timeout_ms: int | None = None
    #: Defaults of a durable:subscriber without queue_config (reference: 3 attempts, 1 s).
    default_max_attempts: int = 3
    default_backoff_ms: int = 1000
    default_concurrency: int = 10
    #: Messages held in memory waiting for their (not yet registered) function, per queue.
    max_parked: int = 10_000
    #: At start, move subscriber queues stored before namespaces (``<topic>::<fid>``) to their
    #: ``default`` names (SQLite, Redis; RabbitMQ when the subscriber binds). Off: they stay
    #: where they are and are not consumed.
    move_legacy_subscriber_queues: bool = True

    def __post_init__(self) -> None:
        validate(self.adapter)
        defaults = {f.name: f.default for f in msgspec.structs.fields(QueueWorkerConfig)}
        for key, value in subscriber_defaults(self.adapter).items():
            if getattr(self, key) not in (defaults[key], value):
                raise ValueError(f"{key} ({getattr(self, key)}) and the adapter's own setting ({value}) differ; "
                                 "keep one")
            setattr(self, key, value)
        for key in ("lease_ms", "max_message_bytes", "max_backlog", "max_interruptions", "default_max_attempts",
                    "default_concurrency", "max_parked"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1")
        if "default" not in self.queue_configs:
            self.queue_configs["default"] = NamedQueueConfig()
