"""pyiii's Motia API (what ``from motia import ...`` gives in the runner): models and helpers
parse into the same step configs, builders, guards and ids behave as Motia's."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from pyiii.steps import motia_api as motia
from pyiii.steps.context import FlowContext, TriggerInfo
from pyiii.steps.step_config import parse_config


class Pet(BaseModel):
    name: str


def test_models_and_helpers_parse_like_dicts() -> None:
    config = motia.StepConfig(
        name="S",
        triggers=[motia.http("post", "/pets", body_schema=Pet,
                             query_params=[motia.QueryParam(name="q", description="d")]),
                  motia.queue("a", config=motia.QueueConfig(type="fifo", max_retries=5)),
                  motia.queue("b", infrastructure={"queue": {"max_retries": 2}}),
                  motia.stream("pets", group_id="g"), motia.cron("0 * * * * *"), motia.state()],
        enqueues=[motia.Enqueue(topic="pet.created", label="created"), "plain"],
        virtual_subscribes=["x"],
    )
    parsed = parse_config(config)
    http, fifo, infra, stream, cron, state = parsed.triggers
    assert (http.method, http.path, http.body_schema) == ("POST", "/pets", Pet)
    assert http.query_params == [{"name": "q", "description": "d"}]
    assert fifo.queue_config == {"type": "fifo", "maxRetries": 5, "visibilityTimeout": 30, "delaySeconds": 0}
    assert infra.queue_config == {"maxRetries": 2}
    assert (stream.stream_name, stream.group_id, cron.expression, state.type) == ("pets", "g", "0 * * * * *", "state")
    assert parsed.enqueues == [{"topic": "pet.created", "label": "created", "conditional": False}, {"topic": "plain"}]
    assert parsed.virtual_subscribes == ["x"]


def test_step_level_infrastructure_queue_applies_to_queue_triggers() -> None:
    parsed = parse_config({"name": "S", "triggers": [motia.queue("a"), motia.queue("b", config={"maxRetries": 1})],
                           "infrastructure": {"queue": {"max_retries": 7}}})
    assert [t.queue_config for t in parsed.triggers] == [{"maxRetries": 7}, {"maxRetries": 1}]


def test_guards_and_trigger_getters() -> None:
    step = motia.Step("steps/a_step.py",
                      {"name": "A", "triggers": [motia.http("GET", "/a"), {"type": "event", "topic": "t"}]})
    assert motia.is_api_step(step) and motia.is_queue_step(step) and not motia.is_cron_step(step)
    assert [t["topic"] for t in motia.get_queue_triggers(step)] == ["t"]
    assert motia.is_stream_trigger(motia.stream("s")) and not motia.is_state_trigger(motia.cron("* * * * * *"))


def test_builders() -> None:
    async def h(input: Any, ctx: Any) -> Any:
        return ("h", input)

    assert motia.step({"name": "A"}, h) == motia.StepDefinition({"name": "A"}, h)
    built = motia.step({"name": "A"})
    assert isinstance(built, motia.StepBuilder) and built.handle(h).handler is h

    seen: list[Any] = []
    definition = (motia.multi_trigger_step({"name": "M"})
                  .on_queue(lambda data, ctx: seen.append(("queue", data)))
                  .on_cron(lambda ctx: seen.append(("cron", ctx.trigger.type)))
                  .handlers({"api": h}))

    def run(kind: str, value: Any) -> Any:
        ctx = FlowContext(trigger=TriggerInfo(type=kind), trace_id="t")
        return asyncio.run(definition.handler(value, ctx))

    run("queue", 1)
    run("cron", None)
    assert run("http", "req") == ("h", "req")
    assert seen == [("queue", 1), ("cron", "cron")]


def test_ids_and_schemas() -> None:
    assert motia.generate_step_id("steps/a_step.py") == motia.generate_step_id("steps/a_step.py")
    assert len(motia.generate_step_id("x")) == 36
    assert motia.schema_to_json_schema({"type": "object"}) == {"type": "object"}
    assert motia.schema_to_json_schema(Pet)["required"] == ["name"]
    assert motia.schema_to_json_schema(42) is None


def test_ctx_trace_id_spellings() -> None:
    ctx = FlowContext(trigger=TriggerInfo(type="http"), trace_id="abc")
    assert ctx.traceId == ctx.trace_id == "abc"
