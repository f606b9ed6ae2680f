"""Interop harness: a real engine process, the official SDKs and pyiii.sdk as workers.

* Python workers (official ``iii`` and ``pyiii.sdk``) run in this process: each SDK client owns
  its own event-loop thread, so the tests drive their blocking API through ``asyncio.to_thread``.
* Node workers run in a separate ``node`` process (``node/driver.mjs``) hosting any number of
  official ``iii-sdk`` clients, driven by JSON lines over stdin/stdout.
* Workers that must die by ``kill -9`` run in their own process (``owner.py`` / a dedicated
  Node driver).

The Node SDK is installed by the ``node_sdk`` fixture into ``node/node_modules`` (gitignored)
with ``npm ci`` from the pinned ``node/package-lock.json``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import EngineProcess
from tests.support.node_sdk import node_sdk_dir
from tests.support.waiting import eventually

# Neither SDK may try to reach an OpenTelemetry collector on the default port during tests.
os.environ["OTEL_ENABLED"] = "false"

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
DRIVER = NODE_DIR / "driver.mjs"
OWNER = HERE / "owner.py"


# ----------------------------------------------------------------------------- node install


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    """Install the pinned official Node SDK once (``npm ci``), or skip loudly without node/npm."""
    return node_sdk_dir()


# ----------------------------------------------------------------------------- engines


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine per test module; tests use unique function ids and worker names."""
    proc = EngineProcess(tmp_path_factory.mktemp("engine")).start()
    try:
        yield proc
    finally:
        proc.stop()


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------- node driver


class NodeError(Exception):
    """The Node SDK rejected a call: ``code``/``message`` of its InvocationError; ``kind``: the
    exception's class name where the driver reports it (py_driver.py)."""

    def __init__(self, code: str, message: str, kind: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.kind = kind


class NodeDriver:
    """A ``node driver.mjs`` process. Thread-based, so it can outlive one test's event loop."""

    def __init__(self, log_path: Path, argv: list[str] | None = None, cwd: Path = NODE_DIR) -> None:
        """``argv``: another driver speaking the same lines (``py_driver.py`` under an SDK's python)."""
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            argv or ["node", str(DRIVER)],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, "OTEL_ENABLED": "false"},
        )
        self.version: str | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[Any]] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._events_changed = threading.Condition()
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"node driver did not start:\n{self.stderr()}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "rid" in msg:
                with self._lock:
                    fut = self._pending.pop(msg["rid"], None)
                if fut is None or fut.done():
                    continue
                if msg.get("ok"):
                    fut.set_result(msg.get("result"))
                else:
                    err = msg.get("error") or {}
                    fut.set_exception(NodeError(str(err.get("code")), str(err.get("message")), err.get("type")))
            elif msg.get("event") == "ready":
                self.version = msg.get("version")
                self._ready.set()
            else:
                msg["_at"] = time.monotonic()
                with self._events_changed:
                    self.events.append(msg)
                    self._events_changed.notify_all()
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(NodeError("DRIVER_EXITED", "the node driver process exited"))

    def send(self, op: str, **fields: Any) -> concurrent.futures.Future[Any]:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        cmd_id = next(self._ids)
        with self._lock:
            self._pending[cmd_id] = fut
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps({**fields, "rid": cmd_id, "op": op}) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            with self._lock:
                self._pending.pop(cmd_id, None)
            fut.set_exception(NodeError("DRIVER_EXITED", "the node driver process is gone"))
        return fut

    async def call(self, op: str, timeout: float = 30.0, **fields: Any) -> Any:
        return await asyncio.wait_for(asyncio.wrap_future(self.send(op, **fields)), timeout)

    async def wait_event(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        def wait() -> dict[str, Any]:
            deadline = time.monotonic() + timeout
            with self._events_changed:
                while True:
                    for ev in self.events:
                        if pred(ev):
                            return ev
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"no matching node event within {timeout}s; got {self.events}")
                    self._events_changed.wait(left)

        return await asyncio.to_thread(wait)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("exit").result(5)
            except Exception:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class NodeWorker:
    """One official Node SDK client inside a :class:`NodeDriver`."""

    def __init__(self, driver: NodeDriver, handle: str, name: str) -> None:
        self.driver = driver
        self.handle = handle
        self.name = name
        self.worker_id: str | None = None

    async def connect(self, url: str, **options: Any) -> NodeWorker:
        result = await self.driver.call("connect", w=self.handle, url=url, name=self.name, **options)
        self.worker_id = result["worker_id"]
        return self

    async def register_function(self, function_id: str, kind: str = "echo", **fields: Any) -> None:
        await self.driver.call("register_function", w=self.handle, id=function_id, kind=kind, **fields)

    @property
    def label(self) -> str:
        return "node"

    async def trigger(
        self,
        function_id: str,
        payload: Any = None,
        *,
        action: Any = None,
        metadata: Any = None,
        timeout_ms: int | None = None,
        namespace: str | None = None,
    ) -> Any:
        """``namespace``: the call's namespace (py_driver only: SDK 0.23+)."""
        fields: dict[str, Any] = {}
        if action is not None:
            fields["action"] = action
        if metadata is not None:
            fields["metadata"] = metadata
        if timeout_ms is not None:
            fields["timeoutMs"] = timeout_ms
        if namespace is not None:
            fields["namespace"] = namespace
        return await self.driver.call("trigger", w=self.handle, function_id=function_id, payload=payload, **fields)

    async def register_trigger_type(self, type_id: str, description: str = "") -> None:
        await self.driver.call("register_trigger_type", w=self.handle, id=type_id, description=description)

    async def register_trigger(self, trigger_type: str, function_id: str, config: Any, **fields: Any) -> int:
        result = await self.driver.call(
            "register_trigger", w=self.handle, type=trigger_type, function_id=function_id, config=config, **fields
        )
        return int(result["handle"])

    async def current_worker_id(self) -> str | None:
        result = await self.driver.call("worker_id", w=self.handle)
        return result["worker_id"]

    async def shutdown(self) -> None:
        await self.driver.call("shutdown", w=self.handle, timeout=15)


