"""F9: Hypothesis fuzzing. A RuleBasedStateMachine drives the in-process engine core with fake
peers through register / unregister / invoke / result / spoofed result / disconnect sequences;
a second fuzz throws arbitrary bytes and mutated JSON at the frame decoder."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from pyiii import protocol as p
from pyiii.core.engine import Engine
from pyiii.core.peer import Peer
from pyiii.core.session import Session

FULL = os.environ.get("PYIII_FAULTS_FULL") == "1"
EXAMPLES = 2000 if FULL else 150


class FakePeer(Peer):
    def __init__(self) -> None:
        super().__init__(str(uuid.uuid4()), str(uuid.uuid4()))
        self.outbox: list[dict[str, Any]] = []

    async def send_frame(self, frame: bytes) -> None:
        if not self.connected:
            raise ConnectionError("closed")
        self.outbox.append(json.loads(frame))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.connected = False


FUNCTION_IDS = st.sampled_from(["a", "b", "c::d"])


class CoreMachine(RuleBasedStateMachine):
    peers = Bundle("peers")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = Engine()
        self.calls: dict[str, FakePeer] = {}  # invocation id -> caller
        self.sessions: dict[str, Session] = {}  # worker id -> its connection's session
        self.answered: set[str] = set()  # engine-side ids an owner already answered

    def run(self, coro: Any) -> None:
        self.loop.run_until_complete(coro)
        for _ in range(3):  # let spawned tasks (local handlers, sends) finish
            self.loop.run_until_complete(asyncio.sleep(0))

    def frame(self, peer: FakePeer, msg: dict[str, Any]) -> None:
        self.run(self.sessions[peer.worker_id].handle_frame(json.dumps(msg).encode()))

    @rule(target=peers)
    def connect(self) -> FakePeer:
        peer = FakePeer()
        self.sessions[peer.worker_id] = Session(self.engine, peer)
        self.run(self.engine.connect_peer(peer))
        return peer

    @rule(peer=peers, fid=FUNCTION_IDS)
    def register(self, peer: FakePeer, fid: str) -> None:
        if peer.connected:
            self.frame(peer, {"type": "registerfunction", "id": fid})

    @rule(peer=peers, fid=FUNCTION_IDS)
    def unregister(self, peer: FakePeer, fid: str) -> None:
        if peer.connected:
            self.frame(peer, {"type": "unregisterfunction", "id": fid})

    @rule(peer=peers, fid=FUNCTION_IDS, reuse=st.booleans())
    def invoke(self, peer: FakePeer, fid: str, reuse: bool) -> None:
        if not peer.connected:
            return
        mine = [i for i, c in self.calls.items() if c is peer]
        inv = mine[0] if reuse and mine else str(uuid.uuid4())  # a caller reusing a pending id
        if inv in self.calls:
            return  # the model keeps one id -> one call; reuse is exercised through spoofing below
        self.calls[inv] = peer
        self.frame(peer, {"type": "invokefunction", "invocation_id": inv, "function_id": fid, "data": {"k": 1}})

    @rule(peer=peers, data=st.data())
    def answer(self, peer: FakePeer, data: st.DataObject) -> None:
        received = [f for f in peer.outbox if f["type"] == "invokefunction" and f["invocation_id"] not in self.answered]
        if not peer.connected or not received:
            return
        f = data.draw(st.sampled_from(received))
        self.answered.add(f["invocation_id"])
        self.frame(peer, {"type": "invocationresult", "invocation_id": f["invocation_id"],
                          "function_id": f["function_id"], "result": "ok"})

    @rule(peer=peers, data=st.data())
    def spoof(self, peer: FakePeer, data: st.DataObject) -> None:
        """A result for any known id from any peer, including ones it never received."""
        if not peer.connected or not self.calls:
            return
        inv = data.draw(st.sampled_from(sorted(self.calls)))
        received = {f["invocation_id"] for f in peer.outbox if f["type"] == "invokefunction"}
        if inv in received:
            return  # that would be a legitimate answer
        self.frame(peer, {"type": "invocationresult", "invocation_id": inv, "function_id": "x", "result": "spoof"})

    @rule(peer=consumes(peers))
    def disconnect(self, peer: FakePeer) -> None:
        self.run(self.engine.disconnect_peer(peer))

    @invariant()
    def resolved_at_most_once_and_never_spoofed(self) -> None:
        for peer in {id(c): c for c in self.calls.values()}.values():
            counts = Counter(f["invocation_id"] for f in peer.outbox if f["type"] == "invocationresult")
            assert all(n == 1 for n in counts.values()), counts
            assert all(f.get("result") != "spoof" for f in peer.outbox if f["type"] == "invocationresult")

    @invariant()
    def no_function_of_a_disconnected_worker(self) -> None:
        for entry in self.engine.functions.all():
            assert entry.owner is None or entry.owner.connected, entry.id

    def teardown(self) -> None:
        try:
            # Every worker still executing a call goes away: each waiting caller must now hold
            # exactly one answer (its result, invocation_stopped or function_not_found).
            owners = {id(pnd.owner): pnd.owner for pnd in self.engine.invoker.pending.values()}
            for owner in owners.values():
                self.run(self.engine.disconnect_peer(owner))
            for inv, caller in self.calls.items():
                if caller.connected:
                    got = [f for f in caller.outbox if f["type"] == "invocationresult" and f["invocation_id"] == inv]
                    assert len(got) == 1, f"invocation {inv} resolved {len(got)} times"
            assert not self.engine.invoker.pending
        finally:
            self.loop.close()


CoreMachine.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=40, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
test_core_state_machine = CoreMachine.TestCase


# ------------------------------------------------------------------ decoder


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


FRAME_TYPES = [*sorted(p.KNOWN_TYPES), "nope", ""]


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    obj = draw(st.dictionaries(st.sampled_from(["type", "id", "invocation_id", "function_id", "data", "config",
                                                "error", "action", "trigger_type", "metadata", "result"]),
                               _json_values(), max_size=6))
    if draw(st.booleans()):
        obj["type"] = draw(st.sampled_from(FRAME_TYPES))
    raw = json.dumps(obj).encode()
    if draw(st.booleans()) and raw:
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.binary(max_size=8)) + raw[cut:]
    return raw


def _decode_only_frame_errors(raw: bytes) -> None:
    try:
        p.decode(raw)
    except p.FrameError:
        pass


@settings(max_examples=EXAMPLES * 20, deadline=None)
@given(st.binary(max_size=256))
def test_decoder_arbitrary_bytes(raw: bytes) -> None:
    _decode_only_frame_errors(raw)


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(frames())
def test_decoder_mutated_frames(raw: bytes) -> None:
    _decode_only_frame_errors(raw)


def test_decoder_hostile_corpus() -> None:
    corpus = (b"[" * 100_000, b'{"a":' * 50_000, b'{"\xe7ype":1}', b'{"type":"ping","\xff":1}', b"\xff" * 10,
              '{"type":"\ud800"}'.encode("utf-8", "surrogatepass"), b'{"type":"invokefunction","data":' + b"[" * 50_000)
    for raw in corpus:
        _decode_only_frame_errors(raw)
