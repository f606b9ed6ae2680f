"""The console's JSON API (``/api/*``): thin adapters from HTTP to engine functions.

Every handler answers ``{"error": {code, message}}`` with status 502 when the engine call fails,
so the UI shows the engine's own error text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pyiii.console import flows
from pyiii.console.caller import Caller, CallFailed
from pyiii.console.namespaces import (
    DEFAULT_MAX_NAMESPACE_CHARS,
    InputError,
    namespace_of,
    namespaces_in,
    only_namespace,
    parse_namespace,
    split_queue_namespace,
)
from pyiii.console.state_keys import KeyFinder

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Function namespaces the UI hides unless "show system" is on.
SYSTEM_PREFIXES = ("engine::", "state::", "stream::", "iii::", "publish", "enqueue")
#: Observers (iii 0.25) are listed by this function when the engine has it.
OBSERVERS_LIST = "engine::observers::list"
NOT_FOUND_CODES = ("function_not_found", "FUNCTION_NOT_FOUND")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(data: Any) -> str:
    import orjson

    return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def _page(items: list[Any], body: dict[str, Any]) -> dict[str, Any]:
    offset = max(int(body.get("offset", 0)), 0)
    limit = min(max(int(body.get("limit", 100)), 1), 1000)
    return {"items": items[offset:offset + limit], "total": len(items), "offset": offset, "limit": limit}


class ConsoleApi:
    def __init__(self, caller: Caller, settings: dict[str, Any],
                 max_namespace_chars: int = DEFAULT_MAX_NAMESPACE_CHARS) -> None:
        self.caller = caller
        self.settings = settings
        self.keys = KeyFinder(caller)
        self.max_namespace_chars = max_namespace_chars

    async def call(self, function_id: str, payload: Any = None, timeout: float = 30.0,
                   namespace: str | None = None) -> Any:
        payload = {} if payload is None else payload
        if namespace is None:  # callers that predate namespaces keep their exact call
            return await self.caller.call(function_id, payload, timeout)
        return await self.caller.call(function_id, payload, timeout, namespace=namespace)

    def _namespace(self, body: dict[str, Any]) -> str | None:
        """The request's ``namespace`` (a filter, or where a function runs), checked and bounded."""
        return parse_namespace(body.get("namespace"), self.max_namespace_chars)

    def routes(self) -> list[web.RouteDef]:
        get, post = web.get, web.post
        table: list[tuple[Callable[..., web.RouteDef], str, Callable[[dict[str, Any]], Awaitable[Any]]]] = [
            (get, "config", self.config), (get, "status", self.status), (get, "overview", self.overview),
            (get, "flows", self.flows),
            (get, "functions", self.functions), (post, "function", self.function_info),
            (get, "triggers", self.triggers), (get, "trigger-types", self.trigger_types),
            (get, "workers", self.workers), (post, "invoke", self.invoke), (post, "cron/run", self.cron_run),
            (post, "publish", self.publish), (post, "logs", self.logs), (post, "traces", self.traces),
            (post, "traces/tree", self.trace_tree), (get, "state/groups", self.state_groups),
            (post, "state/items", self.state_items), (post, "state/get", self.state_get),
            (post, "state/set", self.state_set), (post, "state/delete", self.state_delete),
            (get, "streams", self.streams), (post, "streams/items", self.stream_items),
            (get, "queues", self.queues), (post, "dlq/messages", self.dlq_messages),
            (post, "dlq/redrive", self.dlq_redrive), (post, "dlq/discard", self.dlq_discard),
            (get, "observers", self.observers),
        ]
        return [method(f"/api/{path}", self._wrap(fn)) for method, path, fn in table]

    def _wrap(self, fn: Callable[[dict[str, Any]], Awaitable[Any]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            body = dict(request.query) if request.method == "GET" else await _body(request)
            try:
                return _json(await fn(body))
            except InputError as exc:
                return _json({"error": {"code": exc.code, "message": exc.message}}, 400)
            except CallFailed as exc:
                return _json({"error": {"code": exc.code, "message": exc.message}}, 502)
        return handler

    # ---------------------------------------------------------------- overview

    async def config(self, _: dict[str, Any]) -> Any:
        return self.settings

    async def status(self, _: dict[str, Any]) -> Any:
        workers = await self.call("engine::workers::list")
        functions = await self.call("engine::functions::list")
        try:
            health = await self.call("engine::health::check")
        except CallFailed as exc:
            health = {"status": "unknown", "error": exc.message}
        return {"workers": len(workers.get("workers", [])), "functions": len(functions.get("functions", [])),
                "health": health}

    async def _try(self, function_id: str, payload: Any = None) -> Any:
        """The result, or None when the function is missing or fails (a worker not loaded)."""
        try:
            return await self.call(function_id, payload)
        except CallFailed:
            return None

    async def overview(self, _: dict[str, Any]) -> Any:
        """The first page: throughput, error rate, p50/p99 per function, DLQ depth, workers and
        recent failures, from iii-observability, iii-queue and the engine's own functions."""
        metrics, rollups, dlq, workers, fns, failed_traces, error_logs = await asyncio.gather(
            self._try("engine::metrics::list"), self._try("engine::rollups::list", {"level": 0}),
            self._try("engine::queue::dlq_topics"), self._try("engine::workers::list"),
            self._try("engine::functions::list", {"include_internal": True}),
            self._try("engine::traces::list", {"status": "error", "limit": 10, "sort_order": "desc"}),
            self._try("engine::logs::list", {"severity_min": 17, "limit": 10}))
        invocations = (metrics or {}).get("engine_metrics", {}).get("invocations", {})
        owners = {f["function_id"]: f.get("worker_name") for f in (fns or {}).get("functions", [])}
        by_fn = [{"function_id": fid, "worker": owners.get(fid), "calls": c.get("total", 0),
                  "errors": c.get("error", 0), "p50_ms": c.get("p50_duration_ms"),
                  "p99_ms": c.get("p99_duration_ms"), "avg_ms": c.get("avg_duration_ms")}
                 for fid, c in invocations.get("by_function", {}).items()
                 if fid in owners and not fid.startswith(SYSTEM_PREFIXES)]
        by_fn.sort(key=lambda r: (-r["calls"], r["function_id"]))
        minutes = (rollups or {}).get("rollups", [])[-30:]
        recent = minutes[-5:]
        recent_calls = sum(int(m.get("count", 0)) for m in recent)
        recent_errors = sum(int(m.get("error_count", 0)) for m in recent)
        # The app's own functions: engine functions (the console's polling among them) are left out.
        total, errors = sum(int(f["calls"]) for f in by_fn), sum(int(f["errors"]) for f in by_fn)
        slowest = max(by_fn, key=lambda f: f["p99_ms"] or 0.0, default=None)
        dlq_topics = dlq if isinstance(dlq, list) else []
        return {
            "invocations": {"total": total, "errors": errors, "error_rate": errors / total if total else 0.0,
                            "all_total": int(invocations.get("total", 0)),
                            "all_errors": int(invocations.get("error", 0))},
            "slowest": slowest,
            # every invocation, engine functions included (what the engine's rollups count)
            "last_5m": {"calls": recent_calls, "errors": recent_errors,
                        "per_minute": recent_calls / max(1, len(recent)) if recent else 0.0,
                        "error_rate": recent_errors / recent_calls if recent_calls else 0.0},
            "throughput": [{"start_time": m.get("start_time"), "count": m.get("count", 0),
                            "errors": m.get("error_count", 0)} for m in minutes],
            "performance": (metrics or {}).get("engine_metrics", {}).get("performance", {}),
            "functions": by_fn,
            "dlq": {"total": sum(int(d.get("message_count", 0)) for d in dlq_topics), "topics": dlq_topics,
                    "available": dlq is not None},
            "workers": [{k: w.get(k) for k in ("id", "name", "namespace", "runtime", "function_count",
                                                "active_invocations", "connected_at_ms", "status")}
                        for w in (workers or {}).get("workers", [])],
            "failures": {"traces": (failed_traces or {}).get("spans", []), "logs": (error_logs or {}).get("logs", []),
                         "traces_available": failed_traces is not None},
            "observability": metrics is not None,
        }

    async def _metrics(self) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await self.call("engine::metrics::list")
            return result
        except CallFailed:  # observability not loaded: counts just stay empty
            return {}

    async def flows(self, _: dict[str, Any]) -> Any:
        fns = await self.call("engine::functions::list", {"include_internal": True})
        bindings = await self.call("engine::registered-triggers::list", {"include_internal": True})
        return flows.build(fns.get("functions", []), bindings.get("registered_triggers", []))

    # ---------------------------------------------------------------- registry views

    async def functions(self, q: dict[str, Any]) -> Any:
        """Every function (``namespace``: one namespace's only), each with its ``namespace``;
        ``namespaces``: every namespace that has a function, for the filter."""
        internal = q.get("internal") in ("1", "true")
        wanted = self._namespace(q)
        fns = (await self.call("engine::functions::list", {"include_internal": internal})).get("functions", [])
        by_fn = (await self._metrics()).get("engine_metrics", {}).get("invocations", {}).get("by_function", {})
        rows = []
        for fn in fns:
            fid = fn["function_id"]
            if not internal and fid.startswith(SYSTEM_PREFIXES):
                continue
            stats = by_fn.get(fid, {})  # the engine's metrics are per id, every namespace together
            rows.append({**fn, "namespace": namespace_of(fn), "metadata": None,
                         "has_metadata": bool(fn.get("metadata")),
                         "invocations": stats.get("total", 0), "errors": stats.get("error", 0),
                         "avg_ms": stats.get("avg_duration_ms")})
        return {"functions": only_namespace(rows, wanted), "namespaces": namespaces_in(rows)}

    async def function_info(self, body: dict[str, Any]) -> Any:
        function_id = body.get("function_id")
        if not isinstance(function_id, str) or not function_id:
            raise InputError("INVALID_ARGUMENTS", "`function_id` must be a non-empty string")
        query: dict[str, Any] = {"function_id": function_id}
        namespace = self._namespace(body)
        if namespace is not None:  # strict: the copy in that namespace (spec §1.7)
            query["namespace"] = namespace
        return await self.call("engine::functions::info", query)

    async def triggers(self, q: dict[str, Any]) -> Any:
        internal = q.get("internal") in ("1", "true")
        wanted = self._namespace(q)
        result = await self.call("engine::registered-triggers::list", {"include_internal": internal})
        every = result.get("registered_triggers", [])
        result["namespaces"] = namespaces_in([*every, *await self._function_rows()])
        rows = result["registered_triggers"] = only_namespace(every, wanted)
        if any(t.get("trigger_type") == "cron" for t in rows):
            jobs = {j["job_id"]: j for j in (await self._try("engine::cron::list_jobs") or {}).get("jobs", [])}
            for t in rows:
                job = jobs.get(t.get("id"))
                if t.get("trigger_type") == "cron" and job is not None:
                    t["cron"] = {k: job.get(k) for k in ("next_run", "last_run", "fired", "timezone")}
        return result

    async def trigger_types(self, _: dict[str, Any]) -> Any:
        return await self.call("engine::triggers::list", {"include_internal": True})

    async def workers(self, q: dict[str, Any]) -> Any:
        wanted = self._namespace(q)
        every = (await self.call("engine::workers::list")).get("workers", [])
        workers = only_namespace(every, wanted)
        fns = (await self.call("engine::functions::list", {"include_internal": True})).get("functions", [])
        by_fn = (await self._metrics()).get("engine_metrics", {}).get("invocations", {}).get("by_function", {})
        totals: dict[tuple[str, str], list[int]] = {}
        for fn in fns:  # per-worker counts: the sum over its functions (a name is unique per namespace)
            stats = by_fn.get(fn["function_id"], {})
            acc = totals.setdefault((namespace_of(fn), str(fn.get("worker_name"))), [0, 0])
            acc[0] += int(stats.get("total", 0))
            acc[1] += int(stats.get("error", 0))
        for worker in workers:
            worker["namespace"] = namespace_of(worker)
            key = (worker["namespace"], str(worker.get("name")))
            worker["invocations"], worker["errors"] = totals.get(key, [0, 0])
            if worker.get("pid") is None:
                try:
                    info = await self.call("engine::workers::info",
                                           {"name": worker["name"], "namespace": worker["namespace"]})
                    worker["pid"] = info.get("worker", {}).get("pid")
                except CallFailed:
                    pass
        return {"workers": workers, "namespaces": namespaces_in(every)}

    async def observers(self, q: dict[str, Any]) -> Any:
        """``engine::observers::list`` (iii 0.25 observers); ``available: false`` on an engine
        that does not have it, so the UI can say why the list is empty."""
        wanted = self._namespace(q)
        try:
            result = await self.call(OBSERVERS_LIST)
        except CallFailed as exc:
            if exc.code not in NOT_FOUND_CODES:
                raise
            return {"available": False, "observers": [], "namespaces": []}
        every = result if isinstance(result, list) else (result or {}).get("observers", [])
        rows = [row for row in every if isinstance(row, dict)]
        return {"available": True, "observers": only_namespace(rows, wanted),
                "namespaces": namespaces_in([*rows, *await self._function_rows()])}

    async def _function_rows(self) -> list[dict[str, Any]]:
        """Every function row: the namespaces a filter offers where the list itself has none yet
        (a namespace's functions exist before its first trigger or observer)."""
        found = await self._try("engine::functions::list", {"include_internal": True})
        rows: list[dict[str, Any]] = (found or {}).get("functions", [])
        return rows

    # ---------------------------------------------------------------- actions

    async def invoke(self, body: dict[str, Any]) -> Any:
        """Call ``function_id`` in ``namespace`` (absent: ``default``, as every caller's call)."""
        function_id = body.get("function_id")
        if not isinstance(function_id, str) or not function_id:
            raise InputError("INVALID_ARGUMENTS", "`function_id` must be a non-empty string")
        namespace = self._namespace(body)
        started = time.perf_counter()
        try:
            result = await self.call(function_id, body.get("input"), float(body.get("timeout", 30)), namespace)
            return {"ok": True, "result": result, "duration_ms": (time.perf_counter() - started) * 1000}
        except CallFailed as exc:
            return {"ok": False, "error": {"code": exc.code, "message": exc.message},
                    "duration_ms": (time.perf_counter() - started) * 1000}

    async def cron_run(self, body: dict[str, Any]) -> Any:
        bindings = (await self.call("engine::registered-triggers::list", {"include_internal": True}))
        match = [b for b in bindings.get("registered_triggers", []) if b["id"] == body["trigger_id"]]
        if not match:
            return {"ok": False, "error": {"code": "not_found", "message": f"no trigger {body['trigger_id']}"}}
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        payload = {"trigger": "cron", "job_id": match[0]["id"], "scheduled_time": now, "actual_time": now,
                   "manual": True}
        # The job's function runs where the binding fires it: its target namespace.
        return await self.invoke({"function_id": match[0]["function_id"], "input": payload,
                                  "namespace": match[0].get("namespace")})

    async def publish(self, body: dict[str, Any]) -> Any:
        # queue topics are durable (iii::durable::publish); pubsub topics go through `publish`.
        function_id = "publish" if body.get("kind") == "pubsub" else "iii::durable::publish"
        payload = {"topic": body["topic"], "data": body.get("data")}
        return await self.invoke({"function_id": function_id, "input": payload})

    # ---------------------------------------------------------------- observability

    async def logs(self, body: dict[str, Any]) -> Any:
        query = {k: v for k, v in body.items() if v not in (None, "")}
        return await self.call("engine::logs::list", query)

    async def traces(self, body: dict[str, Any]) -> Any:
        query = {k: v for k, v in body.items() if v not in (None, "")}
        return await self.call("engine::traces::list", query)

    async def trace_tree(self, body: dict[str, Any]) -> Any:
        return await self.call("engine::traces::tree", {"trace_id": body["trace_id"]})

    # ---------------------------------------------------------------- state

    async def state_groups(self, _: dict[str, Any]) -> Any:
        groups = (await self.call("state::list_groups")).get("groups", [])
        return {"groups": [g if isinstance(g, str) else g.get("id") for g in groups]}

    async def state_items(self, body: dict[str, Any]) -> Any:
        offset = max(int(body.get("offset", 0)), 0)
        limit = min(max(int(body.get("limit", 100)), 1), 1000)
        query = {"scope": body["scope"], "limit": limit, "cursor": str(offset) if offset else None,
                 "search": body.get("search") or None}
        try:  # every value with its real key (pyiii's state::list_entries)
            entries = await self.call("state::list_entries", query)
            return {"items": entries["entries"], "total": entries["total"], "offset": offset, "limit": limit,
                    "keys": "exact"}
        except CallFailed as exc:
            if exc.code not in ("function_not_found", "FUNCTION_NOT_FOUND"):
                raise
        # An engine without state::list_entries: find keys from the values (see state_keys.py).
        values = await self.call("state::list", {"scope": body["scope"]})
        search = str(body.get("search") or "").lower()
        if search:
            values = [v for v in values if search in _dumps(v).lower()]
        page = _page(list(values), body)
        page["items"] = await self.keys.rows(body["scope"], page["items"])
        return page

    async def state_get(self, body: dict[str, Any]) -> Any:
        value = await self.call("state::get", {"scope": body["scope"], "key": body["key"]})
        if value is not None:
            self.keys.remember(body["scope"], body["key"])
        return {"key": body["key"], "value": value}

    async def state_set(self, body: dict[str, Any]) -> Any:
        result = await self.call("state::set", {"scope": body["scope"], "key": body["key"], "value": body.get("value")})
        self.keys.remember(body["scope"], body["key"])
        return result

    async def state_delete(self, body: dict[str, Any]) -> Any:
        self.keys.forget(body["scope"], body["key"])
        return {"old_value": await self.call("state::delete", {"scope": body["scope"], "key": body["key"]})}

    # ---------------------------------------------------------------- streams

    async def streams(self, _: dict[str, Any]) -> Any:
        result = await self.call("stream::list_all")
        rows = result.get("stream") or result.get("streams") or []
        for row in rows:
            row["type"] = "system" if str(row["id"]).startswith(("iii.", "iii:")) else "user"
        return {"streams": rows}

    async def stream_items(self, body: dict[str, Any]) -> Any:
        items = await self.call("stream::list", {"stream_name": body["stream"], "group_id": body["group"]})
        return _page(list(items), body)

    # ---------------------------------------------------------------- queues

    async def queues(self, _: dict[str, Any]) -> Any:
        topics = await self.call("engine::queue::list_topics")
        for topic in topics:
            try:
                topic["stats"] = await self.call("engine::queue::topic_stats", {"topic": topic["name"]})
            except CallFailed as exc:
                topic["stats"] = {"error": exc.message}
        return {"topics": topics, "dlq": await self.call("engine::queue::dlq_topics")}

    async def dlq_messages(self, body: dict[str, Any]) -> Any:
        payload = {"topic": body["topic"], "offset": int(body.get("offset", 0)), "limit": int(body.get("limit", 50))}
        messages = await self.call("engine::queue::dlq_messages", payload)
        for m in messages:
            # A topic's dead letters come from its subscriber queues, named `<topic>::<function id>`,
            # with `@<namespace>` after it outside default (iii 0.23, spec §1.11).
            queue, in_namespace = split_queue_namespace(str(m.get("queue") or ""))
            if not m.get("namespace") and in_namespace is not None:
                m["namespace"] = in_namespace
            if not m.get("function_id") and queue.startswith(f"{body['topic']}::"):
                m["function_id"] = queue[len(body["topic"]) + 2:]
        return {"messages": messages}

    async def dlq_redrive(self, body: dict[str, Any]) -> Any:
        if body.get("message_id"):
            target = {"queue": body["topic"], "message_id": body["message_id"]}
            return await self.call("iii::queue::redrive_message", target)
        return await self.call("iii::queue::redrive", {"queue": body["topic"]})

    async def dlq_discard(self, body: dict[str, Any]) -> Any:
        target = {"queue": body["topic"], "message_id": body["message_id"]}
        return await self.call("iii::queue::discard_message", target)
