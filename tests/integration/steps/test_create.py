"""`pyiii create` scaffolds a complete project: every worker a step kind needs, a pyiii dependency
that resolves from this machine, and tests that pass against a real `pyiii start` while a
`pyiii dev` of the same project runs, without touching it (own data folder and ports)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

import pyiii
from tests.support.engine import free_port
from tests.support.project import DevProcess
from tests.support.waiting import eventually, stays

SRC = Path(pyiii.__file__).resolve().parents[1]  # the pyiii under test


def create(tmp_path: Path, name: str = "shop") -> Path:
    run = subprocess.run([sys.executable, "-m", "pyiii", "create", name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return tmp_path / name


def test_the_config_has_a_worker_for_every_step_kind(tmp_path: Path) -> None:
    project = create(tmp_path)
    for rel in ("config.yaml", ".gitignore", "steps/todos/create_todo_step.py", "steps/todos/todos_stream.py",
                "steps/todos/todo_stats_step.py", "tests/test_todos.py"):
        assert (project / rel).is_file(), rel
    doc = yaml.safe_load((project / "config.yaml").read_text())
    names = {w["name"] for w in doc["workers"]}
    # http, queue, cron, state and stream steps (and *_stream.py files) all have their worker
    assert {"iii-http", "iii-queue", "iii-cron", "iii-state", "iii-stream", "iii-worker-manager"} <= names
    assert doc["data_dir"] == "${PYIII_DATA_DIR:data}"


def test_the_pyiii_dependency_resolves_from_where_the_project_was_created(tmp_path: Path) -> None:
    project = create(tmp_path)
    text = (project / "pyproject.toml").read_text()
    assert 'name = "shop"' in text
    tree = SRC.parent
    assert f'"pyiii @ {tree.as_uri()}"' in text, text  # a checkout: a direct reference to it
    report = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                          str(project)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    urls = {i["metadata"]["name"]: i["download_info"]["url"] for i in __import__("json").loads(report.read_text())
            ["install"]}
    assert urls["pyiii"] == tree.as_uri()


def test_the_projects_tests_pass_while_pyiii_dev_runs_and_leave_it_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = create(tmp_path)
    monkeypatch.setenv("III_CONSOLE_PORT", str(free_port()))
    dev = DevProcess(project, "dev").start("/todos")
    try:
        created = httpx.post(f"{dev.base}/todos", json={"title": "mine"})
        assert created.status_code == 202
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        env.pop("III_CONSOLE_PORT")  # the project's tests choose their own
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project,
                               capture_output=True, text=True, timeout=120, env=env)
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert re.search(r"\b2 passed\b", tests.stdout), tests.stdout
        assert dev.proc is not None and dev.proc.poll() is None, dev.logs()
        titles = sorted(t["title"] for t in httpx.get(f"{dev.base}/todos").json())
        assert titles in ([], ["mine"])  # the queue may not have stored it yet, but no test todo got in
        assert "write tests" not in titles and "address already in use" not in dev.logs()
        assert "4 step(s)" in dev.logs() and " wait" not in dev.logs()  # the cron step's worker is there too
    finally:
        dev.stop()
    assert not (project / "config").exists() or not any((project / "config").iterdir())


async def test_with_an_empty_config_each_missing_worker_is_one_warning_naming_the_steps(tmp_path: Path) -> None:
    project = create(tmp_path)
    (project / "config.yaml").write_text("")
    log = tmp_path / "start.log"
    env = {**os.environ, "PYTHONPATH": str(SRC), "III_CONSOLE_PORT": str(free_port())}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyiii", "start", str(project), "-p", str(free_port()), env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        await eventually(lambda: "steps ready" in log.read_text() and "iii-queue" in log.read_text(), timeout=30,
                         what="the warnings")
        await stays(lambda: proc.returncode is None, 0.5)  # any further warning would come meanwhile
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
    warnings = [line.split("pyiii.triggers: ", 1)[1] for line in log.read_text().splitlines()
                if " WARNING " in line and "pyiii.triggers" in line]
    assert sorted(warnings) == [
        "step 'StoreTodo' (queue trigger) waits: add `- name: iii-queue` to config.yaml",
        "step 'TodoStats' (cron trigger) waits: add `- name: iii-cron` to config.yaml",
        "steps 'CreateTodo' and 'ListTodos' (http triggers) wait: add `- name: iii-http` to config.yaml",
    ], log.read_text()


def test_create_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    run = subprocess.run([sys.executable, "-m", "pyiii", "create", "taken"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "not empty" in run.stderr
