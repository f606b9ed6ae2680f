"""Which exec commands start Motia's Python runner, and whether the real runtime is runnable
where they run (pyiii/workers/exec/motia.py; spec §A.8 step 8)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pyiii.workers.exec import motia


@pytest.mark.parametrize(("command", "uv", "directory", "watch"), [
    ("uv run motia run --dir steps", True, "steps", False),
    ("motia run --dir steps", False, "steps", False),
    ("motia run", False, "steps", False),
    ("motia dev --watch -d src", False, "src", True),
    ("motia-iii run --dir=app/steps", False, "app/steps", False),
    ("uv run --with motia motia run -dsteps", True, "steps", False),
    ("OTEL_ENABLED=false uv run motia run --dir steps", True, "steps", False),
    ("/opt/venv/bin/motia run --dir steps", False, "steps", False),
    (["uv", "run", "motia", "run", "--dir", "flows"], True, "flows", False),
])
def test_motia_runners_are_recognised(command: str | list[str], uv: bool, directory: str, watch: bool) -> None:
    found = motia.parse(command)
    assert found is not None
    assert (found.uv, found.directory, found.watch) == (uv, directory, watch)


@pytest.mark.parametrize("command", [
    "npx motia dev",                        # Node's runner: stays as written
    "motia build",                          # not a runner
    "motia typegen",
    "python -m src.main",
    "uv sync",
    "uv run python app.py",
    "motia run --dir steps && echo done",   # shell operators: not taken apart
    "echo motia run",
    "motia",
])
def test_other_commands_are_not(command: str) -> None:
    assert motia.parse(command) is None


def test_replacement_is_pyiii_steps_runner_on_the_same_dir() -> None:
    found = motia.parse("motia dev --dir flows --watch")
    assert found is not None
    assert motia.replacement(found) == [sys.executable, "-m", "pyiii.steps", "--project", ".", "--dir", "flows",
                                        "--watch"]


def _script(folder: Path, name: str, shebang: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{shebang}\n")
    path.chmod(0o755)
    return path


async def test_not_on_path_is_not_runnable(tmp_path: Path) -> None:
    found = motia.parse("motia run --dir steps")
    assert found is not None
    verdict = await motia.probe(found, str(tmp_path), {"PATH": str(tmp_path / "bin")})
    assert not verdict.runnable and "not installed" in verdict.reason


async def test_uv_missing_or_no_venv_motia_is_not_runnable(tmp_path: Path) -> None:
    found = motia.parse("uv run motia run --dir steps")
    assert found is not None
    verdict = await motia.probe(found, str(tmp_path), {"PATH": str(tmp_path / "bin")})
    assert not verdict.runnable and verdict.reason == "`uv` is not installed"
    _script(tmp_path / "bin", "uv", "/bin/sh")
    verdict = await motia.probe(found, str(tmp_path), {"PATH": str(tmp_path / "bin")})
    assert not verdict.runnable and "`uv sync`" in verdict.reason


async def test_a_motia_that_does_not_import_is_not_runnable(tmp_path: Path) -> None:
    _script(tmp_path / "bin", "motia", sys.executable)  # this interpreter has no `motia` package
    found = motia.parse("motia run --dir steps")
    assert found is not None
    verdict = await motia.probe(found, str(tmp_path), {"PATH": str(tmp_path / "bin")})
    assert not verdict.runnable
    assert "does not import" in verdict.reason and "No module named 'motia'" in verdict.reason


async def test_a_motia_that_imports_is_runnable(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for package in ("motia", "iii"):
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
    (site / "motia" / "cli.py").write_text("")
    (site / "motia" / "iii.py").write_text("")
    _script(tmp_path / ".venv" / "bin", "motia", sys.executable)
    _script(tmp_path / "bin", "uv", "/bin/sh")
    found = motia.parse("uv run motia run --dir steps")
    assert found is not None
    verdict = await motia.probe(found, str(tmp_path), {"PATH": str(tmp_path / "bin"), "PYTHONPATH": str(site)})
    assert verdict.runnable, verdict.reason


async def test_a_node_motia_runs_as_written(tmp_path: Path) -> None:
    _script(tmp_path / "bin", "motia", "/usr/bin/env node")
    found = motia.parse("motia dev")
    assert found is not None
    verdict = await motia.probe(found, str(tmp_path), {"PATH": str(tmp_path / "bin")})
    assert verdict.runnable and "not a Python script" in verdict.reason


def test_dev_and_start_know_which_exec_commands_serve_the_steps(tmp_path: Path) -> None:
    from pyiii.devserver import motia_runners
    from pyiii.engine_config import parse

    config = parse(
        "workers:\n"
        "  - name: iii-exec\n    config:\n      exec: [npx motia dev, node dist/index-dev.js]\n"
        "  - name: iii-exec\n    config:\n      exec: [uv sync, uv run motia run --dir steps]\n"
        "  - name: iii-exec\n    config:\n      cwd: other\n      exec: [motia run]\n")
    assert motia_runners(tmp_path, config) == ["uv run motia run --dir steps"]  # not Node's, not another folder's
    assert motia_runners(tmp_path, parse("workers:\n  - name: iii-state\n")) == []


def _venv(folder: Path) -> Path:
    (folder / ".venv").mkdir(parents=True)
    (folder / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return folder / ".venv"


def test_uv_run_outside_a_project_takes_the_active_virtualenv_first(tmp_path: Path) -> None:
    """What `uv run` itself does: the probe must look where uv will run motia from (an activated
    venv without motia made pyiii say 'runs as written' while uv could not spawn it)."""
    app = tmp_path / "app"
    own = _venv(app)
    active = tmp_path / "elsewhere"
    assert motia.uv_environment(app, {"VIRTUAL_ENV": str(active)}) == active
    assert motia.uv_environment(app, {}) == own
    deeper = app / "steps"
    deeper.mkdir()
    assert motia.uv_environment(deeper, {}) == own  # the nearest .venv here or above


def test_uv_run_inside_a_project_takes_the_project_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (tmp_path / "steps").mkdir()
    env = {"VIRTUAL_ENV": str(tmp_path / "elsewhere")}
    assert motia.uv_environment(tmp_path / "steps", env) == tmp_path / ".venv"  # the active one is ignored
    assert motia.uv_environment(tmp_path, {**env, "UV_PROJECT_ENVIRONMENT": "/opt/env"}) == Path("/opt/env")
    assert motia.uv_environment(tmp_path, {"UV_PROJECT_ENVIRONMENT": "envs/app"}) == tmp_path / "envs/app"


async def test_uv_with_an_active_virtualenv_that_lacks_motia_is_not_runnable(tmp_path: Path) -> None:
    _script(tmp_path / ".venv" / "bin", "motia", sys.executable)
    _script(tmp_path / "bin", "uv", "/bin/sh")
    found = motia.parse("uv run motia run --dir steps")
    assert found is not None
    env = {"PATH": str(tmp_path / "bin"), "VIRTUAL_ENV": str(tmp_path / "other")}
    verdict = await motia.probe(found, str(tmp_path), env)
    assert not verdict.runnable and str(tmp_path / "other") in verdict.reason
