"""Data channels through the official SDK helpers (spec §4.11, §5)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.interop.conftest import NodeWorker, PyWorker, uid, until_registered
from tests.support.engine import EngineProcess

pytestmark = pytest.mark.interop


async def test_engine_channels_create_shape(shared_engine: EngineProcess, py_worker: Any) -> None:
    py: PyWorker = await py_worker("official", shared_engine.url)
    refs = await py.trigger("engine::channels::create", {"buffer_size": 8})
    assert set(refs) == {"writer", "reader"}
    assert refs["writer"]["direction"] == "write"
    assert refs["reader"]["direction"] == "read"
    assert refs["writer"]["channel_id"] == refs["reader"]["channel_id"]
    assert refs["writer"]["access_key"] == refs["reader"]["access_key"]
    assert isinstance(refs["writer"]["access_key"], str) and refs["writer"]["access_key"]


async def test_official_python_channel_written_before_the_reader_connects(
    shared_engine: EngineProcess, py_worker: Any
) -> None:
    """``iii.helpers.create_channel``: the writer writes binary chunks (one above the SDK's 64 KiB
    frame split) and a text message, then closes, all before the reader connects."""
    py: PyWorker = await py_worker("official", shared_engine.url)
    channel = await asyncio.to_thread(py.sdk.helpers.create_channel, py.client, 16)
    big = bytes(range(256)) * 300  # 76 800 bytes: split into two frames by the SDK
    await channel.writer.write(b"hello ")
    await channel.writer.send_message_async('{"type":"set_status","status_code":201}')
    await channel.writer.write(big)
    await channel.writer.close_async()

    messages: list[str] = []
    channel.reader.on_message(messages.append)
    data = await asyncio.wait_for(channel.reader.read_all(), 10)
    assert data == b"hello " + big
    assert messages == ['{"type":"set_status","status_code":201}']


async def test_python_writer_node_reader(shared_engine: EngineProcess, py_worker: Any, node_worker: Any) -> None:
    """A reader ref passed in a payload becomes a live ChannelReader in the Node handler."""
    py: PyWorker = await py_worker("official", shared_engine.url)
    node: NodeWorker = await node_worker(shared_engine.url)
    fid = uid("chan::node-read")
    await node.register_function(fid, "read_channel")
    await until_registered(py, fid)

    channel = await asyncio.to_thread(py.sdk.helpers.create_channel, py.client, None)
    await channel.writer.write("päyload-".encode() * 1000)
    await channel.writer.send_message_async("text-item")
    await channel.writer.close_async()

    result = await py.trigger(fid, {"reader": channel.reader_ref.model_dump()})
    assert result["text"] == "päyload-" * 1000
    assert result["messages"] == ["text-item"]


async def test_channel_slots_are_single_use(shared_engine: EngineProcess, py_worker: Any) -> None:
    """A second reader for the same channel is closed at once and gets nothing."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    py: PyWorker = await py_worker("pyiii", shared_engine.url)
    refs = await py.trigger("engine::channels::create", {})
    cid, key = refs["reader"]["channel_id"], refs["reader"]["access_key"]
    base = f"{shared_engine.url}/ws/channels/{cid}?key={key}"
    async with connect(base + "&dir=write") as writer, connect(base + "&dir=read") as reader:
        await writer.send(b"first")
        assert await asyncio.wait_for(reader.recv(), 5) == b"first"
        async with connect(base + "&dir=read") as second:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(second.recv(), 5)
        async with connect(base + "&dir=write") as second_writer:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(second_writer.recv(), 5)
        # The first pair is unaffected.
        await writer.send("second")
        assert await asyncio.wait_for(reader.recv(), 5) == "second"
        await writer.close()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(reader.recv(), 5)
