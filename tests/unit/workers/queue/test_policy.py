"""``workers/queue/policy.py``: how attempts count for named queues and subscribers, the backoff
curve and its cap, and queue_config parsing errors that name the key. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.workers.queue.config import NamedQueueConfig, QueueWorkerConfig
from pyiii.workers.queue.policy import DeliveryPolicy, named_policy, snake_keys, subscriber_policy

WORKER = QueueWorkerConfig()


def test_backoff_doubles_per_failed_attempt_and_is_capped() -> None:
    policy = DeliveryPolicy(backoff_ms=1000, max_backoff_ms=5000)
    assert [policy.delay_ms(n) for n in range(1, 6)] == [1000, 2000, 4000, 5000, 5000]
    assert policy.delay_ms(0) == 1000  # defensive: never below one backoff
    assert DeliveryPolicy(backoff_ms=1, max_backoff_ms=10**30).delay_ms(10_000) == 2**40  # exponent capped
    assert DeliveryPolicy(backoff_ms=0).delay_ms(7) == 0


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (1, 1), (4, 4)])
def test_named_queue_max_retries_counts_total_attempts(max_retries: int, attempts: int) -> None:
    assert named_policy(NamedQueueConfig(max_retries=max_retries), WORKER).max_attempts == attempts


def test_named_policy_takes_the_queue_settings_and_the_worker_cap() -> None:
    cfg = NamedQueueConfig(type="fifo", message_group_field="user", concurrency=3, backoff_ms=50)
    policy = named_policy(cfg, QueueWorkerConfig(max_backoff_ms=400))
    assert (policy.fifo, policy.group_field, policy.concurrency, policy.backoff_ms, policy.max_backoff_ms) == (
        True, "user", 3, 50, 400)
    assert policy.describe() == {"max_attempts": 3, "backoff_ms": 50, "concurrency": 3, "type": "fifo",
                                 "message_group_field": "user"}
    assert named_policy(NamedQueueConfig(), WORKER).describe()["type"] == "standard"


@pytest.mark.parametrize("queue_config", [{"maxRetries": 2}, {"max_retries": 2}, {"MaxRetries": 2}])
def test_subscriber_max_retries_counts_retries_after_the_first(queue_config: dict[str, Any]) -> None:
    assert subscriber_policy(queue_config, WORKER).max_attempts == 3


def test_subscriber_defaults_come_from_the_worker() -> None:
    worker = QueueWorkerConfig(default_max_attempts=5, default_backoff_ms=20, default_concurrency=2,
                               max_backoff_ms=99)
    for empty in (None, {}, {"unknownKey": 1}):
        policy = subscriber_policy(empty, worker)
        assert (policy.max_attempts, policy.backoff_ms, policy.concurrency, policy.max_backoff_ms) == (5, 20, 2, 99)
        assert not policy.fifo and policy.group_field is None
    assert subscriber_policy({"maxRetries": 0}, worker).max_attempts == 1


def test_subscriber_backoff_keys_and_their_priority() -> None:
    assert subscriber_policy({"backoffDelayMs": 10}, WORKER).backoff_ms == 10
    assert subscriber_policy({"backoff_ms": 30}, WORKER).backoff_ms == 30
    assert subscriber_policy({"backoffDelayMs": 10, "backoffMs": 30}, WORKER).backoff_ms == 10
    assert subscriber_policy({"maxRetries": 2.0}, WORKER).max_attempts == 3  # an integral float is an integer


def test_subscriber_fifo_and_group_field() -> None:
    policy = subscriber_policy({"type": "fifo", "messageGroupField": "orderId", "concurrency": 4}, WORKER)
    assert policy.fifo and policy.group_field == "orderId" and policy.concurrency == 4
    assert not subscriber_policy({"type": "standard"}, WORKER).fifo


@pytest.mark.parametrize(("queue_config", "message"), [
    ({"maxRetries": -1}, "queue_config.max_retries must be an integer >= 0, got -1"),
    ({"maxRetries": True}, "queue_config.max_retries must be an integer >= 0, got True"),
    ({"maxRetries": 1.5}, "queue_config.max_retries must be an integer >= 0, got 1.5"),
    ({"maxRetries": "3"}, "queue_config.max_retries must be an integer >= 0, got '3'"),
    ({"backoffDelayMs": -5}, "queue_config.backoff_delay_ms must be an integer >= 0"),
    ({"backoffMs": "x"}, "queue_config.backoff_ms must be an integer >= 0"),
    ({"concurrency": -1}, "queue_config.concurrency must be an integer >= 0"),
    ({"type": 1}, "queue_config.type must be a string"),
    ({"messageGroupField": 5}, "queue_config.messageGroupField must be a string"),
])
def test_bad_subscriber_config_names_the_key(queue_config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        subscriber_policy(queue_config, WORKER)
    assert message in str(raised.value)


@pytest.mark.parametrize("queue_config", [[1], "fifo", 3])
def test_subscriber_config_must_be_an_object(queue_config: Any) -> None:
    with pytest.raises(ValueError, match="queue_config must be an object"):
        subscriber_policy(queue_config, WORKER)


def test_snake_keys() -> None:
    assert snake_keys({"maxRetries": 1, "backoff_ms": 2, "messageGroupField": 3}) == {
        "max_retries": 1, "backoff_ms": 2, "message_group_field": 3}


@pytest.mark.parametrize(("fields", "message"), [
    ({"max_retries": -1}, "max_retries must be >= 0"),
    ({"concurrency": 0}, "concurrency must be >= 1"),
    ({"type": "fifo"}, "a fifo queue needs message_group_field"),
    ({"backoff_ms": -1}, "backoff_ms must be >= 0"),
    ({"max_priority": 256}, "max_priority must be within 1..255"),
])
def test_named_queue_config_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NamedQueueConfig(**fields)


def test_retry_delay_is_the_backoff_until_the_attempts_are_used_up() -> None:
    policy = DeliveryPolicy(max_attempts=3, backoff_ms=100)
    assert [policy.retry_delay_ms(n) for n in range(1, 5)] == [100, 200, None, None]
    assert DeliveryPolicy(max_attempts=1).retry_delay_ms(1) is None
