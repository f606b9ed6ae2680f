"""A binding for a trigger type nobody provides waits with ONE warning per missing type that names
the steps waiting and the config.yaml line that provides the type (from the worker catalog)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pyiii.core.triggers import Binding, TriggerRegistry, TriggerType, waiting_message
from pyiii.engine_config import parse
from pyiii.engine_runner import InProcessEngine
from pyiii.workers import catalog
from tests.support.waiting import eventually


class Nothing:
    async def register_trigger(self, binding: Binding) -> None:
        return None

    async def unregister_trigger(self, binding: Binding) -> None:
        return None


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pyiii.triggers" and r.levelno == logging.WARNING]


async def test_one_warning_per_missing_type_naming_the_steps_and_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pyiii.triggers")
    reg = TriggerRegistry()
    reg.provider_hint = catalog.provider_of
    await reg.add_binding(Binding("b1", "cron", "steps::daily-report::trigger::cron", {}, {"step": "daily-report"}))
    for i, step in enumerate(["CreateTodo", "ListTodos", "GetTodo"]):
        await reg.add_binding(Binding(f"h{i}", "http", f"steps::{step}::trigger::http", {}, {"step": step}))
    await reg.add_binding(Binding("q", "durable:subscriber", "plain::fn", {"topic": "t"}))
    await reg.add_binding(Binding("s", "durable:subscriber", "steps::StoreTodo::trigger::queue(t)", {"topic": "t"},
                                  {"step": "StoreTodo", "trigger": {"type": "queue", "topic": "t"}}))
    got = await eventually(lambda: (w := warnings(caplog)) and len(w) >= 3 and w, what="three warnings")
    assert sorted(got) == sorted([
        "step 'daily-report' (cron trigger) waits: add `- name: iii-cron` to config.yaml",
        "steps 'CreateTodo', 'ListTodos' and 'GetTodo' (http triggers) wait: add `- name: iii-http` "
        "to config.yaml",
        "function 'plain::fn' and step 'StoreTodo' (durable:subscriber triggers) wait: add `- name: iii-queue` "
        "to config.yaml",
    ])
    assert not any(len(b.id) > 30 for b in reg.parked.values()) and all("b1" not in w for w in got)  # no ids


async def test_no_warning_when_the_type_arrives_in_time(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pyiii.triggers")
    reg = TriggerRegistry()
    reg.WAITING_GATHER_S = 0.05
    await reg.add_binding(Binding("b1", "cron", "f", {}, {"step": "s"}))
    await reg.add_type(TriggerType("cron", provider=Nothing()))
    await reg.add_binding(Binding("b2", "other", "g", {}, None))  # a later, unrelated warning marks time
    await eventually(lambda: warnings(caplog), what="the unrelated warning")
    assert warnings(caplog) == ["function 'g' (other trigger) waits: no worker provides trigger type 'other' yet "
                                "(start the worker that registers it)"]


def test_many_waiting_names_are_shortened_and_a_steps_trigger_kind_is_its_own() -> None:
    names = [("step", n) for n in "abcdef"]
    assert waiting_message("http", names, "iii-http", "http") == (
        "steps 'a', 'b', 'c' and 3 more (http triggers) wait: add `- name: iii-http` to config.yaml")
    assert waiting_message("queue", [("step", "StoreTodo")], "iii-queue", "durable:subscriber") == (
        "step 'StoreTodo' (queue trigger) waits: add `- name: iii-queue` to config.yaml")


async def test_the_catalog_names_the_worker_that_really_provides_each_type(tmp_path: Path) -> None:
    kinds = sorted(set(catalog.TRIGGER_TYPES.values()) - catalog.MANDATORY)
    text = "workers:\n" + "".join(
        f"  - name: {k}\n" + ("    config: {port: 0, host: 127.0.0.1}\n" if k in ("iii-http", "iii-stream") else "")
        for k in kinds) + "  - name: iii-worker-manager\n    config: {port: 0, host: 127.0.0.1}\n"
    proc = InProcessEngine(parse(text), project_dir=tmp_path)
    await proc.start()
    try:
        provided = {t.id: t.worker_name for t in proc.engine.triggers.types.values()}
        for type_id, worker in catalog.TRIGGER_TYPES.items():
            assert type_id in provided, type_id
            entry = next(w for w in proc.workers if w.kind == worker)
            assert provided[type_id] in (worker, entry.entry_id), (type_id, provided[type_id])
    finally:
        await proc.stop(grace=1)
