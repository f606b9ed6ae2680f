"""A fake worker connection for driving ``pyiii.core`` in-process (ARCHITECTURE rule 11).

:class:`FakePeer` is a :class:`~pyiii.core.peer.Peer` that records every frame the engine sends
it (decoded with the wire codec, so a test sees what a real worker would read) and feeds frames
in through its own :class:`~pyiii.core.session.Session` exactly as the transport does. No
socket, no subprocess.

    engine = Engine()
    worker = await FakePeer.connect(engine, "w1")
    await worker.send({"type": "registerfunction", "id": "math::add"})
    caller = await FakePeer.connect(engine, "c1")
    await caller.invoke("math::add", {"a": 1}, invocation_id="i1")
    call = await worker.next_invoke()
    await worker.answer(call, result=2)
    assert (await caller.next_result("i1"))["result"] == 2
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from pyiii.core.access import Access
from pyiii.core.engine import Engine
from pyiii.core.peer import Peer
from pyiii.core.session import Session
from tests.support.waiting import eventually


class FakePeer(Peer):
    """Records the frames the engine sends; ``closed`` / ``broken`` model a dying connection."""

    def __init__(self, engine: Engine, worker_id: str, *, access: Access | None = None,
                 listener: str = "main") -> None:
        super().__init__(worker_id, f"token-{worker_id}", ip_address="127.0.0.1", listener=listener, access=access)
        self.engine = engine
        #: This connection's side of the engine: every frame ``send`` feeds goes through it.
        self.session = Session(engine, self)
        #: Every frame the engine sent, raw, in order.
        self.raw: list[bytes] = []
        #: Set to make ``send_frame`` raise ``ConnectionError`` (a socket that died).
        self.broken = False
        self.closed: tuple[int, str] | None = None
        self._read = 0

    @classmethod
    async def connect(cls, engine: Engine, worker_id: str, *, access: Access | None = None,
                      listener: str = "main") -> FakePeer:
        """A connection that passed authentication, greeted as the transport does."""
        peer = cls(engine, worker_id, access=access, listener=listener)
        await engine.connect_peer(peer)
        return peer

    # ------------------------------------------------------------------ Peer

    async def send_frame(self, frame: bytes) -> None:
        if self.broken or self.closed is not None:
            raise ConnectionError(f"fake peer {self.worker_id} is closed")
        self.raw.append(bytes(frame))

    def post_frame(self, frame: bytes) -> bool:
        if self.broken or self.closed is not None:
            raise ConnectionError(f"fake peer {self.worker_id} is closed")
        self.raw.append(bytes(frame))
        return True

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)

    # ------------------------------------------------------------------ frames in

    async def send(self, frame: dict[str, Any] | bytes | str) -> None:
        """Feed one frame to the engine as if this worker sent it."""
        data = frame if isinstance(frame, bytes) else (frame.encode() if isinstance(frame, str) else
                                                       json.dumps(frame).encode())
        await self.session.handle_frame(data)

    async def register_function(self, function_id: str, **fields: Any) -> None:
        await self.send({"type": "registerfunction", "id": function_id, **fields})

    async def unregister_function(self, function_id: str) -> None:
        await self.send({"type": "unregisterfunction", "id": function_id})

    async def register_trigger_type(self, type_id: str, **fields: Any) -> None:
        await self.send({"type": "registertriggertype", "id": type_id, **fields})

    async def register_trigger(self, trigger_id: str, trigger_type: str, function_id: str, config: Any = None,
                               **fields: Any) -> None:
        await self.send({"type": "registertrigger", "id": trigger_id, "trigger_type": trigger_type,
                         "function_id": function_id, "config": config, **fields})

    async def invoke(self, function_id: str, data: Any = None, *, invocation_id: str | None = None,
                     **fields: Any) -> None:
        frame: dict[str, Any] = {"type": "invokefunction", "function_id": function_id, "data": data, **fields}
        if invocation_id is not None:
            frame["invocation_id"] = invocation_id
        await self.send(frame)

    async def answer(self, call: dict[str, Any], result: Any = None, *, error: dict[str, Any] | None = None,
                     invocation_id: str | None = None) -> None:
        """Answer an ``invokefunction`` this peer received (or another id, to test spoofing)."""
        frame: dict[str, Any] = {"type": "invocationresult",
                                 "invocation_id": invocation_id or call["invocation_id"],
                                 "function_id": call["function_id"]}
        if error is not None:
            frame["error"] = error
        else:
            frame["result"] = result
        await self.send(frame)

    async def disconnect(self) -> None:
        """The socket closed: the transport runs the engine's cleanup."""
        self.closed = self.closed or (1006, "gone")
        await self.engine.disconnect_peer(self)

    # ------------------------------------------------------------------ frames out

    @property
    def frames(self) -> list[dict[str, Any]]:
        """Every frame received so far, decoded to plain JSON values."""
        return [msgspec.json.decode(f) for f in self.raw]

    def of_type(self, frame_type: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == frame_type]

    def unread(self) -> list[dict[str, Any]]:
        """Frames received since the last call to ``unread`` / ``next``."""
        out = [msgspec.json.decode(f) for f in self.raw[self._read:]]
        self._read = len(self.raw)
        return out

    async def next(self, frame_type: str, timeout: float = 2.0, **match: Any) -> dict[str, Any]:
        """The first frame of ``frame_type`` (with fields equal to ``match``) not yet taken."""

        def find() -> dict[str, Any] | None:
            for i in range(self._read, len(self.raw)):
                frame = msgspec.json.decode(self.raw[i])
                if frame.get("type") == frame_type and all(frame.get(k) == v for k, v in match.items()):
                    del self.raw[i]
                    return frame
            return None

        found: dict[str, Any] = await eventually(find, timeout=timeout, interval=0.001,
                                                 what=f"a {frame_type} frame {match or ''} at {self.worker_id}")
        return found

    async def next_invoke(self, timeout: float = 2.0, **match: Any) -> dict[str, Any]:
        return await self.next("invokefunction", timeout, **match)

    async def next_result(self, invocation_id: str, timeout: float = 2.0) -> dict[str, Any]:
        return await self.next("invocationresult", timeout, invocation_id=invocation_id)
