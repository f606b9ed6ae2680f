"""``pyiii dev`` follows config.yaml: an edit is applied without a restart of the command (an added
worker, or a changed iii-http/iii-cron/console, is started in the running engine and the steps
stay connected; any other change restarts the engine part in-process and the steps register
again) and the log says what changed; a
broken edit keeps the running version and prints the error with its line; a step folder created
after start is watched."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dev.support import Pyiii, hello_step
from tests.support.engine import free_port
from tests.support.project import dev_config, write_project
from tests.support.waiting import eventually

CONFIG = dev_config()

CRON_STEP = """
    from pathlib import Path
    from pyiii.steps import cron
    config = {"name": "Tick", "triggers": [cron("* * * * * *")]}
    def handler(_input, ctx):
        Path("ticked").write_text("yes")
"""


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Pyiii]:
    project = write_project(tmp_path / "app", {"config.yaml": CONFIG, "steps/hello_step.py": hello_step("/hello", "hi"),
                                       "steps/tick_step.py": CRON_STEP})
    proc = Pyiii(project, "dev").start()
    try:
        yield proc
    finally:
        proc.stop()


async def serving(dev: Pyiii, port: int | None = None) -> None:
    await eventually(lambda: dev.get("/hello", port) == "hi", timeout=30, what="/hello served")


async def test_an_edit_adds_a_worker_and_moves_a_port_without_a_restart(dev: Pyiii) -> None:
    await serving(dev)
    pid = dev.proc.pid if dev.proc else 0
    assert not (dev.project / "ticked").exists()  # no iii-cron yet: the cron step is parked

    config = dev.project / "config.yaml"
    config.write_text(config.read_text() + "  - name: iii-cron\n")
    await eventually(lambda: "config.yaml changed: added iii-cron; applying it in the running engine" in dev.logs(),
                     timeout=20, what="the change")
    await eventually(lambda: (dev.project / "ticked").exists(), timeout=20, what="the cron step running")
    await serving(dev)
    assert dev.logs().count("steps ready:") == 1  # an added worker: the steps stayed connected


    new_port = free_port()
    config.write_text(config.read_text().replace("${HTTP_PORT}", str(new_port)))
    await eventually(lambda: re.search(rf"iii-http: port {dev.http_port} -> {new_port}", dev.logs()), timeout=20,
                     what="the port change in the log")
    await serving(dev, new_port)
    assert dev.get("/hello") is None  # the old port is closed
    assert dev.logs().count("steps ready:") == 1  # iii-http restarted alone: the steps stayed connected

    # Any other worker changed or removed: the engine part restarts, the steps register again.
    config.write_text(config.read_text().replace("  - name: iii-state\n", ""))
    await eventually(lambda: "config.yaml changed: removed iii-state; restarting the engine" in dev.logs(),
                     timeout=20, what="the engine restart")
    await eventually(lambda: dev.logs().count("steps ready:") == 2, timeout=20, what="the steps registered again")
    await serving(dev, new_port)
    assert dev.proc is not None and dev.proc.pid == pid and dev.proc.poll() is None
    applied = [float(ms) for ms in re.findall(r"config.yaml applied in (\d+) ms", dev.logs())]
    assert len(applied) == 3, dev.logs()
    print(f"config edits applied in {applied} ms")


async def test_a_broken_edit_keeps_the_running_version(dev: Pyiii) -> None:
    await serving(dev)
    config = dev.project / "config.yaml"
    good = config.read_text()
    config.write_text(good + "  - name: iii-nope\n")
    await eventually(lambda: "config.yaml not applied, still running the previous version" in dev.logs(),
                     timeout=20, what="the config error")
    assert re.search(r"config\.yaml:7: workers\[3\]: unknown worker 'iii-nope'", dev.logs()), dev.logs()
    await serving(dev)

    config.write_text(good + "  - name: iii-cron\n    config: [not, a, mapping\n")  # not YAML
    await eventually(lambda: dev.logs().count("not applied, still running the previous version") == 2,
                     timeout=20, what="the YAML error")
    assert re.search(r"config\.yaml:9: not valid YAML: .* \(column \d+\)", dev.logs()), dev.logs()
    await serving(dev)
    assert "restarting the engine" not in dev.logs()

    # Valid, but a worker cannot start with it (an address this machine does not have): iii-http
    # is restarted in place and comes back on its previous config ...
    config.write_text(good.replace("{port: ${HTTP_PORT}, host: 127.0.0.1}", "{port: ${HTTP_PORT}, host: 192.0.2.1}"))
    await eventually(lambda: re.search(r"config\.yaml not applied: cannot start iii-http: cannot listen on "
                                       r"192\.0\.2\.1:\d+: .*; check its host \(config\.yaml:4\); back to the "
                                       r"previous version", dev.logs()), timeout=20, what="the in-place rollback")
    await serving(dev)
    # ... and the worker listener makes the engine restart, then start again on the previous config.
    config.write_text(good.replace("{port: ${III_PORT}, host: 127.0.0.1}", "{port: ${III_PORT}, host: 192.0.2.1}"))
    await eventually(lambda: "the previous version is running again" in dev.logs(), timeout=20,
                     what="the engine rollback")
    assert "config.yaml not applied: the engine cannot start with it" in dev.logs()
    assert re.search(r"cannot start iii-worker-manager: cannot listen on 192\.0\.2\.1:\d+: .*; check its host "
                     r"\(config\.yaml:2\)", dev.logs()), dev.logs()
    await serving(dev)
    await eventually(lambda: dev.logs().count("steps ready:") == 2, timeout=20, what="the steps registered again")

    config.unlink()  # removed: nothing changes either
    await eventually(lambda: "config.yaml was removed; still running the previous version" in dev.logs(),
                     timeout=20, what="the removal noticed")
    await serving(dev)

    config.write_text(good + "  - name: iii-cron\n")  # fixed: applied
    await eventually(lambda: "added iii-cron" in dev.logs(), timeout=20, what="the fixed config applied")
    await serving(dev)


async def test_a_step_folder_created_after_start_is_watched(dev: Pyiii) -> None:
    await serving(dev)
    assert not (dev.project / "src").exists()
    begin = time.monotonic()
    write_project(dev.project, {"src/api/late_step.py": hello_step("/late", "late")})
    await eventually(lambda: dev.get("/late") == "late", timeout=20, what="the step in the new src/ folder")
    print(f"new folder's step served after {time.monotonic() - begin:.2f} s")
    write_project(dev.project, {"src/api/late_step.py": hello_step("/late", "later")})
    await eventually(lambda: dev.get("/late") == "later", timeout=20, what="an edit in src/ reloaded")
