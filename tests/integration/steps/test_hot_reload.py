"""`pyiii dev` reloads one step when its file changes: edited, broken, added, removed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.project import DevProcess, dev_config, write_project
from tests.support.waiting import eventually_sync, stays_sync

CONFIG = dev_config()

STEP = """
    from pyiii.steps import http
    from .shared import PREFIX

    config = {{"name": "Version", "triggers": [http("GET", "/version")]}}

    def handler():
        return {{"status": 200, "body": PREFIX + "{version}"}}
"""


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevProcess]:
    project = write_project(tmp_path / "app", {
        "config.yaml": CONFIG,
        "steps/api/shared.py": 'PREFIX = "v"\n',
        "steps/api/version_step.py": STEP.format(version="1"),
        "steps/api/other_step.py": """
            from pyiii.steps import http
            config = {"name": "Other", "triggers": [http("GET", "/other")]}
            def handler():
                return {"status": 200, "body": "other"}
        """,
    })
    proc = DevProcess(project, "dev").start("/version")
    try:
        yield proc
    finally:
        proc.stop()


def body(dev: DevProcess, path: str) -> object:
    r = httpx.get(dev.base + path)
    return r.json() if r.status_code == 200 else r.status_code


def test_edit_reloads_only_that_step(dev: DevProcess) -> None:
    assert body(dev, "/version") == "v1"
    step = dev.project / "steps/api/version_step.py"
    write_project(dev.project, {"steps/api/version_step.py": STEP.format(version="2")})
    eventually_sync(lambda: body(dev, "/version") == "v2")
    assert body(dev, "/other") == "other"
    assert "reloaded steps/api/version_step.py" in dev.logs()
    assert "reloaded steps/api/other_step.py" not in dev.logs()

    # A broken edit keeps the last good version serving and logs the error.
    step.write_text("config = {\n")
    eventually_sync(lambda: "import failed" in dev.logs())
    assert body(dev, "/version") == "v2"
    write_project(dev.project, {"steps/api/version_step.py": STEP.format(version="3")})
    eventually_sync(lambda: body(dev, "/version") == "v3")


def test_added_and_removed_steps(dev: DevProcess) -> None:
    write_project(dev.project, {"steps/new/added_step.py": """
        from pyiii.steps import http
        config = {"name": "Added", "triggers": [http("GET", "/added")]}
        async def handler(request, ctx):
            return {"status": 200, "body": ctx.step_name}
    """})
    eventually_sync(lambda: body(dev, "/added") == "Added")
    (dev.project / "steps/new/added_step.py").unlink()
    eventually_sync(lambda: body(dev, "/added") == 404)
    assert body(dev, "/version") == "v1"


def test_helper_change_reloads_the_steps(dev: DevProcess) -> None:
    (dev.project / "steps/api/shared.py").write_text('PREFIX = "w"\n')
    eventually_sync(lambda: body(dev, "/version") == "w1")


def test_start_does_not_watch(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"config.yaml": CONFIG, "steps/api/shared.py": 'PREFIX = "v"\n',
                                               "steps/api/version_step.py": STEP.format(version="1")})
    proc = DevProcess(project, "start").start("/version")
    try:
        write_project(project, {"steps/api/version_step.py": STEP.format(version="2")})
        # Nothing reloads: `pyiii dev` reloads within its 200 ms debounce plus a restart of the
        # steps, well inside the 1 s a (wrong) watcher is given here.
        stays_sync(lambda: body(proc, "/version") == "v1", 1.0, what="the old step to keep serving")
    finally:
        proc.stop()
