"""Attack: valid JSON that the engine cannot decode, so the call is dropped and its caller
waits for its own timeout (or, with an empty ``invocation_id``, is taken as a void call), or a
registration frame's handler raises and the connection is closed without a word.

Each must be answered at once with a typed error naming the problem, addressed to the caller's
``invocation_id`` whenever the envelope can be read; a registration gets the typed refusal
(``triggerregistrationresult`` with an error) and its connection stays open.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker, wait_function

#: Well below every SDK's default timeout: an answer must come from the engine, not a timer.
ANSWER_WITHIN_S = 3.0


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = EngineProcess(tmp_path_factory.mktemp("engine"), workers=[{"name": "iii-queue"}]).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def caller(engine: EngineProcess) -> AsyncIterator[RawWorker]:
    client = await RawWorker.connect(engine.url)
    try:
        yield client
    finally:
        await client.close()


async def send_text(client: RawWorker, text: str, invocation_id: str) -> dict[str, Any]:
    """Send a hand-written frame; return the invocationresult for ``invocation_id``."""
    waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    client.waiting[invocation_id] = waiter
    started = time.monotonic()
    await client.ws.send(text)
    try:
        reply = await asyncio.wait_for(waiter, ANSWER_WITHIN_S)
    finally:
        client.waiting.pop(invocation_id, None)
    assert time.monotonic() - started < ANSWER_WITHIN_S
    return reply


def invoke_text(function_id: str, data: str, invocation_id: str, extra: str = "") -> str:
    return (f'{{"type":"invokefunction","function_id":{json.dumps(function_id)},"data":{data},'
            f'"invocation_id":{json.dumps(invocation_id)}{extra}}}')


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1_000, 100_000, 2_000_000])
async def test_deep_data_to_a_builtin_gets_payload_too_deep(caller: RawWorker, depth: int) -> None:
    inv = str(uuid.uuid4())
    reply = await send_text(caller, invoke_text("engine::functions::list", nested(depth), inv), inv)
    assert reply["error"]["code"] == "payload_too_deep", reply
    assert reply["function_id"] == "engine::functions::list"


async def test_deep_data_with_the_id_after_it_is_still_answered(caller: RawWorker) -> None:
    """The addressing fields are found even when they follow the deep payload."""
    inv = str(uuid.uuid4())
    text = f'{{"type":"invokefunction","data":{nested(2_000_000)},"function_id":"a::b","invocation_id":"{inv}"}}'
    reply = await send_text(caller, text, inv)
    assert reply["error"]["code"] == "payload_too_deep", reply


async def test_deep_data_to_a_remote_worker_gets_payload_too_deep(engine: EngineProcess, caller: RawWorker) -> None:
    owner = await RawWorker.connect(engine.url)
    try:
        await owner.register("deep::target")
        await wait_function(caller, "deep::target")
        inv = str(uuid.uuid4())
        reply = await send_text(caller, invoke_text("deep::target", nested(2_000), inv), inv)
        assert reply["error"]["code"] == "payload_too_deep", reply
    finally:
        await owner.close()


async def test_deep_result_from_a_worker_fails_the_call_at_once(engine: EngineProcess, caller: RawWorker) -> None:
    owner = await RawWorker.connect(engine.url)
    try:
        await owner.register("deep::answer")
        await wait_function(caller, "deep::answer")
        call = asyncio.ensure_future(caller.call("deep::answer", {}, timeout=ANSWER_WITHIN_S))
        frame = await owner.expect("invokefunction")
        await owner.ws.send(f'{{"type":"invocationresult","invocation_id":"{frame["invocation_id"]}",'
                            f'"function_id":"deep::answer","result":{nested(3_000)}}}')
        reply = await call
        assert reply["error"]["code"] == "payload_too_deep", reply
    finally:
        await owner.close()


@pytest.mark.parametrize("number", ["1E400", "-1e999"])
async def test_out_of_range_number_to_a_builtin_gets_a_typed_error(caller: RawWorker, number: str) -> None:
    inv = str(uuid.uuid4())
    reply = await send_text(caller, invoke_text("engine::functions::list", f'{{"n":{number}}}', inv), inv)
    assert reply["error"]["code"] == "deserialization_error", reply
    assert "out of range" in reply["error"]["message"]


async def test_out_of_range_number_in_metadata_gets_a_typed_error(caller: RawWorker) -> None:
    inv = str(uuid.uuid4())
    text = invoke_text("engine::functions::list", "{}", inv, extra=',"metadata":{"n":1E400}')
    reply = await send_text(caller, text, inv)
    assert reply["error"]["code"] == "deserialization_error", reply


async def test_out_of_range_number_in_an_enqueued_call_gets_a_typed_error(caller: RawWorker) -> None:
    inv = str(uuid.uuid4())
    text = invoke_text("any::fn", '{"n":1E400}', inv, extra=',"action":{"type":"enqueue","queue":"q"}')
    reply = await send_text(caller, text, inv)
    assert reply["error"]["code"] == "deserialization_error", reply


async def test_out_of_range_number_to_a_remote_worker_is_routed_untouched(
    engine: EngineProcess, caller: RawWorker
) -> None:
    """Rule 4: the engine forwards ``data`` as raw bytes; only the target interprets it."""
    owner = await RawWorker.connect(engine.url)
    try:
        await owner.register("num::target")
        await wait_function(caller, "num::target")
        inv = str(uuid.uuid4())
        await caller.ws.send(invoke_text("num::target", '{"n":1E400}', inv))
        frame = await owner.expect("invokefunction")
        assert frame["data"]["n"] == float("inf")  # Python's json reads 1E400 as inf
    finally:
        await owner.close()


async def test_empty_invocation_id_is_refused_not_taken_as_void(caller: RawWorker) -> None:
    reply = await send_text(caller, invoke_text("engine::functions::list", "{}", ""), "")
    assert reply["error"]["code"] == "invalid_frame", reply
    assert "invocation_id" in reply["error"]["message"]
    assert "result" not in reply


# ---------------------------------------------------------------- registration frames

REGISTRATIONS = {
    "registerfunction": ('"id":"reg::fn"', ["metadata", "request_format", "response_format"]),
    "registertriggertype": ('"id":"reg::tt","description":""', ["trigger_request_format", "call_request_format"]),
    "registertrigger": ('"id":"reg-trigger","trigger_type":"cron","function_id":"reg::fn"', ["config", "metadata"]),
}
CASES = [(frame_type, field) for frame_type, (_, fields) in REGISTRATIONS.items() for field in fields]


async def refused_and_still_open(client: RawWorker, frame_type: str, value: str, field: str) -> dict[str, Any]:
    """Send a registration with ``field`` set to ``value``; return its refusal, after checking
    that the connection still serves a call."""
    head, _ = REGISTRATIONS[frame_type]
    await client.ws.send(f'{{"type":"{frame_type}",{head},"{field}":{value}}}')
    refusal = await client.expect("triggerregistrationresult", timeout=ANSWER_WITHIN_S)
    reply = await client.call("engine::baggage::get_all", timeout=ANSWER_WITHIN_S)
    assert "error" not in reply, reply
    return refusal


@pytest.mark.parametrize(("frame_type", "field"), CASES)
async def test_out_of_range_number_in_a_registration_is_refused_typed(
    engine: EngineProcess, caller: RawWorker, frame_type: str, field: str
) -> None:
    refusal = await refused_and_still_open(caller, frame_type, '{"n":1E400}', field)
    assert refusal["error"]["code"] == "deserialization_error", refusal
    assert field in refusal["error"]["message"]
    assert refusal["id"] == REGISTRATIONS[frame_type][0].split('"')[3]
    assert "refused" in engine.logs()


@pytest.mark.parametrize(("frame_type", "field"), CASES)
@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_deep_registration_is_refused_typed(
    caller: RawWorker, frame_type: str, field: str, depth: int
) -> None:
    refusal = await refused_and_still_open(caller, frame_type, nested(depth), field)
    assert refusal["error"]["code"] == "payload_too_deep", refusal
    if frame_type == "registertrigger":
        assert (refusal["trigger_type"], refusal["function_id"]) == ("cron", "reg::fn")


async def test_a_refused_registration_registers_nothing(caller: RawWorker) -> None:
    await refused_and_still_open(caller, "registerfunction", '{"n":1E400}', "metadata")
    await wait_function(caller, "reg::fn", present=False)
