"""What `pyiii dev` prints while a user works: one line per save ("added" for a new file), one
clear error for a refused cron expression, a warning for a misspelt config key, ctx.logger's
structured data in the one log format, the module-level logger named after the step, and
tracebacks that start at the user's code."""

from __future__ import annotations

import os
import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.engine import free_port
from tests.support.project import DevProcess, dev_config, write_project
from tests.support.waiting import eventually, stays

CONFIG = dev_config("iii-cron")

STEP = """
    import logging
    from pyiii.steps import http, logger

    pylog = logging.getLogger(__name__)
    config = {{"name": "Version", "triggers": [http("GET", "/version")], "flow": ["demo"]}}

    def handler(request, ctx):
        ctx.logger.info("served", {{"n": 1, "who": "ann lee", "tags": ["a"]}})
        logger.warn("module level")
        pylog.info("python logging")
        return {{"status": 200, "body": "{version}"}}
"""

BOOM = """
    from pyiii.steps import http

    config = {"name": "Boom", "triggers": [http("GET", "/boom")]}

    def explode():
        raise ValueError("kaboom")

    async def handler(request, ctx):
        explode()
"""

CRON = """
    from pyiii.steps import cron

    config = {{"name": "Tick", "triggers": [cron("{expression}")]}}

    def handler(ctx):
        ctx.logger.info("tick")
"""


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DevProcess]:
    monkeypatch.setenv("III_CONSOLE_PORT", str(free_port()))
    project = write_project(tmp_path / "app", {
        "config.yaml": CONFIG,
        "steps/api/version_step.py": STEP.format(version="1"),
        "steps/api/boom_step.py": BOOM,
        "steps/jobs/tick_step.py": CRON.format(expression="0 0 3 * * *"),
    })
    proc = DevProcess(project, "dev").start("/version")
    try:
        yield proc
    finally:
        proc.stop()


def version(dev: DevProcess) -> object:
    r = httpx.get(dev.base + "/version")
    return r.json() if r.status_code == 200 else r.status_code


def lines(dev: DevProcess, needle: str) -> list[str]:
    return [line for line in dev.logs().splitlines() if needle in line]


async def test_one_reloaded_line_per_save_and_added_for_a_new_file(dev: DevProcess) -> None:
    step = dev.project / "steps/api/version_step.py"
    tmp = step.with_name(".version_step.py.tmp")
    saves = [
        step.write_text,  # a plain write
        lambda text: (tmp.write_text(text), os.replace(tmp, step)),  # an atomic save (write, rename)
        lambda text: truncate_then_write(step, text),  # truncate, then write a moment later
    ]
    for n, save in enumerate(saves, start=2):
        save(textwrap.dedent(STEP.format(version=n)))
        await eventually(lambda n=n: version(dev) == str(n), what=f"version {n} served")
        await eventually(lambda n=n: len(lines(dev, "reloaded steps/api/version_step.py")) >= n - 1)
    await stays(lambda: len(lines(dev, "reloaded steps/api/version_step.py")) == 3, 1.0)
    assert "empty" not in dev.logs() and "skipped" not in dev.logs()

    write_project(dev.project, {"steps/api/new_step.py": """
        from pyiii.steps import http
        config = {"name": "New", "triggers": [http("GET", "/new")]}
        def handler():
            return {"status": 200, "body": "new"}
    """})
    await eventually(lambda: httpx.get(dev.base + "/new").status_code == 200, what="the new step")
    await eventually(lambda: lines(dev, "added steps/api/new_step.py"))
    assert not lines(dev, "reloaded steps/api/new_step.py")


def truncate_then_write(step: Path, text: str) -> None:
    with step.open("r+") as f:
        f.truncate(0)
        f.flush()
        os.fsync(f.fileno())
        time.sleep(0.3)  # not a wait: the editor's two writes land in two watcher batches
        f.write(text)


async def test_a_refused_cron_expression_is_one_error_and_the_old_schedule_stays(dev: DevProcess) -> None:
    before = len(dev.logs().splitlines())
    write_project(dev.project, {"steps/jobs/tick_step.py": CRON.format(expression="bogus cron")})
    await eventually(lambda: lines(dev, "invalid cron expression"), what="the error line")

    def about() -> list[str]:
        new = dev.logs().splitlines()[before:]
        return [line for line in new if "tick_step" in line or "bogus" in line or "cron" in line]

    # One line only, also counting what the engine or the SDK would add after it: they log within
    # the same reload (a 200 ms debounced batch), so 0.5 s is enough for a second line to show.
    await stays(lambda: len(about()) == 1, 0.5, what="a single line about the refused expression")
    new = dev.logs().splitlines()[before:]
    about_lines = about()
    assert len(about_lines) == 1, about_lines
    assert " ERROR " in about_lines[0] and "steps/jobs/tick_step.py" in about_lines[0]
    assert "'bogus cron'" in about_lines[0] and "expected 6 or 7 fields" in about_lines[0]
    assert not [line for line in new if "reloaded" in line]


async def test_a_misspelt_config_key_is_a_warning_naming_the_closest_key(dev: DevProcess) -> None:
    warning = await eventually(lambda: lines(dev, "unknown key 'flow'"))
    assert " WARNING " in warning[0] and "steps/api/version_step.py" in warning[0]
    assert "did you mean 'flows'?" in warning[0]


async def test_loggers_print_structured_data_in_the_one_format_named_after_the_step(dev: DevProcess) -> None:
    assert version(dev) == "1"
    served = await eventually(lambda: lines(dev, "Version: served"))
    assert re.match(r"^\d\d:\d\d:\d\d INFO +Version: served n=1 who=\"ann lee\" tags=\[\"a\"\] trace=[0-9a-f]{32}$",
                    served[0]), served
    module = await eventually(lambda: lines(dev, "module level"))
    assert re.match(r"^\d\d:\d\d:\d\d WARNING +Version: module level trace=", module[0]), module
    assert lines(dev, "steps.api.version_step: python logging")
    assert not [line for line in dev.logs().splitlines() if line.startswith("[")]  # no second format


async def test_a_handler_traceback_starts_at_the_users_code(dev: DevProcess) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.get(dev.base + "/boom")
    assert r.status_code == 500
    await eventually(lambda: "ValueError: kaboom" in dev.logs(), what="the traceback")
    text = dev.logs()
    trace = text[text.index("Traceback (most recent call last):"):text.index("ValueError: kaboom")]
    frames = re.findall(r'File "([^"]+)"', trace)
    assert frames and frames[0].endswith("steps/api/boom_step.py"), frames
    assert not [f for f in frames if "/pyiii/" in f and "boom_step" not in f], frames
    assert [f.rsplit("/", 1)[1] for f in frames] == ["boom_step.py", "boom_step.py"]  # handler, explode
