"""A Motia 1.0 project's own ``iii-config.yaml`` (spec §A.9, module format) starts a real engine:
found without ``--config``, every module running as its worker, an HTTP route of a raw worker
served with the file's CORS, the ExecModule command run with the file's settings. And an exec
list that is one argv split over lines stops the engine at start with the argv form."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.legacy_examples import MOTIA_TEMPLATE
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

#: Without Motia installed `uv run motia run` cannot start; this records what the exec worker ran.
EXEC_PROBE = """echo "$III_URL" > exec-ran.txt; exec sleep 300"""


def motia_project(folder: Path, engine_port: int, http_port: int) -> str:
    """The §A.9 template as a user has it, on free ports: a top-level `port:` keeps the engine off
    49134 (other tests run in parallel); `STREAMS_PORT` comes from the environment as in the file."""
    text = MOTIA_TEMPLATE.replace("port: 3111", f"port: {http_port}")
    text = text.replace("uv run motia run --dir steps", EXEC_PROBE)
    assert text.count(str(http_port)) == 1 and EXEC_PROBE in text
    (folder / "steps").mkdir()
    return f"port: {engine_port}\n{text}"


async def serve_hello(worker: RawWorker) -> None:
    """Answer every call of the route's function, as a handler would."""
    while True:
        call = await worker.expect("invokefunction", timeout=60, function_id="legacy::hello")
        await worker.send({"type": "invocationresult", "invocation_id": call["invocation_id"],
                           "function_id": "legacy::hello",
                           "result": {"status_code": 200, "body": {"hello": call["data"]["query_params"]}}})


async def test_motia_template_iii_config_yaml_serves_a_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    http_port, stream_port, engine_port = free_port(), free_port(), free_port()
    monkeypatch.setenv("STREAMS_PORT", str(stream_port))
    text = motia_project(tmp_path, engine_port, http_port)
    engine = EngineProcess(tmp_path, port=engine_port, config_text=text, config_name="iii-config.yaml",
                           find_config=True)
    assert not (tmp_path / "config.yaml").exists()
    engine.start()
    worker: RawWorker | None = None
    try:
        wait_port(http_port, proc=engine.proc)
        wait_port(stream_port, proc=engine.proc)  # iii-stream on the port the file names
        worker = await RawWorker.connect(engine.url)
        await worker.register("legacy::hello")
        await worker.send({"type": "registertrigger", "id": "legacy-hello", "trigger_type": "http",
                           "function_id": "legacy::hello",
                           "config": {"api_path": "legacy/hello", "http_method": "GET"}})
        answering = asyncio.ensure_future(serve_hello(worker))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=5) as client:

            async def hello() -> httpx.Response | None:
                response = await client.get("/legacy/hello?who=motia", headers={"Origin": "https://a.example"})
                return response if response.status_code == 200 else None

            response = await eventually(hello, what="GET /legacy/hello answers 200")
        answering.cancel()
        assert response.json() == {"hello": {"who": "motia"}}
        assert response.headers["access-control-allow-origin"] in ("*", "https://a.example")  # cors: ["*"]

        # The ExecModule entry ran its command in the project folder, pointed at this engine.
        ran = tmp_path / "exec-ran.txt"
        url = await eventually(lambda: ran.exists() and ran.read_text().strip(), what="the exec command ran")
        assert url.endswith(f":{engine_port}")

        logs = engine.logs()
        assert "no config.yaml" in logs and "iii-config.yaml is in the iii ≤ 0.10 module format" in logs
        assert (tmp_path / "data" / "state_store.db").exists()  # the state KvStore's file_path
    finally:
        if worker is not None:
            with contextlib.suppress(Exception):
                await worker.close()
        engine.stop()


@pytest.mark.parametrize(("name", "text", "line"), [
    ("config.yaml", "workers:\n  - name: iii-exec\n    config:\n      exec:\n        - python\n        - -m\n"
     "        - src.main\n", 5),
    ("iii-config.yaml", "modules:\n  - class: modules::shell::ExecModule\n    config:\n      watch: [src/**/*.py]\n"
     "      exec:\n        - python\n        - -m\n        - src.main\n", 6),
])
def test_engine_refuses_an_argv_split_over_exec_items(tmp_path: Path, name: str, text: str, line: int) -> None:
    (tmp_path / name).write_text(text)
    done = subprocess.run([sys.executable, "-m", "pyiii"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"config error: {name}:{line}: " in done.stderr
    assert "read like one command split over lines" in done.stderr
    assert "  exec:\n    - [python, -m, src.main]" in done.stderr
