"""Motia steps run after changing only their imports (`from motia import` → `from pyiii.steps
import`): a 1.0 (G1, ctx services) HTTP → queue flow, a 0.x (G0, `type: api|event`, `emits`,
`context.emit`) flow, and ctx.match for multi-trigger steps."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pyiii.steps.steps_runner import StepsRunner
from tests.integration.steps.support import StepsEngine, running, steps_engine
from tests.support.project import write_project
from tests.support.waiting import eventually_sync

# Verbatim Motia 1.0 (rc) style, as in motia-iii-example: only the import line changes.
MOTIA_G1_CREATE = '''
from typing import Any
from pydantic import BaseModel
from motia import ApiRequest, ApiResponse, FlowContext, http

class PetRequest(BaseModel):
    name: str
    species: str

config = {
    "name": "CreatePet",
    "description": "Create a pet",
    "triggers": [http("POST", "/pets", body_schema=PetRequest.model_json_schema())],
    "enqueues": ["pet.created"],
    "flows": ["pets"],
}

async def handler(request: ApiRequest[dict[str, Any]], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    body = request.body or {}
    pet = {"id": body["name"].lower(), "name": body["name"], "species": body["species"]}
    await ctx.state.set("pets", pet["id"], pet)
    await ctx.enqueue({"topic": "pet.created", "data": pet})
    ctx.logger.info("Pet created", {"pet": pet, "trace": ctx.trace_id})
    return ApiResponse(status=201, body=pet)
'''

MOTIA_G1_ADOPT = '''
from typing import Any
from motia import FlowContext, queue, http

config = {
    "name": "AdoptPet",
    "triggers": [queue("pet.created", config={"maxRetries": 2}), http("GET", "/pets/:id/adopt")],
    "enqueues": [{"topic": "pet.adopted", "label": "adopted"}],
    "flows": ["pets"],
}

async def handler(input: Any, ctx: FlowContext[Any]) -> Any:
    async def on_queue(pet: Any) -> None:
        stored = await ctx.state.get("pets", pet["id"])
        await ctx.state.set("adoptions", pet["id"], {"pet": stored, "via": "queue"})

    async def on_http(request: Any) -> Any:
        adoption = await ctx.state.get("adoptions", request.path_params["id"])
        return {"status": 200 if adoption else 404, "body": adoption}

    return await ctx.match({"queue": on_queue, "http": on_http})
'''

# Motia 0.x (G0): root-level type/path/method/emits/subscribes, context.emit, camelCase keys.
MOTIA_G0_API = '''
config = {
    "type": "api",
    "name": "LegacyCreate",
    "path": "/legacy",
    "method": "POST",
    "bodySchema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    "emits": ["legacy.created"],
    "flows": ["legacy"],
}

async def handler(req, context):
    await context.emit({"topic": "legacy.created", "data": {"n": req.body["n"]}})
    return {"status": 200, "body": {"ok": True}}
'''

MOTIA_G0_EVENT = '''
config = {
    "type": "event",
    "name": "LegacyDouble",
    "subscribes": ["legacy.created"],
    "emits": [],
    "input": {"type": "object"},
    "flows": ["legacy"],
}

async def handler(input, context):
    await context.state.set("legacy", "result", {"doubled": input["n"] * 2})
'''


def migrate(source: str) -> str:
    """The whole migration: the import line."""
    return source.replace("from motia import", "from pyiii.steps import")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StepsEngine, StepsRunner]]:
    root = tmp_path_factory.mktemp("motia")
    files = {
        "steps/pets/create_pet_step.py": MOTIA_G1_CREATE,
        "steps/pets/adopt_pet_step.py": MOTIA_G1_ADOPT,
        "steps/legacy/legacy_create_step.py": MOTIA_G0_API,
        "steps/legacy/legacy_double_step.py": MOTIA_G0_EVENT,
    }
    project = write_project(root / "project", {k: migrate(textwrap.dedent(v)) for k, v in files.items()})
    (root / "engine").mkdir()
    with steps_engine(root / "engine") as eng, running(project, eng.proc.url) as (runner, report):
        assert report.errors == [] and report.steps == 4
        eventually_sync(lambda: httpx.post(f"{eng.base}/pets", json={}).status_code != 404)
        yield eng, runner


def state(runner: StepsRunner, scope: str, key: str) -> Any:
    assert runner.client is not None
    return runner.client.trigger({"function_id": "state::get", "payload": {"scope": scope, "key": key}})


def test_motia_1_0_http_to_queue_flow(app: Any) -> None:
    eng, runner = app
    r = httpx.post(f"{eng.base}/pets", json={"name": "Rex", "species": "dog"})
    assert r.status_code == 201 and r.json() == {"id": "rex", "name": "Rex", "species": "dog"}
    adoption = eventually_sync(lambda: state(runner, "adoptions", "rex"))
    assert adoption == {"pet": {"id": "rex", "name": "Rex", "species": "dog"}, "via": "queue"}
    got = httpx.get(f"{eng.base}/pets/rex/adopt")
    assert got.status_code == 200 and got.json()["via"] == "queue"


def test_motia_1_0_json_schema_body_is_validated(app: Any) -> None:
    eng, _ = app
    r = httpx.post(f"{eng.base}/pets", json={"name": "Rex"})
    assert r.status_code == 400 and "species" in r.text


def test_motia_0_x_api_and_event_steps(app: Any) -> None:
    eng, runner = app
    assert httpx.post(f"{eng.base}/legacy", json={"n": 21}).json() == {"ok": True}
    assert eventually_sync(lambda: state(runner, "legacy", "result")) == {"doubled": 42}
    assert httpx.post(f"{eng.base}/legacy", json={"n": "x"}).status_code == 400


def test_multi_trigger_steps_get_one_function_per_trigger(app: Any) -> None:
    _, runner = app
    ids = {s.config.name: [t.suffix for t in s.config.triggers] for s, _ in runner.steps.values()}
    assert ids["AdoptPet"] == ["queue(pet.created)", "http(GET /pets/:id/adopt)"]
    assert ids["LegacyDouble"] == ["queue(legacy.created)"]
