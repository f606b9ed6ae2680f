"""RBAC listeners (spec/protocol.md §6) against a real engine, with the official Python SDK for
sessions and raw frames where the exact wire shape matters."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.rbac.conftest import Rig
from tests.support.node_sdk import node_sdk_dir
from tests.support.waiting import eventually, eventually_sync
from tests.support.wire import RawWorker

pytestmark = pytest.mark.interop


@contextlib.contextmanager
def session(rig: Rig, port: int, token: str | None = None, query: str = "") -> Iterator[Any]:
    from iii import InitOptions, register_worker

    headers = {"x-token": token} if token else None
    worker = register_worker(rig.url(port, query),
                             InitOptions(worker_name=f"s-{token}", headers=headers, enable_metrics_reporting=False))
    try:
        yield worker
    finally:
        worker.shutdown()


def provider_class() -> Any:
    from iii.triggers import TriggerHandler

    class Provider(TriggerHandler[Any]):
        async def register_trigger(self, config: Any) -> None: ...
        async def unregister_trigger(self, config: Any) -> None: ...

    return Provider


def invoke_error(worker: Any, function_id: str, payload: Any = None) -> Any:
    from iii import InvocationError

    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": function_id, "payload": payload or {}, "timeout_ms": 5000})
    return info.value


# ------------------------------------------------------------------ authentication


def test_auth_input_shape_raw_query_and_lowercase_headers(rig: Rig) -> None:
    rig.calls["auth"].clear()
    with session(rig, rig.auth_port, "valid", "?token=a%20b&token=c&flag") as w:
        out = w.trigger({"function_id": "api::echo", "payload": {"n": 1}})
        assert out == {"echo": {"n": 1, "_caller_worker_id": w.worker_id}}
    seen = rig.calls["auth"][-1]
    assert set(seen) == {"headers", "query_params", "ip_address"}
    assert seen["query_params"] == {"token": ["a%20b", "c"], "flag": [""]}  # raw, not URL-decoded
    assert seen["headers"]["x-token"] == "valid"
    assert all(k == k.lower() for k in seen["headers"])
    assert "sec-websocket-key" in seen["headers"]
    assert seen["ip_address"] == "127.0.0.1"


@pytest.mark.parametrize("token", ["wrong", "badshape", "none", None])
async def test_auth_failure_sends_auth_error_then_closes(rig: Rig, token: str | None) -> None:
    headers = {"x-token": token} if token else None
    async with connect(rig.url(rig.auth_port), additional_headers=headers) as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert frame["type"] == "error" and frame["error"]["code"] == "AUTH_ERROR"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1008


def test_auth_result_defaults(rig: Rig) -> None:
    """``{}``: functions may register (default true), trigger types may not (default false)."""

    Provider = provider_class()

    with session(rig, rig.auth_port, "valid") as w:
        w.register_function("api::from-session", lambda d: "mine")
        w.register_trigger_type({"id": "tt::defaults", "description": "x"}, Provider())
        rig.wait_function("api::from-session")
        assert rig.backend.trigger({"function_id": "api::from-session", "payload": {}}) == "mine"
        types = rig.backend.trigger({"function_id": "engine::triggers::list", "payload": {}})
        assert "tt::defaults" not in json.dumps(types)
    rig.wait_function("api::from-session", present=False)


# ------------------------------------------------------------------ invocation decisions


def test_forbidden_messages_and_allow_lists(rig: Rig) -> None:
    with session(rig, rig.auth_port, "valid") as w:
        err = invoke_error(w, "internal::x")
        assert err.code == "FORBIDDEN"
        assert err.message == "function 'internal::x' not allowed (add to rbac.expose_functions)"
        err = invoke_error(w, "nope::unknown")  # the access check runs before the existence check
        assert err.code == "FORBIDDEN"
    with session(rig, rig.auth_port, "admin") as w:
        err = invoke_error(w, "api::secret")
        assert err.code == "FORBIDDEN"
        assert err.message == "function 'api::secret' not allowed (remove from rbac.forbidden_functions)"
        assert w.trigger({"function_id": "internal::x", "payload": {}}) == {"internal": True}


def test_infrastructure_carve_out(rig: Rig) -> None:
    with session(rig, rig.auth_port, "valid") as w:
        ref = w.trigger({"function_id": "engine::channels::create", "payload": {}})
        assert "writer" in json.dumps(ref) or ref  # allowed although not exposed
        assert invoke_error(w, "engine::functions::list").code == "FORBIDDEN"  # not in the carve-out


def test_metadata_filters(rig: Rig) -> None:
    with session(rig, rig.auth_port, "valid") as w:
        assert w.trigger({"function_id": "pub::thing", "payload": {}}) == "public thing"
        assert invoke_error(w, "pub::other").code == "FORBIDDEN"  # name does not match *public*
        assert invoke_error(w, "pub::nometa").code == "FORBIDDEN"  # no metadata never matches


def test_rbac_block_without_auth_function(rig: Rig) -> None:
    with session(rig, rig.open_port) as w:
        assert w.trigger({"function_id": "api::echo", "payload": {}})["echo"]["_caller_worker_id"] == w.worker_id
        assert invoke_error(w, "internal::x").code == "FORBIDDEN"


def test_session_filtered_function_list(rig: Rig) -> None:
    with session(rig, rig.auth_port, "admin") as w:
        listed = {f["function_id"] for f in
                  w.trigger({"function_id": "engine::functions::list", "payload": {}})["functions"]}
    assert {"api::echo", "pub::thing", "internal::x"} <= listed
    assert not listed & {"api::secret", "pub::other", "pub::nometa", "hooks::fn", "auth::check"}
    assert {"hooks::fn", "auth::check"} <= rig.functions()  # the main listener sees everything


# ------------------------------------------------------------------ middleware


def test_middleware_diversion_shape(rig: Rig) -> None:
    rig.calls["mw"].clear()
    rig.calls["echo"].clear()
    with session(rig, rig.mw_port, "admin") as w:
        out = w.trigger({"function_id": "api::echo", "payload": {"page": 1}})
        assert out == {"via": "middleware", "function_id": "api::echo", "payload": {"page": 1}}
        # engine::* ids are never diverted
        assert "functions" in w.trigger({"function_id": "engine::functions::list", "payload": {}})
    assert rig.calls["mw"] == [{"function_id": "api::echo", "payload": {"page": 1}, "action": None,
                               "context": {"role": "admin"}, "namespace": "default"}]
    assert rig.calls["echo"] == []  # the middleware decides whether the target runs


async def test_middleware_receives_void_action(rig: Rig) -> None:
    rig.calls["mw"].clear()
    w = await RawWorker.connect(rig.url(rig.mw_port), headers={"x-token": "valid"})
    try:
        await w.send({"type": "invokefunction", "function_id": "api::echo", "data": {"v": 1},
                      "action": {"type": "void"}})
        await eventually(lambda: rig.calls["mw"], 5, 0.05, what="the middleware to be called")
        assert rig.calls["mw"][-1]["action"] == {"type": "void"}
        assert "_caller_worker_id" not in rig.calls["mw"][-1]["payload"]
    finally:
        await w.close()


# ------------------------------------------------------------------ registration prefix and hooks


def test_registration_prefix_is_stripped_on_dispatch(rig: Rig) -> None:
    seen: list[Any] = []

    def hello(data: Any) -> Any:
        seen.append(data)
        return "hi from tenant a"

    with session(rig, rig.auth_port, "prefixed") as w:
        w.register_function("api::hello", hello)
        rig.wait_function("tenant-a::api::hello")
        assert "api::hello" not in rig.functions()
        assert rig.backend.trigger({"function_id": "tenant-a::api::hello", "payload": {"x": 1}}) == "hi from tenant a"
        assert seen and seen[0]["x"] == 1
    hook_input = next(c for c in rig.calls["fn"] if c["function_id"] == "api::hello")
    assert hook_input == {"function_id": "api::hello", "description": None, "metadata": None,
                          "namespace": "default", "context": {"tenant": "a"}}  # ids before the prefix


def test_function_hook_remaps_and_denies(rig: Rig) -> None:
    with session(rig, rig.auth_port, "valid") as w:
        w.register_function("ren::me", lambda d: "remapped handler ran")
        w.register_function("deny::me", lambda d: "never")
        w.register_function("nullres::x", lambda d: "never")
        w.register_function("api::plain", lambda d: "plain")
        rig.wait_function("api::plain")
        rig.wait_function("ren::mapped")
        ids = rig.functions()
        assert "ren::me" not in ids and "deny::me" not in ids and "nullres::x" not in ids
        info = rig.backend.trigger({"function_id": "engine::functions::info",
                                    "payload": {"function_id": "ren::mapped"}})
        assert info.get("metadata") == {"hooked": True}
        # pyiii dispatches under the id the worker registered, so the remapped function works
        assert rig.backend.trigger({"function_id": "ren::mapped", "payload": {}}) == "remapped handler ran"


def test_trigger_type_hook_and_trigger_hook(rig: Rig) -> None:
    Provider = provider_class()

    with session(rig, rig.auth_port, "admin") as w:
        w.register_trigger_type({"id": "tt::ok", "description": "ok"}, Provider())
        w.register_trigger_type({"id": "tt::deny", "description": "deny"}, Provider())
        w.register_function("api::bound", lambda d: None)
        # The session's own trigger type: engine event types need an explicit allowed_trigger_types
        # (rbac.explicit_trigger_types), which is not what this test is about.
        w.register_trigger({"type": "tt::ok-mapped", "function_id": "api::bound", "config": {"k": 1}})
        w.register_trigger({"type": "tt::ok-mapped", "function_id": "api::bound", "config": {"deny": True}})
        rig.wait_function("api::bound")

        def listed() -> tuple[str, Any] | None:
            types = json.dumps(rig.backend.trigger({"function_id": "engine::triggers::list", "payload": {}}))
            bound = rig.backend.trigger({"function_id": "engine::registered-triggers::list", "payload": {}})
            mine = [t for t in json.dumps(bound).split("},") if "api::bound" in t]
            return (types, bound) if "tt::ok-mapped" in types and mine else None

        types, bound = eventually_sync(listed, 5, 0.05, what="tt::ok-mapped and api::bound listed")
        assert "tt::ok-mapped" in types and '"tt::ok"' not in types and "tt::deny" not in types
        text = json.dumps(bound)
        assert '"hooked": true' in text and '"deny": true' not in text
    tt_input = next(c for c in rig.calls["tt"] if c["trigger_type_id"] == "tt::ok")
    assert tt_input == {"trigger_type_id": "tt::ok", "description": "ok", "context": {"role": "admin"}}
    trig_input = next(c for c in rig.calls["trig"] if c["config"] == {"k": 1})
    assert set(trig_input) == {"trigger_id", "trigger_type", "function_id", "config", "metadata", "namespace",
                               "context"}
    assert trig_input["namespace"] == "default"


# ------------------------------------------------------------------ explicit refusals (pyiii addition)


async def test_denied_registrations_get_a_typed_refusal(rig: Rig) -> None:
    w = await RawWorker.connect(rig.url(rig.auth_port), headers={"x-token": "noreg"})
    try:
        await w.register("api::nope")
        r = await w.expect("triggerregistrationresult", id="api::nope")
        assert r["trigger_type"] == "registerfunction" and r["error"]["code"] == "FORBIDDEN"
        await w.send({"type": "registertriggertype", "id": "tt::x", "description": ""})
        r = await w.expect("triggerregistrationresult", id="tt::x")
        assert r["trigger_type"] == "registertriggertype" and r["error"]["code"] == "FORBIDDEN"
        await w.send({"type": "registertrigger", "id": "b1", "trigger_type": "engine::workers-available",
                      "function_id": "api::echo", "config": {}})
        r = await w.expect("triggerregistrationresult", id="b1")
        assert r["error"]["code"] == "FORBIDDEN" and "allowed_trigger_types" in r["error"]["message"]
    finally:
        await w.close()
    v = await RawWorker.connect(rig.url(rig.auth_port), headers={"x-token": "valid"})
    try:
        await v.register("deny::raw")
        r = await v.expect("triggerregistrationresult", id="deny::raw")
        assert r["error"]["code"] == "FORBIDDEN" and "hook" in r["error"]["message"]
    finally:
        await v.close()
    assert "api::nope" not in rig.functions() and "deny::raw" not in rig.functions()


# ------------------------------------------------------------------ Node SDK


NODE_CLIENT = r"""
const { registerWorker } = require('iii-sdk');
const url = process.argv[2];
const w = registerWorker(url, { headers: { 'x-token': 'valid' }, workerName: 'node-rbac',
                                enableMetricsReporting: false, otel: { enabled: false } });
(async () => {
  const out = {};
  out.ok = await w.trigger({ function_id: 'api::echo', payload: { from: 'node' } });
  try { await w.trigger({ function_id: 'internal::x', payload: {} }); out.denied = null; }
  catch (e) { out.denied = { code: e.code, message: e.message }; }
  console.log(JSON.stringify(out));
  await w.shutdown();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_node_sdk_session(rig: Rig, tmp_path: Any) -> None:
    import subprocess

    modules = node_sdk_dir() / "node_modules"
    script = tmp_path / "client.cjs"
    script.write_text(NODE_CLIENT)
    env = {"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin:/usr/local/bin", "OTEL_ENABLED": "false"}
    proc = subprocess.run(["node", str(script), rig.url(rig.auth_port)], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ok"]["echo"]["from"] == "node"
    assert out["denied"]["code"] == "FORBIDDEN"
    assert "add to rbac.expose_functions" in out["denied"]["message"]
