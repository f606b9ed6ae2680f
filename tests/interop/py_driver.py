"""A Python process hosting official ``iii-sdk`` clients, driven by tests over stdin/stdout.

Run with the interpreter of the SDK version under test (``tests/support/official_sdks.py``); it
imports only ``iii`` (any version from 0.22.1 to 0.25.0) and the standard library, never pyiii or
the tests. The vocabulary is ``node/driver.mjs``'s, so one test drives either:

stdin:  one JSON command per line  {"rid": 1, "op": "connect", "w": "p1", ...}
stdout: one JSON line per answer   {"rid": 1, "ok": true, "result": ...}
                                   {"rid": 1, "ok": false, "error": {"code": "...", "message": "..."}}
        and unsolicited events     {"event": "invoked", "w": "p1", ...}

Handler kinds for register_function:
  echo    -> {runtime: "py-<version>", data, metadata, namespace, worker}  (the worker's namespace
             as connected, null if none, and its driver handle: which copy of an id answered)
  hang    -> emits "invoked", never answers
  record  -> emits "invoked" with data and metadata, returns null
  fail    -> raises RuntimeError("python handler failed")
  sleep   -> sleeps data.ms milliseconds, returns {slept: ms}
  call    -> returns trigger({function_id: data.target, payload: data.payload})
  read_channel -> data.reader is a ChannelReader: {text: <everything read>, messages: [...]}
  http    -> an HTTP response {status_code: 200, body: {runtime, method, body, worker}} (of the request)
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import logging
import os
import sys
import threading
import time
import warnings
from typing import Any

import iii

VERSION = importlib.metadata.version("iii-sdk")
RUNTIME = f"py-{VERSION}"

# The SDK logs on stderr (the driver log); deprecation warnings of 0.25 are expected there too.
logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
warnings.simplefilter("default")

_out = threading.Lock()
workers: dict[str, Any] = {}
namespaces: dict[str, str | None] = {}
triggers: dict[int, Any] = {}
observers: dict[str, Any] = {}
#: Observers handed to an owner's ``on_observer_added`` (``hooks``), by observer id.
owned: dict[str, Any] = {}
next_handle = 1


def emit(obj: dict[str, Any]) -> None:
    line = json.dumps(obj, default=repr)
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def error_body(err: BaseException) -> dict[str, str]:
    code = getattr(err, "code", None) or type(err).__name__
    return {"code": str(code), "message": str(getattr(err, "message", None) or err)}


def worker(cmd: dict[str, Any]) -> Any:
    w = workers.get(cmd["w"])
    if w is None:
        raise KeyError(f"no worker named {cmd['w']}")
    return w


def reconnection() -> Any:
    from iii_helpers.observability import ReconnectionConfig

    # Quick retries: tests restart engines and must not wait out the default backoff.
    return ReconnectionConfig(initial_delay_ms=100, max_delay_ms=500, jitter_factor=0.1)


def action_of(spec: Any) -> Any:
    if spec is None:
        return None
    if spec.get("type") == "void":
        return iii.TriggerAction.Void()
    if spec.get("type") == "enqueue":
        return iii.TriggerAction.Enqueue(queue=spec["queue"])
    raise ValueError(f"unknown action {spec!r}")


def handler(cmd: dict[str, Any]) -> Any:
    name, fid, kind = cmd["w"], cmd["id"], cmd.get("kind", "echo")
    w = worker(cmd)

    if kind == "echo":
        async def run(data: Any, metadata: Any = None) -> Any:
            return {"runtime": RUNTIME, "data": data, "metadata": metadata, "namespace": namespaces.get(name),
                    "worker": name}
    elif kind == "hang":
        async def run(data: Any, metadata: Any = None) -> Any:
            emit({"event": "invoked", "w": name, "function_id": fid, "data": data})
            await asyncio.Event().wait()
    elif kind == "record":
        async def run(data: Any, metadata: Any = None) -> Any:
            emit({"event": "invoked", "w": name, "function_id": fid, "data": data, "metadata": metadata})
            return None
    elif kind == "fail":
        async def run(data: Any, metadata: Any = None) -> Any:
            raise RuntimeError("python handler failed")
    elif kind == "sleep":
        async def run(data: Any, metadata: Any = None) -> Any:
            await asyncio.sleep(data["ms"] / 1000)
            return {"slept": data["ms"]}
    elif kind == "call":
        async def run(data: Any, metadata: Any = None) -> Any:
            return await w.trigger_async({"function_id": data["target"], "payload": data.get("payload")})
    elif kind == "read_channel":
        async def run(data: Any, metadata: Any = None) -> Any:
            messages: list[Any] = []
            data["reader"].on_message(messages.append)
            text = (await data["reader"].read_all()).decode()
            return {"text": text, "messages": messages}
    elif kind == "http":
        async def run(data: Any, metadata: Any = None) -> Any:
            # Only plain fields: the request also carries channel readers (its streamed body).
            body = {"runtime": RUNTIME, "method": data.get("method"), "body": data.get("body"), "worker": name}
            return {"status_code": 200, "body": body}
    else:
        raise ValueError(f"unknown handler kind {kind}")
    return run


def connect(cmd: dict[str, Any]) -> Any:
    fields: dict[str, Any] = {
        "worker_name": cmd["name"],
        "enable_metrics_reporting": False,
        "otel": {"enabled": False},
        "reconnection_config": reconnection(),
        "invocation_timeout_ms": cmd.get("invocationTimeoutMs", 30000),
    }
    if cmd.get("headers"):
        fields["headers"] = cmd["headers"]
    if cmd.get("namespace") is not None:
        fields["namespace"] = cmd["namespace"]  # a TypeError before 0.23: the test asked for too much
    client = iii.register_worker(cmd["url"], iii.InitOptions(**fields))
    # register_worker returns once the socket is open; the id comes with workerregistered.
    deadline = time.monotonic() + 10
    while client.worker_id is None and time.monotonic() < deadline:
        time.sleep(0.005)
    workers[cmd["w"]] = client
    namespaces[cmd["w"]] = cmd.get("namespace")
    return {"worker_id": client.worker_id, "version": VERSION}


def connection(cmd: dict[str, Any]) -> Any:
    w = worker(cmd)
    return {"worker_id": w.worker_id, "state": w.get_connection_state()}


def register_function(cmd: dict[str, Any]) -> Any:
    options = {k: cmd[k] for k in ("description", "metadata", "observe") if cmd.get(k) is not None}
    if cmd.get("hooks") is not None:
        options["observe"] = observe_hooks(cmd)
    worker(cmd).register_function(cmd["id"], handler(cmd), **options)
    return None


def observe_hooks(cmd: dict[str, Any]) -> Any:
    """``hooks``: an ``ObserveHooks`` (0.25) built from ``{delivery, args_format,
    legacy_trigger_type}`` whose ``on_observer_added`` emits ``observer_added`` (id, args, legacy),
    keeps the observer for ``obs_emit`` / ``obs_call``, and rejects with
    ``ObserveRejection(args.reject, ...)`` when the observer's args carry ``reject``."""
    name, fid, spec = cmd["w"], cmd["id"], dict(cmd["hooks"])

    def added(obs: Any) -> None:
        emit({"event": "observer_added", "w": name, "function_id": fid, "id": obs.id, "args": obs.args,
              "legacy": obs.legacy})
        if isinstance(obs.args, dict) and obs.args.get("reject"):
            raise iii.ObserveRejection(obs.args["reject"], "rejected by the test hook")
        owned[obs.id] = obs

    return iii.ObserveHooks(on_observer_added=added, **spec)


