"""Feature negotiation (spec iii-0.23-0.25 §2): what the engine advertises, what a connection gets."""

from __future__ import annotations

import pytest

from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.features import ENGINE_FEATURES, LARGE_MESSAGES_V1, LOCAL_DISPATCH_V1, OBSERVE_V1, advertised, shared
from pyiii.core.session import Session
from tests.support.fake_peer import FakePeer
from tests.support.waiting import eventually

SDK_025 = ["observe.v1", "local-dispatch.v1", "large-messages.v1"]


def test_the_engine_advertises_observe_and_local_dispatch_never_large_messages() -> None:
    assert advertised(None) == (OBSERVE_V1, LOCAL_DISPATCH_V1)
    assert LARGE_MESSAGES_V1 not in ENGINE_FEATURES


def test_an_operator_may_advertise_fewer_but_not_unknown_ones() -> None:
    assert advertised([]) == ()
    assert advertised([LOCAL_DISPATCH_V1]) == (LOCAL_DISPATCH_V1,)
    with pytest.raises(ValueError, match=r"large-messages\.v1"):
        advertised([LARGE_MESSAGES_V1])
    with pytest.raises(ValueError, match=r"observe\.v2"):
        EngineLimits(features=["observe.v2"])


def test_shared_features_need_both_sides_and_ignore_unknown_strings() -> None:
    assert shared([OBSERVE_V1], ["observe.v1", "local-dispatch.v1", "made-up.v9"]) == {OBSERVE_V1}
    assert shared([], SDK_025) == {LARGE_MESSAGES_V1}  # the SDK-only feature widens what it reads


async def test_workerregistered_lists_the_configured_features() -> None:
    full = await FakePeer.connect(Engine(), "w")
    bare = await FakePeer.connect(Engine(EngineLimits(features=[])), "w")

    assert full.frames[0]["features"] == ["observe.v1", "local-dispatch.v1"]
    assert "features" not in bare.frames[0]  # a 0.24-like engine says nothing


async def test_declared_features_decide_what_a_connection_gets() -> None:
    engine = Engine(EngineLimits(features=[OBSERVE_V1]))
    w = await FakePeer.connect(engine, "w")
    assert w.shared_features == frozenset()  # nothing before engine::workers::register

    assert await engine.declare_namespace(w, None, "w", aware=True, features=SDK_025)

    assert w.features == tuple(SDK_025)
    assert w.shared_features == {OBSERVE_V1, LARGE_MESSAGES_V1}


async def test_a_connection_whose_namespace_the_grace_timer_fixed_has_no_features() -> None:
    engine = Engine()
    w = FakePeer(engine, "w")
    w.session = Session(engine, w, hold_grace_ms=20, hold_quiet_ms=20)
    await engine.connect_peer(w)
    await w.register_function("svc::f")  # held, then applied to default when the timer fires

    await eventually(lambda: w.namespace_timed_out, 2, what="the grace timer")
    await engine.declare_namespace(w, None, "w", aware=True, features=SDK_025)

    assert w.shared_features == frozenset()


async def test_a_worker_refused_its_name_declares_no_features() -> None:
    engine = Engine()
    first = await FakePeer.connect(engine, "first")
    assert await engine.declare_namespace(first, None, "state", aware=True, features=SDK_025)
    second = await FakePeer.connect(engine, "second")
    await second.register_function("svc::f")

    assert not await engine.declare_namespace(second, None, "state", aware=True, features=SDK_025)

    assert second.shared_features == frozenset() and second.of_type("functionregistered") == []
