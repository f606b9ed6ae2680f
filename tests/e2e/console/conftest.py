"""The console against a real ``pyiii dev`` of the orders example (plus a flaky queue step for
the dead-letter test, a failing one, an hourly and a 3-second cron step), driven by Debian's
Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.chromium import chromium
from tests.support.engine import free_port
from tests.support.project import DevProcess
from tests.support.waiting import eventually_sync

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "orders"
NODE_SDK = Path("/tmp/nodeiii/node_modules")
# The docs' screenshots are refreshed on request only (PYIII_UPDATE_SCREENSHOTS=1): an ordinary
# run writes them to a temporary folder instead of churning the binary files in the repo.
SCREENSHOTS = (REPO / "docs" / "screenshots" if os.environ.get("PYIII_UPDATE_SCREENSHOTS") == "1"
               else Path(tempfile.gettempdir()) / f"pyiii-console-screenshots-{os.getpid()}")

FLAKY_STEP = '''"""Queue `console.flaky`: fails until state console-test/allow is {"allow": true}."""
from typing import Any

from pyiii.steps import FlowContext, queue

config = {"name": "FlakyJob", "description": "Fails until a flag is set in state",
          "triggers": [queue("console.flaky", config={"maxRetries": 1, "backoffDelayMs": 20})],
          "flows": ["console-test"]}


async def handler(job: Any, ctx: FlowContext) -> None:
    flag = await ctx.state.get("console-test", "allow")
    if not (isinstance(flag, dict) and flag.get("allow")):
        raise RuntimeError("flag console-test/allow is not set")
    await ctx.state.set("console-test", f"done-{job['n']}", {"processed": True})
'''

CRON_STEP = '''"""Every hour: stamp console-test/tick (run by hand from the console's triggers view)."""
from datetime import UTC, datetime

from pyiii.steps import FlowContext, cron

config = {"name": "ConsoleTick", "triggers": [cron("0 0 * * * *")], "flows": ["console-test"]}


async def handler(ctx: FlowContext) -> None:
    await ctx.state.set("console-test", "tick", {"at": datetime.now(UTC).isoformat()})
'''

HEARTBEAT_STEP = '''"""Every 3 seconds, so the console's triggers view has a cron job with a last run."""
from pyiii.steps import FlowContext, cron

config = {"name": "ConsoleHeartbeat", "triggers": [cron("*/3 * * * * *")], "flows": ["console-test"]}


async def handler(ctx: FlowContext) -> None:
    return None
'''

FAILING_STEP = '''"""Queue `console.fails`: always fails, so its messages land in the dead-letter queue."""
from typing import Any

from pyiii.steps import FlowContext, queue

config = {"name": "AlwaysFails", "triggers": [queue("console.fails", config={"maxRetries": 0, "backoffDelayMs": 10})],
          "flows": ["console-test"]}


async def handler(job: Any, ctx: FlowContext) -> None:
    raise RuntimeError(f"AlwaysFails refuses job {job}")
'''


class Console:
    def __init__(self, dev: DevProcess, port: int) -> None:
        self.dev = dev
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path: str, body: Any = None) -> Any:
        if body is None:
            return httpx.get(f"{self.url}/api/{path}", timeout=10).json()
        return httpx.post(f"{self.url}/api/{path}", json=body, timeout=10).json()


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    project = tmp_path_factory.mktemp("console") / "orders"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules", "data", "__pycache__"))
    if shutil.which("node") and NODE_SDK.is_dir():  # the Node fraud worker, offline: reuse the SDK
        (project / "node_modules").symlink_to(NODE_SDK)
    else:  # no Node here: run without it (ProcessOrder stores orders unchecked)
        config = (project / "config.yaml").read_text()
        (project / "config.yaml").write_text(config.split("  - name: iii-exec")[0])
    (project / "steps" / "console_test").mkdir()
    (project / "steps" / "console_test" / "flaky_step.py").write_text(FLAKY_STEP)
    (project / "steps" / "console_test" / "tick_step.py").write_text(CRON_STEP)
    (project / "steps" / "console_test" / "heartbeat_step.py").write_text(HEARTBEAT_STEP)
    (project / "steps" / "console_test" / "fails_step.py").write_text(FAILING_STEP)
    port = free_port()
    os.environ["III_CONSOLE_PORT"] = str(port)  # DevProcess passes the environment on
    try:
        dev = DevProcess(project, "dev").start("/orders/live", timeout=90)
    finally:
        os.environ.pop("III_CONSOLE_PORT", None)
    try:
        console = Console(dev, port)
        _wait(lambda: httpx.get(console.url + "/api/config", timeout=1).status_code == 200)
        yield console
    finally:
        dev.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script("localStorage.setItem('iii-console-theme', 'dark')")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(10_000)
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors in the console: {errors}"


def _wait(check: Any, timeout: float = 15.0) -> None:
    """``eventually_sync`` that also retries while the console's HTTP server is not answering yet."""
    eventually_sync(check, timeout, 0.1, retry_on=(AssertionError, httpx.HTTPError))


wait = _wait