def obs_emit(cmd: dict[str, Any]) -> Any:
    return owned[cmd["id"]].emit(cmd.get("event"))


def obs_call(cmd: dict[str, Any]) -> Any:
    return owned[cmd["id"]].call(cmd.get("payload"))


def trigger(cmd: dict[str, Any]) -> Any:
    request: dict[str, Any] = {"function_id": cmd["function_id"], "payload": cmd.get("payload")}
    if cmd.get("action") is not None:
        request["action"] = action_of(cmd["action"])
    if cmd.get("metadata") is not None:
        request["metadata"] = cmd["metadata"]
    if cmd.get("timeoutMs") is not None:
        request["timeout_ms"] = cmd["timeoutMs"]
    if cmd.get("namespace") is not None:
        request["namespace"] = cmd["namespace"]
    if cmd.get("dispatch") is not None:  # 0.25: "remote" skips local dispatch
        request["dispatch"] = cmd["dispatch"]
    result = worker(cmd).trigger(request)
    if hasattr(result, "model_dump"):
        result = result.model_dump(by_alias=True)  # EnqueueResult
    return result


def channel_send(cmd: dict[str, Any]) -> Any:
    """Create a channel, write ``text`` (bytes) and ``message`` (a text message) and close it,
    then call ``function_id`` with ``{"reader": <the reader ref>}``; answers that call's result."""
    from iii.helpers import create_channel

    w = worker(cmd)
    channel = create_channel(w, None)

    async def write() -> None:
        await channel.writer.write(cmd["text"].encode())
        if cmd.get("message") is not None:
            await channel.writer.send_message_async(cmd["message"])
        await channel.writer.close_async()

    asyncio.run(write())
    return w.trigger({"function_id": cmd["function_id"], "payload": {"reader": channel.reader_ref.model_dump()}})


