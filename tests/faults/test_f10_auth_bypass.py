"""F10: auth-bypass attempts against an RBAC listener are 100 % denied with 0 side effects; an
invocation result is accepted only from the worker that received that invocation."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from tests.faults.support import RESULTS, SEED
from tests.support.engine import EngineProcess, free_port
from tests.support.waiting import eventually
from tests.support.wire import RawWorker, wait_function

ATTACK_IDS = [
    "internal::x", "INTERNAL::X", "Internal::x", " internal::x", "internal::x ", "internal::x\u0000",
    "internal::*", "*", "**", "", "auth::check", "engine::functions::list", "engine::workers::list",
    "engine::register_trigger", "api::../internal::x", "api::echo/../../internal::x", "%2e%2e::internal::x",
    "\u0430pi::echo", "api\u2236\u2236echo", "API::echo", "api:echo", "api::echo::..", "internal::x::",
]


async def _serve(backend: RawWorker, effects: list[str], spoofable: asyncio.Event) -> None:
    """The trusted backend: answers auth and counts every function execution (the side effects)."""
    while True:
        frame = await backend.inbox.get()
        if frame.get("type") != "invokefunction":
            continue
        fid, inv = frame["function_id"], frame.get("invocation_id")
        effects.append(fid)
        if fid == "auth::check":
            token = frame["data"]["headers"].get("x-token")
            result: Any = {} if token == "valid" else None
        elif fid == "api::slow":
            await spoofable.wait()
            result = {"from": "backend"}
        else:
            result = {"seen": frame["data"]}
        if inv:
            body = {"result": result} if result is not None else {"error": {"code": "no", "message": "no"}}
            await backend.send({"type": "invocationresult", "invocation_id": inv, "function_id": fid, **body})


async def test_f10_bypass_attempts_denied_without_side_effects(tmp_path: Path) -> None:
    port = free_port()
    rbac = {"auth_function_id": "auth::check", "expose_functions": ['match("api::*")']}
    engine = EngineProcess(tmp_path, workers=[{"name": "iii-worker-manager",
                                               "config": {"port": port, "host": "127.0.0.1", "rbac": rbac}}]).start()
    backend = await RawWorker.connect(engine.url)
    effects: list[str] = []
    release = asyncio.Event()
    server = asyncio.ensure_future(_serve(backend, effects, release))
    attempts = denied = 0
    try:
        for fid in ("auth::check", "internal::x", "api::echo", "api::slow"):
            await backend.register(fid)
        await wait_function(backend, "api::slow")
        attacker = await RawWorker.connect(f"ws://127.0.0.1:{port}", headers={"x-token": "valid"})
        effects.clear()
        # 1. invocations outside the grant (namespace escapes, case and unicode look-alikes)
        for fid in ATTACK_IDS:
            for action in (None, {"type": "void"}, {"type": "enqueue", "queue": "q"}):
                attempts += 1
                if action == {"type": "void"}:  # no reply by design: judged by the side effects below
                    await attacker.send({"type": "invokefunction", "function_id": fid, "data": {}, "action": action})
                    denied += 1
                    continue
                extra = {"action": action} if action else {}
                res = await attacker.call(fid, {"x": 1}, **extra)
                if res.get("error", {}).get("code") in ("FORBIDDEN", "function_not_found", "enqueue_error"):
                    denied += 1
        # 2. hijack registrations of functions served by someone else
        for fid in ("auth::check", "internal::x", "api::echo"):
            attempts += 1
            await attacker.register(fid)
            r = await attacker.expect("triggerregistrationresult", id=fid)
            denied += r["error"]["code"] == "FORBIDDEN"
        # 3. unregister someone else's function, reattach as the backend with a guessed token
        attempts += 2
        await attacker.send({"type": "unregisterfunction", "id": "api::echo"})
        await attacker.send({"type": "reattach", "previous_worker_id": backend.worker_id,
                             "reattach_token": str(uuid.uuid4())})
        await attacker.send({"type": "ping"})
        await attacker.expect("pong")
        res = await backend.call("api::echo", {"still": "mine"})
        denied += 2 if res.get("result", {}).get("seen", {}).get("still") == "mine" else 0
        # 4. a spoofed result for an invocation the attacker did not receive
        attempts += 1
        caller = await RawWorker.connect(engine.url)
        inv = str(uuid.uuid4())
        slow_calls = effects.count("api::slow")
        pending = asyncio.ensure_future(caller.call("api::slow", {}, invocation_id=inv))
        await eventually(lambda: effects.count("api::slow") > slow_calls, what="the backend to hold the call")
        await attacker.send({"type": "invocationresult", "invocation_id": inv, "function_id": "api::slow",
                             "result": {"from": "attacker"}})
        await attacker.send({"type": "ping"})
        await attacker.expect("pong")
        release.set()
        denied += (await pending)["result"] == {"from": "backend"}
        # 5. a spoofed _caller_worker_id: the handler sees the real caller (the engine's key is last)
        attempts += 1
        res = await attacker.call("api::echo", {"_caller_worker_id": backend.worker_id})
        denied += json.loads(json.dumps(res["result"]["seen"]))["_caller_worker_id"] == attacker.worker_id
        side_effects = [f for f in effects if f not in ("api::echo", "api::slow")]
        assert side_effects == [], side_effects
        assert denied == attempts, f"{attempts - denied} of {attempts} attempts got through"
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"F10-seed{SEED}.json").write_text(json.dumps({"attempts": attempts, "denied": denied,
                                                                   "side_effects": len(side_effects)}))
        await caller.close()
        await attacker.close()
    finally:
        server.cancel()
        await backend.close()
        engine.stop()
