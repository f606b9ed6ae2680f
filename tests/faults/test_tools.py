"""The fault tools themselves: the scheduler replays a seed; the chaos proxy's modes behave."""

from __future__ import annotations

import asyncio

from tests.faults.chaos_proxy import ChaosProxy
from tests.faults.scheduler import FaultScheduler


def test_scheduler_same_seed_same_plan_and_records_failures() -> None:
    hits: list[str] = []

    def boom() -> None:
        raise RuntimeError("could not apply")

    faults = {"a": lambda: hits.append("a"), "b": lambda: hits.append("b"), "boom": boom}
    s1 = FaultScheduler(7, faults, interval=(0.0, 0.001))
    assert s1.plan(10) == FaultScheduler(7, faults, interval=(0.0, 0.001)).plan(10)
    assert s1.plan(10) != FaultScheduler(8, faults, interval=(0.0, 0.001)).plan(10)
    events = s1.run(10)
    assert len(events) == 10 and [e.name for e in events] == [n for _, n in s1.plan(10)]
    assert all((e.name == "boom") == (not e.ok) for e in events)


async def test_chaos_proxy_modes() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()

    upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
    proxy = ChaosProxy(upstream.sockets[0].getsockname()[1])
    port = await proxy.start()
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"hello")
        assert await asyncio.wait_for(r.readexactly(5), 2) == b"hello"
        proxy.set_mode("blackhole")
        w.write(b"lost?")
        held = asyncio.ensure_future(r.readexactly(5))
        done, _ = await asyncio.wait([held], timeout=0.3)
        assert not done  # nothing travels, and no FIN/RST either
        proxy.set_mode("slow")  # the held bytes flow again, in small delayed chunks
        assert await asyncio.wait_for(held, 2) == b"lost?"
        proxy.reset_all()
        try:
            assert await asyncio.wait_for(r.read(10), 2) == b""
        except ConnectionResetError:
            pass  # the RST itself
        proxy.set_mode("refuse")
        r2, _ = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(r2.read(10), 2) == b""
    finally:
        await proxy.stop()
        upstream.close()