@pytest.fixture(scope="module")
def node_driver(node_sdk: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeDriver]:
    driver = NodeDriver(tmp_path_factory.mktemp("node") / "driver.log")
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture
async def node_worker(node_driver: NodeDriver) -> AsyncIterator[Callable[..., Awaitable[NodeWorker]]]:
    """Factory: ``await node_worker(url, name=None)`` -> a connected official Node client."""
    made: list[NodeWorker] = []

    async def make(url: str, name: str | None = None, driver: NodeDriver | None = None, **options: Any) -> NodeWorker:
        w = NodeWorker(driver or node_driver, uid("w"), name or uid("node-worker"))
        made.append(w)
        return await w.connect(url, **options)

    yield make
    for w in made:
        if w.driver.proc.poll() is None:
            try:
                await w.shutdown()
            except Exception:
                pass


@pytest.fixture
def node_process(node_sdk: Path, tmp_path: Path) -> Iterator[Callable[[], NodeDriver]]:
    """Factory of dedicated Node driver processes (for tests that kill -9 them)."""
    made: list[NodeDriver] = []

    def make() -> NodeDriver:
        d = NodeDriver(tmp_path / f"node-{len(made)}.log")
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


# ----------------------------------------------------------------------------- python workers


def _sdk(kind: str) -> Any:
    if kind == "official":
        import iii
        import iii.helpers  # create_channel lives there

        return iii
    import pyiii.sdk

    return pyiii.sdk


def _options(kind: str, name: str, **extra: Any) -> Any:
    if kind == "official":
        from iii import InitOptions
        from iii_helpers.observability import ReconnectionConfig
    else:
        from pyiii.sdk import InitOptions, ReconnectionConfig
    return InitOptions(
        worker_name=name,
        enable_metrics_reporting=False,
        otel={"enabled": False},
        reconnection_config=ReconnectionConfig(initial_delay_ms=100, max_delay_ms=500, jitter_factor=0.1),
        **extra,
    )


