"""One trace across official Python -> official Node -> pyiii.sdk workers, with logs linked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.observability.support import (
    call_until,
    node_worker,
    obs_engine,
    python_worker,
    result,
    stop,
)
from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker, wait_function


@pytest.fixture(scope="module")
def chain_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = obs_engine(tmp_path_factory.mktemp("chain")).start()
    workers = []
    try:
        workers.append(python_worker("pyiii_sdk_worker.py", proc.url))
        workers.append(node_worker("node_official_worker.mjs", proc.url))
        workers.append(python_worker("py_official_worker.py", proc.url))
        yield proc
    finally:
        for w in workers:
            stop(w)
        proc.stop()


def walk(node: dict[str, Any], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    out = [(depth, node)]
    for child in node["children"]:
        out.extend(walk(child, depth + 1))
    return out


def attrs(span: dict[str, Any]) -> dict[str, str]:
    return dict(span["attributes"])


async def test_python_node_pyiii_chain_is_one_trace(chain_engine: EngineProcess) -> None:
    client = await RawWorker.connect(chain_engine.url)
    try:
        for fid in ("py::entry", "node::middle", "pyiii::leaf"):
            await wait_function(client, fid)
        caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        frame = await client.call("py::entry", {"order": 7}, traceparent=f"00-{caller_trace}-00f067aa0ba902b7-01",
                                  baggage="tenant=acme")
        assert frame["result"] == {"py": True, "next": {"node": True, "next": {"leaf": True}}}

        names = {"execute py::entry", "execute node::middle", "execute pyiii::leaf"}
        tree = await call_until(
            client, "engine::traces::tree", {"trace_id": caller_trace},
            lambda t: names <= {s["name"] for r in t["roots"] for _, s in walk(r)})
        # The caller's span is not stored: the Python span is the root, the chain nests under it.
        assert len(tree["roots"]) == 1
        chain = [(depth, s["name"]) for depth, s in walk(tree["roots"][0])]
        assert chain == [(0, "execute py::entry"), (1, "execute node::middle"), (2, "execute pyiii::leaf")]
        spans = {s["name"]: s for _, s in walk(tree["roots"][0])}
        assert spans["execute py::entry"]["parent_span_id"] == "00f067aa0ba902b7"
        assert spans["execute py::entry"]["service_name"] == "py-official"
        assert spans["execute node::middle"]["service_name"] == "node-official"
        assert spans["execute pyiii::leaf"]["service_name"] == "pyiii-sdk"
        for name, span in spans.items():
            fields = attrs(span)
            assert fields["iii.function.id"] == name.split(" ", 1)[1]
            assert fields["iii.trigger.type"] == "call"
            assert fields["iii.worker.name"] in ("py-official", "node-official", "pyiii-sdk")
            assert span["status"] in ("ok", "unset") and span["end_time_unix_nano"] > span["start_time_unix_nano"]
        # Baggage travelled with the trace (the Python SDK copies it onto its spans).
        assert attrs(spans["execute py::entry"]).get("tenant") == "acme"

        listed = await result(client, "engine::traces::list", {"trace_id": caller_trace})
        assert [s["name"] for s in listed["spans"]] == ["execute py::entry"]
        assert listed["spans"][0]["tags"]["span_count"] == 3

        by_fn = await result(client, "engine::traces::list", {"function_id": "pyiii::leaf", "search_all_spans": True})
        assert caller_trace in {s["trace_id"] for s in by_fn["spans"]}

        # Logs of all three runtimes carry the trace id (and the span id of their execute span).
        logs = await call_until(
            client, "engine::logs::list", {"trace_id": caller_trace},
            lambda r: {"py entry", "node middle", "pyiii leaf"} <= {lg["body"] for lg in r["logs"]})
        by_body = {lg["body"]: lg for lg in logs["logs"]}
        assert by_body["pyiii leaf"]["span_id"] == spans["execute pyiii::leaf"]["span_id"]
        assert by_body["pyiii leaf"]["attributes"]["step"] == "pyiii"
        assert by_body["node middle"]["span_id"] == spans["execute node::middle"]["span_id"]
        assert by_body["py entry"]["span_id"] == spans["execute py::entry"]["span_id"]

        metrics = await result(client, "engine::metrics::list", {})
        by_function = metrics["engine_metrics"]["invocations"]["by_function"]
        assert by_function["py::entry"]["total"] >= 1 and by_function["pyiii::leaf"]["success"] >= 1
    finally:
        await client.close()
