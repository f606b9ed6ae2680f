"""``pyiii.core.observe.registry``: the indexes, the owner's set and revision, and the call
path's ``observed`` flag (only active observers of an auto function set it)."""

from __future__ import annotations

from typing import Any

from pyiii.core.functions import CallContext, FunctionEntry, FunctionRegistry
from pyiii.core.observe.descriptor import parse_descriptor
from pyiii.core.observe.filters import compile_filter
from pyiii.core.observe.model import ACTIVE, ERROR, PENDING, Observer, ObserveSpec
from pyiii.core.observe.registry import ObserverRegistry
from tests.support.fake_peer import FakePeer


async def handler(data: Any, ctx: CallContext) -> Any:
    return data


def observer(oid: str, source: str = "s", target: str = "t", state: str = PENDING) -> Observer:
    spec = ObserveSpec(oid, "default", source, "default", target, compile_filter({"input.a": {"$eq": 1}}))
    return Observer(spec, None, state=state)


def test_indexes_follow_add_and_remove() -> None:
    registry = ObserverRegistry(FunctionRegistry())
    one, two = observer("o1"), observer("o2", source="s2")
    registry.add(one)
    registry.add(two)
    assert [o.id for o in registry.of_source(("default", "s"))] == ["o1"]
    assert {o.id for o in registry.of_target(("default", "t"))} == {"o1", "o2"}
    registry.remove(one)
    assert registry.get("o1") is None and registry.of_source(("default", "s")) == [] and len(registry) == 1
    assert ("default", "s") not in registry.by_source  # no empty buckets left behind


async def test_observing_connection_index_and_rehome() -> None:
    from pyiii.core.engine import Engine

    engine = Engine()
    a, b = await FakePeer.connect(engine, "a"), await FakePeer.connect(engine, "b")
    registry = ObserverRegistry(FunctionRegistry())
    obs = observer("o1")
    obs.peer = a
    registry.add(obs)
    assert registry.count_of("a") == 1
    registry.rehome(obs, b)
    assert registry.count_of("a") == 0 and [o.id for o in registry.of_peer("b")] == ["o1"]
    registry.remove(obs)
    assert registry.count_of("b") == 0 and obs.peer is b  # still told it ended


def test_snapshot_is_the_live_set_with_its_revision() -> None:
    registry = ObserverRegistry(FunctionRegistry())
    for obs in (observer("o1", state=ACTIVE), observer("o2", state=ERROR), observer("o3")):
        registry.add(obs)
    registry.bump(("default", "s"))
    revision, infos = registry.snapshot("default", "s")
    assert revision == 1 and [i["id"] for i in infos] == ["o1", "o3"]
    assert infos[0] == {"id": "o1", "args": {}, "filters": {"input.a": {"$eq": 1}}, "target": "t",
                        "capture": ["input", "output", "caller"], "on": "success"}
    assert registry.snapshot("default", "other") == (0, [])


def test_the_flag_is_set_by_active_observers_of_auto_functions_only() -> None:
    functions = FunctionRegistry()
    auto = FunctionEntry(id="s", handler=handler)
    owned = FunctionEntry(id="o", handler=handler)
    owned.extra["observe"] = parse_descriptor({"delivery": "owner"}, "o")
    functions.put(auto)
    functions.put(owned)
    registry = ObserverRegistry(functions)
    pending = observer("p")
    registry.add(pending)
    registry.refresh_flag(("default", "s"))
    assert not auto.observed
    pending.state = ACTIVE
    registry.refresh_flag(("default", "s"))
    assert auto.observed
    registry.add(observer("x", source="o", state=ACTIVE))
    registry.refresh_flag(("default", "o"))
    assert not owned.observed  # an owner-delivered function's calls are not events
    registry.remove(pending)
    assert not auto.observed
