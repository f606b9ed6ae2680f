"""A Motia 1.0 Python project (only ``iii-config.yaml`` in the module format, an ExecModule
running ``uv run motia run --dir steps``, ``from motia import`` step files) served by a real
``pyiii`` process *without* the motia runtime: the exec worker replaces Motia's runner by pyiii's
Steps runner on the same ``--dir`` and says so, for ``pyiii``, ``pyiii dev`` and ``pyiii start``;
every route, the queue chain, state, the cron and the stream answer; each step registers once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from pyiii.engine_config import migrate
from tests.interop.motia.support import MotiaApp, check_orders
from tests.support.waiting import eventually

# Whatever this machine has: `uv` missing, or no motia in the app's `.venv` (there is none).
REPLACED = "-> pyiii's Steps runner serves steps/ instead"


@pytest.mark.parametrize("command", [None, "dev", "start"])
async def test_motia_python_project_runs_without_motia(tmp_path: Path, command: str | None) -> None:
    app = MotiaApp("app_py", tmp_path, command=command,
                   env={"PATH": "/usr/bin:/bin"}).start()  # no motia (nor uv) on PATH
    try:
        await check_orders(app)
        logs = app.logs()
        assert "`uv run motia run --dir steps`: " in logs and REPLACED in logs, logs
        functions = await app.functions()
        for step in ("CreateOrder", "GetOrder", "ProcessOrder", "Notify", "Tick", "Stats"):
            mine = [f for f in functions if f.startswith(f"steps::{step}::")]
            assert len(mine) == 1, (step, mine)  # registered once: never both runners
        if command is not None:
            assert "pyiii's in-process Steps runner stays off" in logs
    finally:
        app.stop()


async def test_dev_reloads_a_step_through_the_entry_watch_globs(tmp_path: Path) -> None:
    app = MotiaApp("app_py", tmp_path, command="dev", env={"PATH": "/usr/bin:/bin"}).start()
    try:
        await check_orders(app)
        step = app.project / "steps" / "stats_step.py"
        step.write_text(step.read_text().replace('"ticks": count or 0', '"ticks": count or 0, "edited": True'))
        async with httpx.AsyncClient(base_url=app.base, timeout=5) as client:

            async def edited() -> bool:
                try:
                    return bool((await client.get("/stats")).json().get("edited"))
                except (httpx.HTTPError, ValueError):
                    return False

            await eventually(edited, timeout=60, what="the edited step answers")
        assert "steps/stats_step.py changed; restarting" in app.logs()
    finally:
        app.stop()


async def test_dev_config_edit_that_adds_motias_runner_still_runs_the_steps_once(tmp_path: Path) -> None:
    """`pyiii dev` on config.yaml without an exec entry runs the steps in-process; saving the file
    with the ExecModule's entry back restarts the engine part with the exec entry serving them."""
    app = MotiaApp("app_py", tmp_path, command="dev", env={"PATH": "/usr/bin:/bin"})
    config = yaml.safe_load(migrate(app.project / "iii-config.yaml", version="test"))  # `pyiii config migrate`
    without = {**config, "workers": [w for w in config["workers"] if w["name"] != "iii-exec"]}
    (app.project / "config.yaml").write_text(yaml.safe_dump(without, sort_keys=False))
    app.start()
    try:
        await check_orders(app, item="before")
        (app.project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        await eventually(lambda: REPLACED in app.logs(), timeout=60, what="the exec entry took the steps over")
        await check_orders(app, item="after")
        functions = await app.functions()
        assert len([f for f in functions if f.startswith("steps::CreateOrder::")]) == 1, functions
    finally:
        app.stop()
