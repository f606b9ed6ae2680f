"""The published Motia 1.0 runtimes against a real pyiii process, started by pyiii's exec worker
from each app's module-format ``iii-config.yaml``:

* Python: ``motia`` 1.0.0rc24 + ``iii-sdk`` 0.2.0 (the pins of the Motia 1.0 Python template) runs
  as written — ``motia run`` from its venv, and the template's ``uv run motia run --dir steps`` with
  the project's ``.venv`` — and pyiii's own Steps runner stays off (each step registers once,
  with rc24's ids).
* Python: ``motia`` 1.0.3rc1 + ``iii-sdk`` 0.8.3 on the same app in 1.0.3's style (app_py_g2a/),
  and those files on pyiii's Steps runner.
* Python: ``motia`` 1.0.4rc1, the newest 1.0.x, as pip installs it (newest iii-sdk) does not
  import; pyiii's Steps runner takes that command's place and serves the same files.
* Node: ``motia`` 1.0.4-rc.1 (``iii-sdk`` 0.9.0) builds and runs its steps (``npx motia dev``,
  ``node dist/index-dev.js``).
* Mixed: both apps in one project with two ExecModules, with and without the Python runtime.

Each app has HTTP (a wrapping and a denying middleware), a queue chain, state, a 6-field cron and
a stream (tests/interop/motia/support.py ``check_orders``). The runtimes install once into
``tests/.cache/motia`` (runtimes.py); the first run takes about a minute more."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.motia.runtimes import link_node_modules, python_runtime
from tests.interop.motia.support import MotiaApp, check_orders

pytestmark = [pytest.mark.interop, pytest.mark.motia_runtime]

PY_STEPS = ("CreateOrder", "GetOrder", "ProcessOrder", "Notify", "Tick", "Stats")
NODE_STEPS = ("NodeCreateOrder", "NodeGetOrder", "NodeProcessOrder", "NodeNotify", "NodeTick", "NodeStats")
#: PATH without any motia or uv: only what an app folder brings (node_modules/.bin via npx).
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def once_each(functions: list[str], steps: tuple[str, ...]) -> dict[str, str]:
    """Each step's one function id (a second runner would register a second one)."""
    out: dict[str, str] = {}
    for step in steps:
        mine = [f for f in functions if f.startswith(f"steps::{step}::")]
        assert len(mine) == 1, (step, mine)
        out[step] = mine[0]
    return out


@pytest.mark.timeout(600)  # the first run installs the runtime
@pytest.mark.parametrize("how", ["motia", "uv run"])
async def test_motia_rc24_python_runtime_runs_as_written(tmp_path: Path, how: str) -> None:
    runtime = python_runtime("rc24")
    if how == "uv run":  # the template's command as is: `uv run motia run --dir steps`, the project's .venv
        env = {"PATH": f"{python_runtime('uv') / 'bin'}:{BARE_PATH}"}
        command = "uv run motia run --dir steps"
    else:  # `motia run --dir steps` from an activated virtualenv
        env = {"MOTIA_PY": str(runtime / "bin" / "motia"), "PATH": BARE_PATH}
        command = f"{runtime / 'bin' / 'motia'} run --dir steps"
    app = MotiaApp("app_py", tmp_path, command="dev", env=env)
    if how == "uv run":
        (app.project / ".venv").symlink_to(runtime)
        # As after `source .venv/bin/activate` in the app (and not the test's own venv, which
        # `uv run` outside a project would take instead).
        app.extra_env["VIRTUAL_ENV"] = str(app.project / ".venv")
    app.start()
    try:
        await check_orders(app)
        logs = app.logs()
        assert f"`{command}`: Motia's runner runs as written" in logs, logs
        assert "in-process Steps runner stays off" in logs
        assert "motia.cli: Found 6 step(s) and 1 stream(s)" in logs  # Motia's own CLI loaded them
        ids = once_each(await app.functions(), PY_STEPS)
        assert ids["CreateOrder"] == "steps::CreateOrder::trigger::0"  # rc24's ids: the real runtime served
    finally:
        app.stop()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("runner", ["1.0.3rc1", "pyiii"])
async def test_motia_103_style_app(tmp_path: Path, runner: str) -> None:
    """The G2a app (standalone ``stateManager``/``enqueue``, ``MotiaHttpArgs``) on motia 1.0.3rc1 +
    iii-sdk 0.8.3 (HTTP answered through the SDK's response channel), and on pyiii's runner."""
    env = {"PATH": BARE_PATH}
    if runner != "pyiii":
        env["MOTIA_PY"] = str(python_runtime(runner) / "bin" / "motia")
    app = MotiaApp("app_py_g2a", tmp_path, command="start", env=env).start()
    try:
        await check_orders(app)
        logs = app.logs()
        assert ("Motia's runner runs as written" if runner != "pyiii" else "pyiii's Steps runner serves steps/") in logs
        ids = once_each(await app.functions(), PY_STEPS)
        assert ids["CreateOrder"] == "steps::CreateOrder::trigger::http(POST /orders)"  # 1.0.3's scheme, both
    finally:
        app.stop()


@pytest.mark.timeout(600)
async def test_newest_motia_that_does_not_import_is_replaced(tmp_path: Path) -> None:
    runtime = python_runtime("1.0.4rc1")
    app = MotiaApp("app_py", tmp_path, command=None,
                   env={"MOTIA_PY": str(runtime / "bin" / "motia"), "PATH": BARE_PATH}).start()
    try:
        await check_orders(app)
        logs = app.logs()
        assert "does not import" in logs and "-> pyiii's Steps runner serves steps/ instead" in logs, logs
        ids = once_each(await app.functions(), PY_STEPS)
        assert ids["CreateOrder"] == "steps::CreateOrder::trigger::http(POST /orders)"  # pyiii's runner
    finally:
        app.stop()


@pytest.mark.timeout(600)
async def test_motia_node_runtime(tmp_path: Path) -> None:
    app = MotiaApp("app_node", tmp_path, command="dev", env={"PATH": BARE_PATH})
    link_node_modules(app.project)
    app.start()
    try:
        await check_orders(app, prefix="/node")
        ids = once_each(await app.functions(), NODE_STEPS)
        assert ids["NodeCreateOrder"] == "steps::NodeCreateOrder::trigger::http(POST /node/orders)"
        assert (app.project / "dist" / "index-dev.js").exists()  # built by `npx motia dev`
    finally:
        app.stop()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("python", ["rc24", "pyiii"])
async def test_mixed_python_and_node_project(tmp_path: Path, python: str) -> None:
    env = {"PATH": BARE_PATH}
    if python == "rc24":
        env["MOTIA_PY"] = str(python_runtime("rc24") / "bin" / "motia")
    # With the Python runtime under `pyiii dev`; without it under plain `pyiii` ("Done when" of #19).
    command = "dev" if python == "rc24" else None
    app = MotiaApp("app_mixed", tmp_path, command=command, env=env, steps_from=("app_py", "app_node"))
    link_node_modules(app.project)
    app.start()
    try:
        await check_orders(app)
        await check_orders(app, prefix="/node")
        functions = await app.functions()
        py_ids, node_ids = once_each(functions, PY_STEPS), once_each(functions, NODE_STEPS)
        assert py_ids["CreateOrder"] == ("steps::CreateOrder::trigger::0" if python == "rc24"
                                         else "steps::CreateOrder::trigger::http(POST /orders)")
        assert node_ids["NodeStats"] == "steps::NodeStats::trigger::http(GET /node/stats)"
    finally:
        app.stop()
