"""``workers/event_triggers.py``: the provider every event trigger type shares, driven through an
in-process Engine (bindings registered as a worker would, deliveries to in-process functions),
and the three trigger types built on it (state, stream, configuration)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from pyiii.core.engine import Engine
from pyiii.core.errors import FunctionError, TriggerRegistrationError
from pyiii.core.functions import CallContext
from pyiii.core.host import Host
from pyiii.core.spans import Span
from pyiii.core.triggers import Binding
from pyiii.w3c_trace import parse_traceparent
from pyiii.workers.configuration.triggers import ConfigurationTriggers
from pyiii.workers.event_triggers import EventTriggers
from pyiii.workers.state.triggers import StateTriggers
from pyiii.workers.stream.triggers import StreamTriggers
from tests.support.waiting import eventually, stays

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class DoorConfig(msgspec.Struct, forbid_unknown_fields=True):
    room: str | None = None
    kind: str | None = None
    condition_function_id: str | None = None


class DoorTriggers(EventTriggers[DoorConfig]):
    """A trigger type made for the test: doors open and close in rooms."""

    kind = "door"
    config_type = DoorConfig
    span_name = "door_triggers"

    def index_key(self, config: DoorConfig) -> str | None:
        return config.room

    def event_key(self, event: dict[str, Any]) -> str | None:
        return event["room"]  # type: ignore[no-any-return]

    def matches(self, config: DoorConfig, event: dict[str, Any]) -> bool:
        return config.kind is None or config.kind == event["kind"]

    def span_attributes(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"door.room": event["room"]}


class Calls:
    """In-process functions that record what reached them, in one shared order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any, str | None]] = []

    def add(self, function_id: str, result: Any = None, error: str | None = None) -> str:
        async def handler(data: Any, ctx: CallContext) -> Any:
            self.seen.append((function_id, data, ctx.traceparent))
            if error is not None:
                raise FunctionError("door_jammed", error)
            return result

        self.engine.register_function(function_id, handler)
        return function_id

    @property
    def order(self) -> list[str]:
        return [function_id for function_id, _, _ in self.seen]


@pytest.fixture
async def doors() -> tuple[Engine, DoorTriggers, Calls]:
    engine = Engine()
    provider = DoorTriggers(Host(engine))
    await provider.register("door-worker", "Fires when a door opens or closes", {"type": "object"})
    return engine, provider, Calls(engine)


def event(room: str, kind: str = "open") -> dict[str, Any]:
    return {"type": "door", "room": room, "kind": kind}


