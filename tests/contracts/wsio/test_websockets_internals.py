"""The websockets backend batches writes through two undocumented attributes of websockets'
connection (``send_in_progress``, ``set_connection_exc``); this fails when a release renames
them, before the batching breaks in production."""

from __future__ import annotations

from tests.contracts.wsio.conftest import Harness
from tests.support.waiting import eventually


async def test_the_undocumented_attributes_batching_relies_on_exist() -> None:
    h = Harness("websockets", "websockets")
    await h.start()
    try:
        client = await h.connect()
        await eventually(lambda: h.accepted, 5, what="the server to accept")
        for conn in (h.accepted[0], client):
            ws = conn.ws  # type: ignore[attr-defined]
            assert ws.send_in_progress is None
            assert callable(ws.set_connection_exc)
            assert ws.protocol.data_to_send() == []
        await client.close()
    finally:
        assert h.server is not None
        await h.server.close()
