"""Step config parsing: both key spellings, legacy configs, helpers and their validation."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from pyiii.steps import StepConfigError, cron, http, parse_config, queue, state, stream
from pyiii.steps.inputs import StateTriggerInput, StreamTriggerInput, to_http_result
from pyiii.steps.invoke import arity
from pyiii.steps.registration import function_ids, trigger_config


class Body(BaseModel):
    n: int


def test_snake_and_camel_keys_and_emits_alias() -> None:
    camel = parse_config({"name": "A", "triggers": [{"type": "http", "method": "post", "path": "x",
                                                     "bodySchema": Body}],
                          "emits": ["t1"], "virtualEnqueues": ["t2"], "virtualSubscribes": ["t3"],
                          "includeFiles": ["a.txt"], "flows": "f"})
    snake = parse_config({"name": "A", "triggers": [http("POST", "/x", body_schema=Body)], "enqueues": ["t1"],
                          "virtual_enqueues": ["t2"], "virtual_subscribes": ["t3"], "include_files": ["a.txt"],
                          "flows": ["f"]})
    for c in (camel, snake):
        assert c.triggers[0].path == "/x" and c.triggers[0].method == "POST" and c.triggers[0].body_schema is Body
        assert c.enqueues == [{"topic": "t1"}] and c.virtual_enqueues == [{"topic": "t2"}]
        assert c.virtual_subscribes == ["t3"] and c.include_files == ["a.txt"] and c.flows == ["f"]


def test_queue_config_keys_become_camel_case() -> None:
    c = parse_config({"name": "Q", "triggers": [queue("t", config={"max_retries": 2, "backoffDelayMs": 5})]})
    assert trigger_config(c.triggers[0], None) == {"topic": "t", "queue_config": {"maxRetries": 2,
                                                                                  "backoffDelayMs": 5}}


def test_legacy_types() -> None:
    api = parse_config({"type": "api", "name": "L", "path": "/l", "method": "GET"})
    assert api.triggers[0].type == "http" and api.triggers[0].path == "/l"
    event = parse_config({"type": "event", "name": "E", "subscribes": ["a", "b"], "emits": ["c"]})
    assert [t.topic for t in event.triggers] == ["a", "b"] and event.enqueues == [{"topic": "c"}]
    job = parse_config({"type": "cron", "name": "C", "cron": "*/5 * * * *"})
    assert job.triggers[0].expression == "0 */5 * * * *"  # 5-field crontab gets seconds
    assert parse_config({"type": "noop", "name": "N", "virtualEmits": ["x"]}).virtual_enqueues == [{"topic": "x"}]


def test_trigger_configs_and_function_ids() -> None:
    c = parse_config({"name": "S", "triggers": [
        http("GET", "/a/:id"), cron("* * * * * *"), state(scope="s"), stream("chat", group_id="g"),
        queue("t"), queue("t")]})
    assert [trigger_config(t, None) for t in c.triggers[:4]] == [
        {"api_path": "a/:id", "http_method": "GET"}, {"expression": "* * * * * *"}, {"scope": "s"},
        {"stream_name": "chat", "group_id": "g"}]
    from pathlib import Path

    from pyiii.steps.model import LoadedStep
    step = LoadedStep(c, lambda: None, Path("x"), "x", "x")
    assert function_ids(step) == [
        "steps::S::trigger::http(GET /a/:id)", "steps::S::trigger::cron(* * * * * *)", "steps::S::trigger::state",
        "steps::S::trigger::stream(chat)", "steps::S::trigger::queue(t)", "steps::S::trigger::queue(t)::5"]


@pytest.mark.parametrize("bad", [
    {"triggers": []},
    {"name": "X", "triggers": [{"type": "http"}]},
    {"name": "X", "triggers": [{"type": "queue"}]},
    {"name": "X", "triggers": [{"type": "bogus"}]},
    {"name": "X", "type": "weird"},
])
def test_invalid_configs_name_the_problem(bad: dict[str, object]) -> None:
    with pytest.raises(StepConfigError):
        parse_config(bad)


def test_metadata_has_json_schemas_and_no_callables() -> None:
    c = parse_config({"name": "M", "triggers": [http("POST", "/m", body_schema=Body, condition=lambda r: True,
                                                     middleware=[lambda r, c, n: n()])]})
    meta = c.metadata("steps/m_step.py")
    trig = meta["triggers"][0]
    assert trig["bodySchema"]["properties"]["n"]["type"] == "integer" and trig["conditional"] is True
    assert "middleware" not in trig and "condition" not in trig and meta["filePath"] == "steps/m_step.py"


def test_inputs_and_results() -> None:
    s = StateTriggerInput({"scope": "a", "key": "b", "event_type": "state:created", "new_value": {"x": 1}})
    assert (s.group_id, s.item_id, s.scope, s["item_id"], s.new_value.x) == ("a", "b", "a", "b", 1)
    e = StreamTriggerInput({"streamName": "c", "groupId": "g", "id": "i", "event": {"type": "create", "data": 1}})
    assert (e.stream_name, e.group_id, e.item_id, e.event.type, e["event"]["data"]) == ("c", "g", "i", "create", 1)
    assert to_http_result({"statusCode": 201, "body": 1}) == {"status_code": 201, "headers": {}, "body": 1}
    assert to_http_result({"hello": 1}) == {"status_code": 200, "headers": {}, "body": {"hello": 1}}


def test_arity() -> None:
    def zero() -> None: ...
    def one(a: object) -> None: ...
    async def two(a: object, b: object) -> None: ...
    def star(*a: object) -> None: ...
    assert (arity(zero), arity(one), arity(two), arity(star)) == (0, 1, 2, 99)


@pytest.mark.parametrize(("trigger", "says"), [
    (cron("bogus cron"), "invalid cron expression 'bogus cron': expected 6 or 7 fields"),
    (cron("0 0 25 * * *"), "invalid cron expression '0 0 25 * * *'"),
    (cron("0 0 3 * * *", timezone="Mars/Olympus"), "unknown timezone 'Mars/Olympus'"),
])
def test_what_iii_cron_would_refuse_is_refused_when_the_step_loads(trigger: object, says: str) -> None:
    with pytest.raises(StepConfigError, match=re.escape(says)):
        parse_config({"name": "Tick", "triggers": [trigger]})
    assert parse_config({"name": "Tick", "triggers": [cron("0 0 3 * * *", timezone="Europe/Paris")]}).warnings == []


def test_a_misspelt_key_warns_with_the_closest_known_key_and_custom_keys_pass() -> None:
    config = parse_config({"name": "S", "triggers": [{"type": "http", "path": "/a", "methd": "POST"}],
                           "flow": ["demo"], "descripton": "x", "team": "payments"})
    assert config.warnings == [
        "unknown key 'flow': did you mean 'flows'? (as spelt it has no effect)",
        "unknown key 'descripton': did you mean 'description'? (as spelt it has no effect)",
        "triggers[0]: unknown key 'methd': did you mean 'method'? (as spelt it has no effect)",
    ]
    assert config.extra["team"] == "payments"  # the user's own metadata, no warning
    assert parse_config({"name": "S", "triggers": [http("GET", "/a"), queue("t", config={"maxRetries": 1}),
                                                   state(scope="s"), stream("chat")],
                         "flows": ["f"], "emits": ["t"]}).warnings == []