async def test_register_offers_the_trigger_type_to_the_engine(doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, _ = doors
    registered = engine.triggers.types["door"]
    assert registered.provider is provider and registered.description == "Fires when a door opens or closes"


async def test_an_invalid_config_is_refused_with_the_kind_in_the_message(
        doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    with pytest.raises(TriggerRegistrationError, match="invalid door trigger config"):
        await engine.register_trigger("door", calls.add("f"), {"room": 7})
    with pytest.raises(TriggerRegistrationError, match="invalid door trigger config"):
        await engine.register_trigger("door", "f", {"colour": "red"})
    assert len(provider) == 0


async def test_matching_uses_the_key_the_wildcards_and_the_predicate_in_registration_order(
        doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    await engine.register_trigger("door", calls.add("any"), {})
    await engine.register_trigger("door", calls.add("kitchen"), {"room": "kitchen"})
    await engine.register_trigger("door", calls.add("hall"), {"room": "hall"})
    await engine.register_trigger("door", calls.add("any_close"), {"kind": "close"})
    await engine.register_trigger("door", calls.add("kitchen_open"), {"room": "kitchen", "kind": "open"})

    assert [b.function_id for b, _ in provider.matching(event("kitchen"))] == ["any", "kitchen", "kitchen_open"]
    assert [b.function_id for b, _ in provider.matching(event("kitchen", "close"))] == [
        "any", "kitchen", "any_close"]
    assert [b.function_id for b, _ in provider.matching(event("attic"))] == ["any"]

    provider.fire(event("kitchen", "close"), None, None)
    await eventually(lambda: len(calls.seen) == 3)
    assert calls.order == ["any", "kitchen", "any_close"]
    assert all(data == event("kitchen", "close") for _, data, _ in calls.seen)


async def test_reregistering_keeps_the_place_and_unregistering_stops_matching(
        doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    first = await engine.register_trigger("door", calls.add("first"), {"room": "kitchen"})
    await engine.register_trigger("door", calls.add("second"), {})
    # The same binding id again, now for every room: re-indexed, and still delivered first.
    await provider.register_trigger(Binding(first, "door", "first", {}))
    assert not provider.has_key("kitchen") and len(provider) == 2
    assert [b.function_id for b, _ in provider.matching(event("hall"))] == ["first", "second"]
    await engine.unregister_trigger(first)
    assert [b.function_id for b, _ in provider.matching(event("hall"))] == ["second"]
    assert len(provider) == 1


async def test_a_false_condition_skips_only_its_binding(doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    no, maybe = calls.add("cond::no", result=False), calls.add("cond::none", result=None)
    await engine.register_trigger("door", calls.add("skipped"), {"condition_function_id": no})
    await engine.register_trigger("door", calls.add("delivered"), {"condition_function_id": maybe})
    await engine.register_trigger("door", calls.add("plain"), {})
    assert await provider.deliver(provider.matching(event("hall")), event("hall")) is None
    # The condition gets the event too; only an explicit false skips.
    assert calls.order == ["cond::no", "cond::none", "delivered", "plain"]


async def test_a_failing_binding_or_condition_does_not_stop_the_others(
        doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    broken_condition = calls.add("cond::broken", error="no verdict")
    await engine.register_trigger("door", calls.add("guarded"), {"condition_function_id": broken_condition})
    await engine.register_trigger("door", calls.add("jammed", error="stuck"), {})
    await engine.register_trigger("door", calls.add("after"), {})
    failed = await provider.deliver(provider.matching(event("hall")), event("hall"))
    assert calls.order == ["cond::broken", "jammed", "after"]
    assert failed == "jammed: stuck"  # the last failure


async def test_deliveries_continue_the_trace_of_the_write_when_tracing_is_off(
        doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    await engine.register_trigger("door", calls.add("f"), {})
    provider.fire(event("hall"), PARENT, "tenant=acme")
    await eventually(lambda: calls.seen)
    assert calls.seen[0][2] == PARENT


async def test_each_delivery_runs_in_one_span_that_fails_with_a_binding(
        doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    ended: list[Span] = []
    engine.tracer.install(ended.append)
    await engine.register_trigger("door", calls.add("jammed", error="stuck"), {})
    await engine.register_trigger("door", calls.add("fine"), {})
    provider.fire(event("hall"), PARENT, None)
    await eventually(lambda: any(s.name == "door_triggers" for s in ended))
    span = next(s for s in ended if s.name == "door_triggers")
    assert span.trace_id == PARENT.split("-")[1] and span.parent_span_id == PARENT.split("-")[2]
    assert span.status == "error" and span.status_description == "jammed: stuck"
    assert span.attributes == {"iii.trigger.type": "door", "faas.trigger": "datasource", "door.room": "hall",
                               "iii.trigger.count": 2}
    # The calls run under the span, not under the write's own span.
    await eventually(lambda: len([s for s in ended if s.name.startswith("call ")]) == 2)
    assert {s.parent_span_id for s in ended if s.name.startswith("call ")} == {span.span_id}
    seen = [parse_traceparent(traceparent) for _, _, traceparent in calls.seen]
    assert all(p is not None and p.trace_id == span.trace_id for p in seen)


async def test_a_type_without_a_span_name_delivers_in_the_writes_trace_even_when_traced() -> None:
    engine = Engine()
    provider = ConfigurationTriggers(Host(engine))
    await provider.register("configuration-worker", "configuration events")
    calls = Calls(engine)
    ended: list[Span] = []
    engine.tracer.install(ended.append)
    await engine.register_trigger("configuration", calls.add("f"), {})
    provider.fire({"type": "configuration", "event_type": "configuration:updated", "id": "x"}, PARENT, None)
    # Only the call's own span, straight under the write's.
    await eventually(lambda: ended)
    assert [s.name for s in ended] == ["call f"] and ended[0].parent_span_id == PARENT.split("-")[2]


async def test_no_matching_binding_spawns_nothing(doors: tuple[Engine, DoorTriggers, Calls]) -> None:
    engine, provider, calls = doors
    await engine.register_trigger("door", calls.add("kitchen"), {"room": "kitchen"})
    provider.fire(event("hall"), None, None)
    assert not engine.invoker._tasks
    await stays(lambda: not calls.seen, for_s=0.1)


# ------------------------------------------------------------------ the three trigger types


async def test_state_bindings_filter_on_scope_and_key() -> None:
    engine = Engine()
    provider = StateTriggers(Host(engine))
    await provider.register("state-worker", "state events")
    calls = Calls(engine)
    await engine.register_trigger("state", calls.add("all"), {})
    await engine.register_trigger("state", calls.add("users"), {"scope": "users"})
    await engine.register_trigger("state", calls.add("u1"), {"scope": "users", "key": "u1"})
    await engine.register_trigger("state", calls.add("only_key"), {"key": "u1"})

    def targets(scope: str, key: str) -> list[str]:
        return [b.function_id for b, _ in provider.matching({"scope": scope, "key": key})]

    assert targets("users", "u1") == ["all", "users", "u1", "only_key"]
    assert targets("users", "u2") == ["all", "users"]
    assert targets("orders", "u1") == ["all", "only_key"]


async def test_stream_bindings_filter_on_stream_group_and_item() -> None:
    engine = Engine()
    provider = StreamTriggers(Host(engine))
    await provider.register("stream-worker", "stream events")
    calls = Calls(engine)
    with pytest.raises(TriggerRegistrationError, match="invalid stream trigger config"):
        await engine.register_trigger("stream", calls.add("nameless"), {"group_id": "g"})
    await engine.register_trigger("stream", calls.add("chat"), {"stream_name": "chat"})
    await engine.register_trigger("stream", calls.add("room1"), {"stream_name": "chat", "group_id": "room-1"})
    await engine.register_trigger("stream", calls.add("msg9"), {"stream_name": "chat", "item_id": "msg-9"})
    await engine.register_trigger("stream", calls.add("empty"), {"stream_name": "chat", "group_id": ""})

    def targets(stream: str, group: str, item: str | None) -> list[str]:
        envelope = {"type": "stream", "streamName": stream, "groupId": group, "id": item}
        return [b.function_id for b, _ in provider.matching(envelope)]

    assert targets("chat", "room-1", "msg-9") == ["chat", "room1", "msg9", "empty"]
    assert targets("chat", "room-2", "msg-1") == ["chat", "empty"]
    assert targets("chat", "room-1", None) == ["chat", "room1", "empty"]  # a group send: no item filter
    assert targets("news", "room-1", "msg-9") == []


async def test_configuration_bindings_filter_on_id_and_event_type_and_report_watched_ids() -> None:
    engine = Engine()
    watched: list[str] = []
    unwatched: list[str] = []
    provider = ConfigurationTriggers(Host(engine), watched.append, unwatched.append)
    await provider.register("configuration-worker", "configuration events")
    calls = Calls(engine)
    a = await engine.register_trigger("configuration", calls.add("a"), {"configuration_id": "http"})
    b = await engine.register_trigger("configuration", calls.add("b"), {
        "configuration_id": "http", "event_types": ["configuration:deleted"]})
    await engine.register_trigger("configuration", calls.add("all"), {})
    assert watched == ["http", "http"]

    def targets(config_id: str, event_type: str) -> list[str]:
        return [b.function_id for b, _ in provider.matching({"id": config_id, "event_type": event_type})]

    assert targets("http", "configuration:updated") == ["a", "all"]
    assert targets("http", "configuration:deleted") == ["a", "b", "all"]
    assert targets("queue", "configuration:deleted") == ["all"]
    await engine.unregister_trigger(a)
    assert unwatched == []  # b still watches it
    await engine.unregister_trigger(b)
    assert unwatched == ["http"]
