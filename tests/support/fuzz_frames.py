"""Generated iii protocol frames for fuzzing a live engine (fault F8, tests/security/test_fuzz_frames).

Everything comes from one ``random.Random`` so a seed replays a run exactly. A generated frame
says whether the engine owes an answer for it: every ``invokefunction`` that is a JSON object
with a string ``invocation_id`` and no void action must be answered (a result or a typed error),
whatever else is wrong with it (spec/protocol.md §1.6, issue #16 item 14). Everything else may
be dropped, but never crash, stall or leak.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Frames every fuzz run starts with: the classic decoder traps.
HOSTILE: tuple[bytes, ...] = (
    b"{", b"[]", b"null", b"1e999999", b'{"type":NaN}', b'{"type":"ping","x":Infinity}',
    b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b'{"type":"ping","type":"pong"}', b'{"type":"wat"}', b'{"type":42}',
    b'{"type":"invokefunction","function_id":7,"data":{}}', b'{"type":"registerfunction"}',
    b'{"type":"invocationresult","invocation_id":"u","error":{"code":1}}',
    b'{"type":"reattach","previous_worker_id":"../../etc","reattach_token":null}',
    b'{"type":"unregistertrigger"}', b"\x00\x01\x02", b"OTLPgarbage", b"  ", b'"\\ud800"',
)

_MUTATION_BASE: tuple[bytes, ...] = (
    b'{"type":"invokefunction","invocation_id":"x","function_id":"a","data":{}}',
    b'{"type":"registerfunction","id":"fz::a"}',
    b'{"type":"invocationresult","invocation_id":"nope","function_id":"a","result":1}',
    b'{"type":"registertrigger","id":"t","trigger_type":"nope","function_id":"a","config":{}}',
)
_JSON_BITS: tuple[bytes, ...] = (b"{", b"}", b'"', b",", b":", b"null", b"[", b"\\")


def mutate(rng: random.Random, raw: bytes) -> bytes:
    """1-4 byte-level edits: flip a byte, cut the tail, or splice in a JSON token."""
    out = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        i = rng.randrange(len(out))
        if op < 0.4:
            out[i] = rng.randrange(256)
        elif op < 0.7:
            del out[i:]
            out += b"x"
        else:
            out[i:i] = rng.choice(_JSON_BITS)
    return bytes(out)


def mutated_frames(rng: random.Random, n: int) -> list[bytes]:
    """The hostile corpus, then byte-mutated protocol frames up to ``n``."""
    out = list(HOSTILE)
    while len(out) < n:
        out.append(mutate(rng, rng.choice(_MUTATION_BASE)))
    return out


@dataclass(frozen=True)
class FuzzFrame:
    payload: bytes
    kind: str
    #: Sent as a binary (opcode 2) rather than a text frame.
    binary: bool = False
    #: The invocation id the engine must answer, if it owes an answer.
    answer: str | None = None


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


#: Values of the wrong type for any field.
_WRONG: tuple[Any, ...] = (None, 0, -1, 1.5, True, [], {}, [1, "a"], {"k": None}, "", "x" * 40)


class FrameFuzzer:
    """Frames for one fuzzing connection. Ids it registers come from small pools under
    ``fz::<tag>::`` so the registry stays bounded however long the run; ``echo`` is the one
    function the connection serves itself (its owner answers every call to it)."""

    def __init__(self, rng: random.Random, tag: str, max_frame_bytes: int, foreign_worker_id: str = "") -> None:
        self.rng = rng
        self.tag = tag
        self.echo = f"fz::{tag}::echo"
        self.max_frame_bytes = max_frame_bytes
        self.foreign_worker_id = foreign_worker_id
        self._seq = 0
        kinds: list[tuple[Callable[[], FuzzFrame], int]] = [
            (self.invoke_missing, 10), (self.invoke_echo, 6), (self.invoke_void, 3), (self.invoke_builtin, 1),
            (self.register_function, 4), (self.unregister_function, 3), (self.trigger_type, 3),
            (self.trigger, 4), (self.unregister_trigger, 2), (self.spoofed_result, 4), (self.service, 2),
            (self.ping, 2), (self.engine_only_frame, 2), (self.reattach, 1), (self.telemetry, 2),
            (self.truncated, 8), (self.wrong_types, 8), (self.huge_string, 1), (self.deep_nesting, 2),
            (self.huge_number, 2), (self.empty_invocation_id, 2), (self.invalid_utf8, 4),
            (self.unknown_type, 4), (self.random_bytes, 6), (self.mutated, 8),
        ]
        self._makers = [k for k, _ in kinds]
        self._weights = [w for _, w in kinds]

    def __next__(self) -> FuzzFrame:
        frame = self.rng.choices(self._makers, self._weights)[0]()
        if not frame.binary and self.rng.random() < 0.15:  # the engine reads both opcodes alike
            return FuzzFrame(frame.payload, frame.kind, True, frame.answer)
        return frame

    def __iter__(self) -> FrameFuzzer:
        return self

    # ------------------------------------------------------------------ helpers

    def _id(self) -> str:
        self._seq += 1
        return f"{self.tag}-{self._seq}"

    def _pool(self, what: str, size: int = 16) -> str:
        return f"fz::{self.tag}::{what}{self.rng.randrange(size)}"

    def _data(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 3 or r < 0.4:
            return self.rng.choice([None, True, 0, -7, 3.25, 2**70, "", "é✓", "a\u0000b", "\ud7ff"])
        if r < 0.7:
            return [self._data(depth + 1) for _ in range(self.rng.randrange(4))]
        return {f"k{i}": self._data(depth + 1) for i in range(self.rng.randrange(4))}

    def _target(self) -> str:
        """A function that exists (this connection's echo) or one that does not."""
        return self.echo if self.rng.random() < 0.5 else self._pool("missing")

    def _invoke(self, function_id: str, data: Any, **extra: Any) -> dict[str, Any]:
        return {"type": "invokefunction", "function_id": function_id, "data": data, **extra}

    # ------------------------------------------------------------------ valid frames of every type

    def invoke_missing(self) -> FuzzFrame:
        inv = self._id()
        return FuzzFrame(_dumps(self._invoke(self._pool("missing"), self._data(), invocation_id=inv)),
                         "invoke_missing", answer=inv)

    def invoke_echo(self) -> FuzzFrame:
        inv = self._id()
        return FuzzFrame(_dumps(self._invoke(self.echo, self._data(), invocation_id=inv,
                                             traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")),
                         "invoke_echo", answer=inv)

    def invoke_void(self) -> FuzzFrame:
        target = self.rng.choice([self.echo, self._pool("missing")])
        extra = {"action": {"type": "void"}} if self.rng.random() < 0.5 else {}
        return FuzzFrame(_dumps(self._invoke(target, self._data(), **extra)), "invoke_void")

    def invoke_builtin(self) -> FuzzFrame:
        inv = self._id()
        fid = self.rng.choice(["engine::functions::list", "engine::workers::list"])
        return FuzzFrame(_dumps(self._invoke(fid, {}, invocation_id=inv)), "invoke_builtin", answer=inv)

    def register_function(self) -> FuzzFrame:
        frame: dict[str, Any] = {"type": "registerfunction", "id": self._pool("fn")}
        if self.rng.random() < 0.5:
            frame |= {"description": "fuzz", "request_format": self._data(), "metadata": self._data()}
        return FuzzFrame(_dumps(frame), "registerfunction")

    def unregister_function(self) -> FuzzFrame:
        return FuzzFrame(_dumps({"type": "unregisterfunction", "id": self._pool("fn")}), "unregisterfunction")

    def trigger_type(self) -> FuzzFrame:
        tid = f"fz-{self.tag}-type{self.rng.randrange(4)}"
        if self.rng.random() < 0.3:
            return FuzzFrame(_dumps({"type": "unregistertriggertype", "id": tid}), "unregistertriggertype")
        return FuzzFrame(_dumps({"type": "registertriggertype", "id": tid, "description": "fuzz"}),
                         "registertriggertype")

    def trigger(self) -> FuzzFrame:
        # Types nobody provides (parked) or this connection's own: never a built-in type, so the
        # fuzz cannot start crons or bind routes.
        ttype = self.rng.choice([f"fz-{self.tag}-type{self.rng.randrange(4)}", "fz-nobody"])
        return FuzzFrame(_dumps({"type": "registertrigger", "id": self._pool("trg"), "trigger_type": ttype,
                                 "function_id": self.rng.choice([self.echo, self._pool("fn")]),
                                 "config": self._data(), "metadata": self._data()}), "registertrigger")

    def unregister_trigger(self) -> FuzzFrame:
        return FuzzFrame(_dumps({"type": "unregistertrigger", "id": self._pool("trg")}), "unregistertrigger")

    def spoofed_result(self) -> FuzzFrame:
        frame: dict[str, Any] = {"type": "invocationresult", "invocation_id": self.rng.choice([self._id(), "", "x"]),
                                 "function_id": self.echo}
        frame |= {"result": self._data()} if self.rng.random() < 0.5 else {"error": {"code": "E", "message": "m"}}
        return FuzzFrame(_dumps(frame), "spoofed_result")

    def service(self) -> FuzzFrame:
        return FuzzFrame(_dumps({"type": "registerservice", "id": self._pool("svc"), "name": "fuzz",
                                 "parent_service_id": self.rng.choice([None, "nope"])}), "registerservice")

    def ping(self) -> FuzzFrame:
        return FuzzFrame(b'{"type":"ping"}', "ping")

    def engine_only_frame(self) -> FuzzFrame:
        """Frames only the engine should send; a worker sending them is ignored."""
        frame = self.rng.choice([
            {"type": "pong"}, {"type": "workerregistered", "worker_id": "w"},
            {"type": "error", "error": {"code": "X", "message": "m"}},
            {"type": "triggerregistrationresult", "id": self._pool("trg"), "error": {"code": "X", "message": "m"}},
        ])
        return FuzzFrame(_dumps(frame), "engine_only")

    def reattach(self) -> FuzzFrame:
        # Someone else's worker id with a wrong token: must not disturb that worker.
        prev = self.rng.choice([self.foreign_worker_id, "nope"])
        return FuzzFrame(_dumps({"type": "reattach", "previous_worker_id": prev, "reattach_token": self._id()}),
                         "reattach")

    def telemetry(self) -> FuzzFrame:
        prefix = self.rng.choice([b"OTLP", b"MTRC", b"LOGS"])
        return FuzzFrame(prefix + self.rng.randbytes(self.rng.randrange(64)), "telemetry", binary=True)

    # ------------------------------------------------------------------ invalid frames

    def truncated(self) -> FuzzFrame:
        full = _dumps(self._invoke(self.echo, self._data(), invocation_id=self._id()))
        return FuzzFrame(full[: self.rng.randrange(1, len(full))], "truncated")

    def wrong_types(self) -> FuzzFrame:
        """A known frame with one field of the wrong type. An invoke whose id is still a string
        must be answered (an INVALID_FRAME error), not dropped."""
        inv = self._id()
        frame: dict[str, Any] = self.rng.choice([
            self._invoke(self._pool("missing"), {}, invocation_id=inv),
            {"type": "registerfunction", "id": self._pool("fn")},
            {"type": "registertrigger", "id": "t", "trigger_type": "fz-nobody", "function_id": self.echo},
            {"type": "invocationresult", "invocation_id": inv, "function_id": self.echo},
            {"type": "reattach", "previous_worker_id": "w"},
        ])
        field = self.rng.choice([k for k in frame if k != "type"] + ["action", "traceparent"])
        frame[field] = self.rng.choice(_WRONG)
        answer = frame.get("invocation_id") if frame["type"] == "invokefunction" else None
        if not isinstance(answer, str):
            answer = None  # no usable id: nobody to answer
        return FuzzFrame(_dumps(frame), f"wrong_types:{field}", answer=answer)

    def huge_string(self) -> FuzzFrame:
        inv = self._id()
        size = self.rng.randrange(self.max_frame_bytes // 8, self.max_frame_bytes // 2)
        where = self.rng.choice(["data", "function_id", "key"])
        if where == "data":
            frame = self._invoke(self._pool("missing"), {"s": "x" * size}, invocation_id=inv)
        elif where == "function_id":
            frame = self._invoke("fz::" + "y" * size, {}, invocation_id=inv)
        else:
            frame = self._invoke(self._pool("missing"), {"k" * size: 1}, invocation_id=inv)
        return FuzzFrame(_dumps(frame), f"huge_string:{where}", answer=inv)

    def deep_nesting(self) -> FuzzFrame:
        """Valid JSON nested past any sane depth. Inside an invoke's data the engine owes a typed
        error (issue #16 item 14); as a whole frame it may be dropped."""
        depth = self.rng.choice([600, 1_000, 5_000, 20_000])
        opener, closer = self.rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        nested = opener * depth + b"0" + closer * depth
        if self.rng.random() < 0.3:
            return FuzzFrame(nested, "deep_nesting:frame")
        inv = self._id()
        head = _dumps(self._invoke(self._target(), None, invocation_id=inv))
        return FuzzFrame(head.replace(b'"data":null', b'"data":' + nested), "deep_nesting:data", answer=inv)

    def huge_number(self) -> FuzzFrame:
        """Numbers no double holds (1E400, a 400-digit integer): valid JSON, answered."""
        inv = self._id()
        number = self.rng.choice([b"1E400", b"-1e999", b"9" * 400, b"1" + b"0" * 5_000, b"1E-400"])
        head = _dumps(self._invoke(self._target(), None, invocation_id=inv))
        return FuzzFrame(head.replace(b'"data":null', b'"data":{"n":' + number + b"}"), "huge_number", answer=inv)

    def empty_invocation_id(self) -> FuzzFrame:
        """``invocation_id: ""`` is a call whose id is unusable: a typed error, not a void call."""
        return FuzzFrame(_dumps(self._invoke(self._target(), {}, invocation_id="")), "empty_invocation_id",
                         answer="")

    def invalid_utf8(self) -> FuzzFrame:
        full = _dumps(self._invoke(self.echo, {"s": "abcdef"}, invocation_id=self._id()))
        bad = self.rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        return FuzzFrame(full.replace(b"abcdef", b"ab" + bad + b"ef"), "invalid_utf8")

    def unknown_type(self) -> FuzzFrame:
        kind = self.rng.choice(["nope", "", "INVOKEFUNCTION", "invokefunction ", "ping\u0000", "__proto__"])
        return FuzzFrame(_dumps({"type": kind, "invocation_id": self._id(), "data": self._data()}), "unknown_type")

    def random_bytes(self) -> FuzzFrame:
        return FuzzFrame(self.rng.randbytes(self.rng.randrange(0, 512)), "random_bytes",
                         binary=self.rng.random() < 0.5)

    def mutated(self) -> FuzzFrame:
        return FuzzFrame(mutate(self.rng, self.rng.choice(_MUTATION_BASE)), "mutated")
