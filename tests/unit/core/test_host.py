"""``pyiii.core.Host``: the facade a built-in worker gets delegates to the engine, its registry
views cannot be written through, and a hook is only removed by the one who installed it."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.core import CallContext, Host
from pyiii.core.engine import Engine


async def echo(data: Any, ctx: CallContext) -> Any:
    return {"echo": data, "function": ctx.function_id}


@pytest.fixture
def host() -> Host:
    return Host(Engine(version="9.9.9"))


async def test_registers_and_calls_through_the_engine(host: Host) -> None:
    host.add_in_process_worker("iii-x", "iii-x")
    host.register_function("x::echo", echo, worker="iii-x")
    assert await host.call("x::echo", 1) == {"echo": 1, "function": "x::echo"}
    assert "x::echo" in host.functions and host.in_process_workers["iii-x"].functions == {"x::echo"}
    assert host.version == "9.9.9"
    assert host.unregister_function("x::echo", worker="iii-x")
    assert "x::echo" not in host.functions and host.in_process_workers["iii-x"].functions == set()


async def test_registry_views_are_read_only(host: Host) -> None:
    host.register_function("x::echo", echo)
    await host.register_trigger("never-provided", "x::echo", {})
    for view in (host.bindings, host.trigger_types, host.connected_workers, host.in_process_workers):
        with pytest.raises(TypeError):
            view["x"] = None  # type: ignore[index]


def test_a_hook_is_cleared_only_by_its_owner(host: Host) -> None:
    def mine(prefix: bytes, payload: bytes) -> None:
        return None

    def theirs(prefix: bytes, payload: bytes) -> None:
        return None

    host.set_frame_sink(mine)
    host.clear_frame_sink(theirs)
    assert host.engine_for_transport.telemetry_sink is mine
    host.clear_frame_sink(mine)
    assert host.engine_for_transport.telemetry_sink is None


async def test_health_checks_and_shutdown_steps_reach_the_engine(host: Host) -> None:
    ran: list[float] = []

    async def step(grace: float) -> None:
        ran.append(grace)

    host.add_health_check("dep", lambda: False)
    host.add_shutdown_step(step)
    report = await host.health_report()
    assert report["dep"].ok is False and report["dep"].error == "check failed"
    await host.engine_for_transport.shutdown(0.1)
    assert ran == [0.1]


async def test_spawn_in_span_ends_the_span_with_the_outcome_of_the_work(host: Host) -> None:
    ended: list[Any] = []
    host.tracer.install(ended.append)
    try:
        async def ok(parent: str | None) -> str | None:
            assert parent is not None and parent.startswith("00-")
            return None

        async def reports_failure(_parent: str | None) -> str | None:
            return "binding b failed"

        async def raises(_parent: str | None) -> None:
            raise RuntimeError("boom")

        await host.spawn_in_span(host.tracer.start_span("ok"), ok)
        await host.spawn_in_span(host.tracer.start_span("reported"), reports_failure, failed=lambda r: r)
        with pytest.raises(RuntimeError):
            await host.spawn_in_span(host.tracer.start_span("raised"), raises)
    finally:
        host.tracer.uninstall()
    assert [(s.name, s.status) for s in ended] == [("ok", "ok"), ("reported", "error"), ("raised", "error")]
    assert ended[1].status_description == "binding b failed"