class PyWorker:
    """An official ``iii`` or ``pyiii.sdk`` client running on its own loop thread."""

    def __init__(self, kind: str, client: Any, name: str) -> None:
        self.kind = kind
        self.sdk = _sdk(kind)
        self.client = client
        self.name = name

    @property
    def worker_id(self) -> str | None:
        return self.client.worker_id  # type: ignore[no-any-return]

    @property
    def invocation_error(self) -> type[Exception]:
        return self.sdk.InvocationError  # type: ignore[no-any-return]

    @property
    def label(self) -> str:
        return self.kind

    async def register_function(
        self, function_id: str, kind: str = "echo", *, path: str | None = None, **options: Any
    ) -> None:
        """Same handler kinds as the Node driver: echo, record, fail."""
        label = self.kind
        if kind == "echo":

            async def handler(data: Any, metadata: Any = None) -> Any:
                return {"runtime": label, "data": data, "metadata": metadata}
        elif kind == "record":

            def append(line: str) -> None:
                assert path is not None
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line)

            async def handler(data: Any, metadata: Any = None) -> Any:
                if path is not None:
                    await asyncio.to_thread(append, json.dumps({"data": data, "metadata": metadata}) + "\n")
                return None
        elif kind == "fail":

            async def handler(data: Any, metadata: Any = None) -> Any:
                raise RuntimeError("python handler failed")
        else:
            raise ValueError(f"unknown handler kind {kind}")
        await asyncio.to_thread(self.client.register_function, function_id, handler, **options)

    async def trigger(
        self,
        function_id: str,
        payload: Any = None,
        *,
        action: Any = None,
        metadata: Any = None,
        timeout_ms: int | None = None,
    ) -> Any:
        request: dict[str, Any] = {"function_id": function_id, "payload": payload}
        if action is not None:
            request["action"] = action
        if metadata is not None:
            request["metadata"] = metadata
        if timeout_ms is not None:
            request["timeout_ms"] = timeout_ms
        return await asyncio.to_thread(self.client.trigger, request)

    async def list(self, function_id: str, payload: Any = None) -> Any:
        return await self.trigger(function_id, payload if payload is not None else {})

    async def shutdown(self) -> None:
        await asyncio.to_thread(self.client.shutdown)


@pytest.fixture
async def py_worker() -> AsyncIterator[Callable[..., Awaitable[PyWorker]]]:
    """Factory: ``await py_worker("official" | "pyiii", url, name=None)`` -> connected client."""
    made: list[PyWorker] = []

    async def make(kind: str, url: str, name: str | None = None, **options: Any) -> PyWorker:
        sdk = _sdk(kind)
        worker_name = name or uid(f"{kind}-worker")
        client = await asyncio.to_thread(sdk.register_worker, url, _options(kind, worker_name, **options))
        w = PyWorker(kind, client, worker_name)
        made.append(w)
        await eventually(lambda: w.worker_id is not None, what=f"{kind} worker id")
        return w

    yield make
    for w in made:
        try:
            await asyncio.wait_for(w.shutdown(), 15)
        except Exception:
            pass


class OwnerProcess:
    """``owner.py``: one Python SDK worker in its own process, owning a function that never
    answers (to be killed with -9 while a call waits)."""

    def __init__(self, kind: str, url: str, function_id: str, log_path: Path) -> None:
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(OWNER), kind, url, function_id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, "OTEL_ENABLED": "false", "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self._changed:
                self.lines.append(msg)
                self._changed.notify_all()

    async def wait_line(self, event: str, timeout: float = 20.0) -> dict[str, Any]:
        def wait() -> dict[str, Any]:
            deadline = time.monotonic() + timeout
            with self._changed:
                while True:
                    for msg in self.lines:
                        if msg.get("event") == event:
                            return msg
                    left = deadline - time.monotonic()
                    if left <= 0 or (self.proc.poll() is not None and not self.lines):
                        raise TimeoutError(f"owner.py: no {event!r} line within {timeout}s (got {self.lines})")
                    self._changed.wait(min(left, 0.5))

        return await asyncio.to_thread(wait)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def owner_process(tmp_path: Path) -> Iterator[Callable[[str, str, str], OwnerProcess]]:
    made: list[OwnerProcess] = []

    def make(kind: str, url: str, function_id: str) -> OwnerProcess:
        o = OwnerProcess(kind, url, function_id, tmp_path / f"owner-{len(made)}.log")
        made.append(o)
        return o

    yield make
    for o in made:
        o.close()


# ----------------------------------------------------------------------------- polling


# ``eventually`` is tests/support/waiting.py's; engine calls made while an engine restarts raise,
# so probes that call the engine pass ``retry_on=ENGINE_ERRORS``.
ENGINE_ERRORS = (Exception,)


# ----------------------------------------------------------------------------- any SDK

SDKS = ("official", "pyiii", "node")


