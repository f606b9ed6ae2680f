"""``pyiii dev --steps-in process`` supervises the steps process: killed, it comes back on its own
(routes answer again), the log says how it died with its last lines of output, and the engine's
``steps`` health check holds once it is back (tests/unit/steps/test_supervisor.py shows it false
while the process is down, and the backoff)."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx

from tests.integration.dev.support import Pyiii, hello_step
from tests.support.project import dev_config, write_project
from tests.support.waiting import eventually

CONFIG = dev_config("iii-observability")


def readiness(dev: Pyiii) -> dict[str, object]:
    try:
        body: dict[str, object] = httpx.get(f"http://127.0.0.1:{dev.ports['III_PORT']}/readyz", timeout=2).json()
    except httpx.HTTPError:
        return {}
    return body


async def test_a_killed_steps_process_is_restarted(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"config.yaml": CONFIG,
                                               "steps/hello_step.py": hello_step("/hello", "hi")})
    dev = Pyiii(project, "dev", "--steps-in", "process").start()
    try:
        await eventually(lambda: dev.get("/hello") == "hi", timeout=30, what="/hello served")
        assert readiness(dev).get("checks") == {"steps": True}
        for round_ in (1, 2):
            [child] = dev.children()
            os.kill(child, signal.SIGKILL)
            begin = time.monotonic()
            await eventually(lambda: dev.get("/hello") == 404, timeout=10, what="the route gone with its worker")
            await eventually(lambda: dev.get("/hello") == "hi", timeout=30, what="/hello served again")
            print(f"recovered from kill {round_} in {time.monotonic() - begin:.2f} s")
            assert dev.children() != [child]
        logs = dev.logs()
        died = re.findall(r"the steps process died \(killed by SIGKILL\) after [\d.]+ s; restarting it in ([\d.]+) s "
                          r"\(restart (\d)\)", logs)
        assert [n for _, n in died] == ["1", "2"], logs
        assert "    | steps ready: 1 step(s)" in logs  # its last output, quoted
        assert readiness(dev).get("checks") == {"steps": True}

    finally:
        assert dev.stop() == 0


async def test_a_step_that_exits_the_process_is_reported(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"config.yaml": CONFIG, "steps/hello_step.py": hello_step("/hello", "hi"),
                                       "steps/boom_step.py": """
        import os, sys
        from pyiii.steps import http
        config = {"name": "Boom", "triggers": [http("GET", "/boom")]}
        def handler():
            print("about to exit with 3", file=sys.stderr, flush=True)
            os._exit(3)
    """})
    dev = Pyiii(project, "dev", "--steps-in", "process").start()
    try:
        await eventually(lambda: dev.get("/hello") == "hi", timeout=30, what="/hello served")
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{dev.http_port}/boom", timeout=10)
        await eventually(lambda: "the steps process died (exit code 3)" in dev.logs(), timeout=10, what="the report")
        assert "    | about to exit with 3" in dev.logs()
        await eventually(lambda: dev.get("/hello") == "hi", timeout=30, what="/hello served again")
    finally:
        dev.stop()


async def test_the_steps_process_follows_config_edits_and_new_folders(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"config.yaml": CONFIG,
                                               "steps/hello_step.py": hello_step("/hello", "hi")})
    dev = Pyiii(project, "dev", "--steps-in", "process").start()
    try:
        await eventually(lambda: dev.get("/hello") == "hi", timeout=30, what="/hello served")
        [child] = dev.children()
        config = project / "config.yaml"
        config.write_text(config.read_text().replace("  - name: iii-state\n", ""))  # engine restart
        await eventually(lambda: "steps process started again" in dev.logs(), timeout=20, what="the restart")
        await eventually(lambda: dev.get("/hello") == "hi", timeout=30, what="/hello served again")
        assert dev.children() != [child] and "the steps process died" not in dev.logs()  # stopped, not crashed

        write_project(project, {"src/late_step.py": hello_step("/late", "late")})  # the child watches new folders too
        await eventually(lambda: dev.get("/late") == "late", timeout=20, what="the step in the new src/ folder")
    finally:
        assert dev.stop() == 0
