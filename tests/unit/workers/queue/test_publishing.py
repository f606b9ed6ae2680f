"""``engine::queue::enqueue``: the namespace a job keeps (spec iii-0.23-0.25 §1.10, §1.11)."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.core import CallContext, FunctionError, Host
from pyiii.core.engine import Engine
from pyiii.workers.queue.adapters.memory import MemoryAdapter
from pyiii.workers.queue.config import QueueWorkerConfig
from pyiii.workers.queue.message import named_queue
from pyiii.workers.queue.policy import named_policy
from pyiii.workers.queue.publishing import Publisher
from pyiii.workers.queue.runtime import QueueRuntime

CTX = CallContext(function_id="engine::queue::enqueue")


def publisher() -> tuple[Publisher, MemoryAdapter]:
    adapter = MemoryAdapter()
    config = QueueWorkerConfig()
    rt = QueueRuntime(Host(Engine()), adapter, config)
    rt.named = {name: named_policy(q, config) for name, q in config.queue_configs.items()}
    return Publisher(rt), adapter


def job(**extra: Any) -> dict[str, Any]:
    return {"queue": "default", "function_id": "svc::job", "data": {"n": 1}, "messageReceiptId": "r-1", **extra}


@pytest.mark.parametrize(("extra", "kept"), [
    ({"namespace": "a"}, "a"),
    ({}, None),
    ({"namespace": None}, None),
    ({"namespace": "default"}, None),
])
async def test_a_job_keeps_the_enqueuers_namespace_unless_default(extra: dict[str, Any], kept: str | None) -> None:
    pub, adapter = publisher()
    await pub.enqueue(job(**extra), CTX)
    (delivery,) = await adapter.receive(named_queue("default"), 10, 60_000)
    assert delivery.message.namespace == kept
    assert delivery.message.runs_in() == (kept or "default")
    assert ("namespace" in delivery.message.job()) is (kept is not None)


@pytest.mark.parametrize(("namespace", "code"), [(" ", "INVALID_NAMESPACE"), ("", "INVALID_NAMESPACE"),
                                                 (7, "deserialization_error")])
async def test_a_blank_or_wrong_namespace_is_refused_not_defaulted(namespace: Any, code: str) -> None:
    pub, adapter = publisher()
    with pytest.raises(FunctionError) as refused:
        await pub.enqueue(job(namespace=namespace), CTX)
    assert refused.value.code == code
    assert (await adapter.stats(named_queue("default"))).waiting == 0