@pytest.fixture
def any_worker(
    py_worker: Callable[..., Awaitable[PyWorker]], node_worker: Callable[..., Awaitable[NodeWorker]]
) -> Callable[..., Awaitable[Any]]:
    """Factory: ``await any_worker("official" | "pyiii" | "node", url, name=None)``."""

    async def make(kind: str, url: str, name: str | None = None, **options: Any) -> Any:
        if kind == "node":
            return await node_worker(url, name, **options)
        return await py_worker(kind, url, name, **options)

    return make


async def function_ids(caller: Any, **filters: Any) -> list[str]:
    listing = await caller.trigger("engine::functions::list", filters)
    return [row["function_id"] for row in listing["functions"]]


async def until_registered(caller: Any, *ids: str, timeout: float = 10.0) -> None:
    """Registrations have no ack: wait until ``engine::functions::list`` shows every id."""

    async def probe() -> bool:
        present = set(await function_ids(caller))
        return all(i in present for i in ids)

    await eventually(probe, timeout, 0.05, what=f"registration of {ids}", retry_on=ENGINE_ERRORS)


# ----------------------------------------------------------------------------- official Python SDK versions

PY_DRIVER = HERE / "py_driver.py"


class DriverWorker(NodeWorker):
    """One official Python client inside a ``py_driver.py`` process (the Node vocabulary, plus
    what only newer SDKs have: connection state, namespaces, observe)."""

    @property
    def label(self) -> str:
        """What its ``echo`` answers as ``runtime``: ``py-<version>`` (``node`` in a Node driver)."""
        return f"py-{self.driver.version}" if self.driver.version else "node"

    async def connection(self) -> dict[str, Any]:
        """``{"worker_id", "state"}``: the SDK's view of its connection."""
        return await self.driver.call("connection", w=self.handle)  # type: ignore[no-any-return]

    async def unregister_trigger(self, handle: int) -> None:
        await self.driver.call("unregister_trigger", handle=handle)

    async def channel_send(self, function_id: str, text: str, message: str | None = None) -> Any:
        """Write ``text`` and ``message`` into a new channel, then call ``function_id`` with its
        reader (Python drivers only)."""
        return await self.driver.call("channel_send", w=self.handle, function_id=function_id, text=text,
                                      message=message)

    async def unregister_trigger_type(self, type_id: str, namespace: str | None = None) -> None:
        await self.driver.call("unregister_trigger_type", w=self.handle, id=type_id, namespace=namespace)

    async def observe(self, source: Any, target: Any, options: Any = None) -> str:
        """Start ``iii.observe`` (0.25+); returns the driver's handle for the observer."""
        handle = uid("obs")
        await self.driver.call("observe", w=self.handle, handle=handle, source=source, target=target, options=options)
        return handle

    async def observer_ready(self, handle: str, timeout: float = 5.0) -> dict[str, Any]:
        """``{"state", "reason"}`` once ``ready()`` settled (or timed out)."""
        result = await self.driver.call("observer_ready", timeout=timeout + 10, handle=handle, wait=timeout)
        return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def official_py(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], NodeDriver]]:
    """Factory: ``official_py("0.25.0")`` -> a ``py_driver.py`` process hosting that ``iii-sdk``
    (installed into ``tests/.cache/sdks`` on first use; one process per version per module)."""
    from tests.support.official_sdks import official_sdk_python

    drivers: dict[str, NodeDriver] = {}

    def get(version: str) -> NodeDriver:
        if version not in drivers:
            python = official_sdk_python(version)
            log = tmp_path_factory.mktemp(f"py-{version}") / "driver.log"
            drivers[version] = NodeDriver(log, [str(python), str(PY_DRIVER)], cwd=HERE)
            assert drivers[version].version == version, drivers[version].stderr()
        return drivers[version]

    yield get
    for driver in drivers.values():
        driver.close()


@pytest.fixture
async def driver_worker() -> AsyncIterator[Callable[..., Awaitable[DriverWorker]]]:
    """Factory: ``await driver_worker(driver, url, name=None, **options)`` -> a connected official
    Python client in that driver (options: ``namespace``, ``headers``, ``invocationTimeoutMs``)."""
    made: list[DriverWorker] = []

    async def make(driver: NodeDriver, url: str, name: str | None = None, **options: Any) -> DriverWorker:
        w = DriverWorker(driver, uid("w"), name or uid("py-worker"))
        made.append(w)
        return await w.connect(url, **options)  # type: ignore[return-value]

    yield make
    for w in made:
        if w.driver.proc.poll() is None:
            try:
                await w.shutdown()
            except Exception:
                pass
