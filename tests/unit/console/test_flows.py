"""The Flows graph from registration metadata (spec/steps-and-console.md §b5)."""

from __future__ import annotations

from typing import Any

from pyiii.console import flows


def step(name: str, path: str, flows_: list[str], triggers: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {"function_id": f"steps::{name}", "worker_name": "steps",
            "metadata": {"name": name, "filePath": path, "flows": flows_, "triggers": triggers, **meta}}


def test_python_steps_become_nodes_and_topics_become_edges() -> None:
    fns = [
        step("Create", "steps/create_step.py", ["orders"], [{"type": "http", "method": "POST", "path": "/o"}],
             enqueues=[{"topic": "order.created"}]),
        step("Process", "steps/process_step.py", ["orders"], [{"type": "queue", "topic": "order.created"}]),
        {"function_id": "fraud::check", "worker_name": "node"},  # no filePath: not a step
    ]
    graph = flows.build(fns, [])["flows"]
    assert [f["id"] for f in graph] == ["orders"]
    nodes = {n["id"]: n for n in graph[0]["nodes"]}
    assert nodes["steps-create-step"]["type"] == "http" and nodes["steps-create-step"]["language"] == "python"
    assert nodes["steps-process-step"]["type"] == "queue"
    assert graph[0]["edges"] == [{"from": "steps-create-step", "to": "steps-process-step",
                                  "topic": "order.created", "virtual": False}]


def test_edges_cross_flows_and_dangling_topics_get_a_node() -> None:
    fns = [
        step("A", "a.ts", ["one"], [], emits=["t1", "nobody"], virtualEmits=["t2"]),
        step("B", "b.py", ["two"], [{"type": "durable:subscriber", "topic": "t1"}], virtual_subscribes=["t2"]),
    ]
    one = next(f for f in flows.build(fns, [])["flows"] if f["id"] == "one")
    nodes = {n["id"]: n for n in one["nodes"]}
    assert nodes["b"]["ghost"] is True  # B lives in flow "two" but is linked, so it is shown
    assert nodes["topic:nobody"]["type"] == "topic"
    assert {(e["to"], e["topic"], e["virtual"]) for e in one["edges"]} == {
        ("b", "t1", False), ("topic:nobody", "nobody", False), ("b", "t2", True)}


def test_triggers_come_from_registered_triggers_when_metadata_lacks_them() -> None:
    fns = [step("Api", "api_step.py", ["f"], [])]
    config = {"api_path": "x/:id", "http_method": "GET"}
    bindings = [{"function_id": "steps::Api", "trigger_type": "http", "config": config}]
    node = flows.build(fns, bindings)["flows"][0]["nodes"][0]
    assert node["triggers"] == [{"type": "http", "path": "/x/:id", "method": "GET"}]
    assert node["type"] == "http"
