"""Channel refs in payloads become live readers/writers on /ws/channels/<id>."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyiii.sdk import (
    ChannelReader,
    ChannelWriter,
    create_channel_async,
    extract_channel_refs,
    is_channel_ref,
)
from pyiii.sdk.channels import MAX_FRAME_SIZE, build_channel_url, resolve_channel_refs
from tests.unit.sdk.conftest import ClientFactory, FakeChannel, FakeEngine


def ref(channel_id: str, direction: str) -> dict[str, str]:
    return {"channel_id": channel_id, "access_key": "k/+ey=", "direction": direction}


def test_ref_helpers() -> None:
    payload = {"a": [ref("c1", "read"), {"w": ref("c2", "write")}], "x": {"channel_id": 1}}
    assert is_channel_ref(ref("c", "read")) and not is_channel_ref({"channel_id": "c"})
    assert [(p, r.channel_id) for p, r in extract_channel_refs(payload)] == [("a[0]", "c1"), ("a[1].w", "c2")]
    assert build_channel_url("ws://h:1/", "c", "k/+ey=", "read") == "ws://h:1/ws/channels/c?key=k%2F%2Bey%3D&dir=read"


def test_resolve_channel_refs_copies_only_what_holds_a_ref() -> None:
    """Refs anywhere become endpoints; a container holding one is a copy with its keys in order,
    everything without a ref is the very same object (payloads without refs are not copied)."""
    plain = {"h": {"a": "1"}, "l": [1, {"b": 2}], "s": "x"}
    assert resolve_channel_refs(plain, "ws://h:1") is plain
    payload = {"first": 1, "body": {"deep": [0, ref("c1", "read")]}, "other": {"k": [1]},
               "response": ref("c2", "write"), "last": None}
    out = resolve_channel_refs(payload, "ws://h:1/?t=1")
    assert list(out) == list(payload) and out is not payload
    assert out["other"] is payload["other"] and out["first"] == 1 and out["last"] is None
    reader, writer = out["body"]["deep"][1], out["response"]
    assert isinstance(reader, ChannelReader) and isinstance(writer, ChannelWriter)
    assert out["body"]["deep"][0] == 0 and payload["body"]["deep"][1] == ref("c1", "read")  # input untouched
    assert reader.url == "ws://h:1/ws/channels/c1?key=k%2F%2Bey%3D&dir=read"
    assert writer.url == "ws://h:1/ws/channels/c2?key=k%2F%2Bey%3D&dir=write"
    top = resolve_channel_refs([ref("c3", "read"), "x"], "ws://h:1")
    assert isinstance(top[0], ChannelReader) and top[1] == "x"


@pytest.mark.asyncio
async def test_handler_gets_reader_and_writer(engine: FakeEngine, connect: ClientFactory) -> None:
    big = bytes(range(256)) * 600  # > 64 KiB: must be split
    engine.channels["in"] = FakeChannel([b"hello ", "ctl-message", b"world"])
    engine.channels["out"] = FakeChannel([])
    client = await connect()
    conn = await engine.connection(0)
    texts: list[str] = []

    async def handler(data: Any) -> Any:
        reader, writer = data["body"]["reader"], data["items"][0]
        assert isinstance(reader, ChannelReader) and isinstance(writer, ChannelWriter)
        reader.on_message(texts.append)
        content = await reader.read_all()
        await writer.send_message_async('{"type":"set_status","status_code":201}')
        await writer.write(content.upper())
        await writer.write(big)
        await writer.close_async()
        return {"len": len(content), "plain": data["plain"]}

    client.register_function("stream::copy", handler)
    await conn.wait_for(lambda f: f["type"] == "registerfunction")
    inv = await conn.invoke(
        "stream::copy", {"body": {"reader": ref("in", "read")}, "items": [ref("out", "write")], "plain": 1}
    )
    result = await conn.result_of(inv)
    assert result["result"] == {"len": 11, "plain": 1}
    assert texts == ["ctl-message"]
    out = engine.channels["out"]
    await asyncio.wait_for(out.write_done.wait(), 5)
    assert out.written[0] == '{"type":"set_status","status_code":201}'
    assert out.written[1] == b"HELLO WORLD"
    chunks = out.written[2:]
    assert all(isinstance(c, bytes) and len(c) <= MAX_FRAME_SIZE for c in chunks)
    assert b"".join(c for c in chunks if isinstance(c, bytes)) == big
    assert engine.channels["in"].queries[0] == {"key": ["k/+ey="], "dir": ["read"]}
    assert out.queries[0]["dir"] == ["write"]


@pytest.mark.asyncio
async def test_node_style_streams(engine: FakeEngine, connect: ClientFactory) -> None:
    """``reader.stream`` / ``writer.stream`` (made on first use) are one object per endpoint and
    carry the data like the endpoints themselves."""
    engine.channels["in"] = FakeChannel([b"ab", b"cd"])
    engine.channels["out"] = FakeChannel([])
    client = await connect()
    conn = await engine.connection(0)

    async def handler(data: Any) -> Any:
        reader, writer = data["in"], data["out"]
        assert reader.stream is reader.stream and writer.stream is writer.stream
        content = b"".join([chunk async for chunk in reader.stream])
        writer.stream.end(content[::-1])
        return len(content)

    client.register_function("stream::node", handler)
    await conn.wait_for(lambda f: f["type"] == "registerfunction")
    inv = await conn.invoke("stream::node", {"in": ref("in", "read"), "out": ref("out", "write")})
    assert (await conn.result_of(inv))["result"] == 4
    out = engine.channels["out"]
    await asyncio.wait_for(out.write_done.wait(), 5)
    assert out.written == [b"dcba"]


@pytest.mark.asyncio
async def test_create_channel_calls_the_engine(engine: FakeEngine, connect: ClientFactory) -> None:
    async def hook(conn: Any, frame: dict[str, Any]) -> None:
        if frame.get("function_id") == "engine::channels::create":
            await conn.send(
                {
                    "type": "invocationresult",
                    "invocation_id": frame["invocation_id"],
                    "function_id": frame["function_id"],
                    "result": {"writer": ref("c9", "write"), "reader": ref("c9", "read")},
                }
            )

    engine.on_frame = hook
    client = await connect()
    channel = await create_channel_async(client, 16)
    assert channel.writer_ref.direction == "write" and channel.reader_ref.channel_id == "c9"
    frame = await (await engine.connection(0)).wait_for(
        lambda f: f.get("function_id") == "engine::channels::create"
    )
    assert frame["data"] == {"buffer_size": 16}