def register_trigger_type(cmd: dict[str, Any]) -> Any:
    from iii.triggers import TriggerHandler

    name = cmd["w"]

    def plain(config: Any) -> Any:
        return config.model_dump(mode="json") if hasattr(config, "model_dump") else config

    class Provider(TriggerHandler[Any]):
        async def register_trigger(self, config: Any) -> None:
            emit({"event": "register_trigger", "w": name, "trigger": plain(config)})

        async def unregister_trigger(self, config: Any) -> None:
            emit({"event": "unregister_trigger", "w": name, "trigger": plain(config)})

    worker(cmd).register_trigger_type({"id": cmd["id"], "description": cmd.get("description", "")}, Provider())
    return None


def unregister_trigger_type(cmd: dict[str, Any]) -> Any:
    spec: dict[str, Any] = {"id": cmd["id"], "description": cmd.get("description", "")}
    if cmd.get("namespace") is not None:
        spec["namespace"] = cmd["namespace"]
    worker(cmd).unregister_trigger_type(spec)
    return None


def register_trigger(cmd: dict[str, Any]) -> Any:
    global next_handle
    spec: dict[str, Any] = {"type": cmd["type"], "function_id": cmd["function_id"], "config": cmd.get("config") or {}}
    for key in ("metadata", "namespace", "trigger_namespace"):
        if cmd.get(key) is not None:
            spec[key] = cmd[key]
    handle, next_handle = next_handle, next_handle + 1
    triggers[handle] = worker(cmd).register_trigger(spec)
    return {"handle": handle}


def unregister_trigger(cmd: dict[str, Any]) -> Any:
    triggers.pop(cmd["handle"]).unregister()
    return None


def observe(cmd: dict[str, Any]) -> Any:
    handle = worker(cmd).observe(cmd["source"], cmd["target"], cmd.get("options"))
    observers[cmd["handle"]] = handle
    return {"state": handle.state}


def observer_ready(cmd: dict[str, Any]) -> Any:
    """Wait for the handle to settle; answers its state and reason either way (never raises)."""
    handle = observers[cmd["handle"]]
    try:
        handle.ready(timeout=cmd.get("wait", 5))
    except Exception:  # ObserveRejection or a timeout: the state and reason say which
        pass
    return {"state": handle.state, "reason": handle.reason}


def dispose_observer(cmd: dict[str, Any]) -> Any:
    observers.pop(cmd["handle"]).dispose()
    return None


def shutdown(cmd: dict[str, Any]) -> Any:
    w = workers.pop(cmd["w"])
    w.shutdown()
    return None


def exit_driver(cmd: dict[str, Any]) -> Any:
    for w in list(workers.values()):
        try:
            w.shutdown()
        except Exception:
            pass
    workers.clear()
    return None


OPS = {
    "connect": connect,
    "worker_id": connection,
    "connection": connection,
    "register_function": register_function,
    "trigger": trigger,
    "channel_send": channel_send,
    "register_trigger_type": register_trigger_type,
    "unregister_trigger_type": unregister_trigger_type,
    "register_trigger": register_trigger,
    "unregister_trigger": unregister_trigger,
    "observe": observe,
    "observer_ready": observer_ready,
    "dispose_observer": dispose_observer,
    "obs_emit": obs_emit,
    "obs_call": obs_call,
    "shutdown": shutdown,
    "exit": exit_driver,
}


def serve(cmd: dict[str, Any]) -> None:
    try:
        op = OPS.get(cmd.get("op", ""))
        if op is None:
            raise ValueError(f"unknown op {cmd.get('op')}")
        emit({"rid": cmd["rid"], "ok": True, "result": op(cmd)})
    except BaseException as err:  # every failure is an answer; the driver goes on
        emit({"rid": cmd["rid"], "ok": False, "error": error_body(err)})


def main() -> None:
    emit({"event": "ready", "version": VERSION})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "exit":
            serve(cmd)
            break
        # Blocking SDK calls (trigger waits for its answer) each get a thread, as Node's promises do.
        threading.Thread(target=serve, args=(cmd,), daemon=True).start()
    exit_driver({})
    os._exit(0)  # SDK threads may still be winding down; the tests are done with this process


if __name__ == "__main__":
    main()
