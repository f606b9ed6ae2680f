"""Spec iii-0.23-0.25 §6.1 (handshake and compatibility), items 2 and 6.

Items 1, 3, 4 and 5 (features in ``workerregistered``, observe without features, 20 MiB payloads,
the 1 MiB limit of old SDKs) are the ``localdispatch`` branch's.

Item 2 — "the full 0.22.1 Python SDK integration suite passes unchanged (D1 policy)" — is the
existing suite, run by ``scripts/test`` with the dev pin ``iii-sdk==0.22.1`` in the test process:
``tests/interop/`` (``test_calls.py``, ``test_channels.py``, ``test_introspection.py``,
``test_owner_death.py``, ``test_restart.py``, ``test_trigger_types.py``, and the ``0.22.1`` column
of ``test_sdk_matrix.py`` with ``test_two_0221_workers_with_one_name_both_stay`` for D1),
``tests/integration/rbac/``, ``tests/integration/configuration/test_official_sdk.py``, the official
SDK tests under ``tests/integration/{http,queue,pubsub,cron,observability}/``, and item 29 of
``test_6_4_ownership.py`` here. No test here re-asserts that they are collected.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from tests.conformance.conftest import Raw, start_engine
from tests.support.engine import EngineProcess

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path_factory.mktemp("conf-6-1"))
    try:
        yield proc
    finally:
        proc.stop()


async def test_6_channel_urls_accept_an_extra_token_parameter(engine: EngineProcess, raw: Raw) -> None:
    w = await raw(engine.url)
    refs = (await w.call("engine::channels::create", {"buffer_size": 8}))["result"]
    channel, key = refs["writer"]["channel_id"], refs["writer"]["access_key"]
    base = f"{engine.url}/ws/channels/{channel}?token=x&key={key}"

    async with connect(f"{base}&dir=write") as writer:
        await writer.send(b"through a token-carrying url")
    async with connect(f"{base}&dir=read") as reader:
        assert await reader.recv() == b"through a token-carrying url"


async def test_6_otel_accepts_a_token_parameter(engine: EngineProcess) -> None:
    async with connect(f"{engine.url}/otel?token=x") as otel:
        await otel.send(b"LOGS{}")  # a telemetry frame; the socket must stay open after it
        pong = await otel.ping()
        await pong
