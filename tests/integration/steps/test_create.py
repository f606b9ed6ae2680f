"""`pyiii create` scaffolds a project whose own tests pass against a real `pyiii start`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_create_scaffolds_a_working_project(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "pyiii", "create", "shop"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    project = tmp_path / "shop"
    for rel in ("config.yaml", ".gitignore", "steps/todos/create_todo_step.py", "steps/todos/todos_stream.py",
                "tests/test_todos.py"):
        assert (project / rel).is_file(), rel
    assert 'name = "shop"' in (project / "pyproject.toml").read_text()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project,
                           capture_output=True, text=True, timeout=90, env={**os.environ, "PYTHONPATH": ""})
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout


def test_create_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    run = subprocess.run([sys.executable, "-m", "pyiii", "create", "taken"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "not empty" in run.stderr
