"""Logger: void calls to engine::log::<level>, trace ids from the current invocation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from pyiii import Logger
from pyiii.sdk import logger as logger_module
from tests.unit.sdk.conftest import ClientFactory, FakeEngine

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.asyncio
async def test_logger_sends_to_engine_log_functions(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)

    async def handler(data: Any) -> None:
        Logger(service_name="orders").info("order placed", {"id": 1})

    def sync_handler(data: Any) -> None:
        Logger().warn("careful")

    client.register_function("orders::place", handler)
    client.register_function("orders::warn", sync_handler)
    await conn.wait_count(lambda f: f["type"] == "registerfunction", 2)
    await conn.result_of(await conn.invoke("orders::place", {}, traceparent=TRACEPARENT))
    await conn.result_of(await conn.invoke("orders::warn", {}))

    info = await conn.wait_for(lambda f: f.get("function_id") == "engine::log::info")
    assert info["action"] == {"type": "void"} and "invocation_id" not in info
    assert info["data"] == {
        "message": "order placed",
        "data": {"id": 1},
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "service_name": "orders",
    }
    assert info["traceparent"] == TRACEPARENT
    warn = await conn.wait_for(lambda f: f.get("function_id") == "engine::log::warn")
    assert warn["data"]["message"] == "careful"
    assert warn["data"]["trace_id"] is None

    # Explicit ids win; usable outside handlers, from any thread.
    await asyncio.to_thread(Logger(trace_id="a" * 32, span_id="b" * 16).error, "bad")
    err = await conn.wait_for(lambda f: f.get("function_id") == "engine::log::error")
    assert (err["data"]["trace_id"], err["data"]["span_id"]) == ("a" * 32, "b" * 16)


def test_logger_falls_back_to_logging_without_client(caplog: pytest.LogCaptureFixture) -> None:
    assert logger_module.active_sink() is None
    with caplog.at_level(logging.DEBUG, logger="pyiii.sdk.logger"):
        Logger(service_name="svc").debug("hello", {"k": 1})
    assert "hello" in caplog.text
