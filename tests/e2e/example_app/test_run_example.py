"""./scripts/run-example as a new user runs it: without Node.js it says once that the Node
worker is skipped and serves the example without it (no restart loop); and the scripts share
one .venv, run-example installing only pyiii, scripts/test adding the dev tools, never the
other way round."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import pyiii
from tests.support.engine import free_port
from tests.support.waiting import eventually, stays

REPO = Path(__file__).resolve().parents[3]
SRC = Path(pyiii.__file__).resolve().parents[1]
SKIP_LINE = "Node.js (node, npx) not found"


def fake_repo(root: Path, *, with_example: bool) -> Path:
    """The parts of a checkout the scripts use, with pyproject.toml older than any stamp."""
    shutil.copytree(REPO / "scripts", root / "scripts")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    os.utime(root / "pyproject.toml", (1_000_000_000, 1_000_000_000))
    if with_example:
        shutil.copytree(REPO / "examples" / "orders", root / "examples" / "orders",
                        ignore=shutil.ignore_patterns("node_modules", "data", "config", "__pycache__"))
    (root / ".venv" / "bin").mkdir(parents=True)
    return root


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


# ------------------------------------------------------------------ the shared .venv


@pytest.fixture
def venv_repo(tmp_path: Path) -> Iterator[Path]:
    root = fake_repo(tmp_path / "repo", with_example=False)
    # A python that only records what it is asked to install.
    executable(root / ".venv" / "bin" / "python", f'#!/bin/sh\necho "$*" >> {tmp_path / "pip.log"}\n')
    yield root


def source_env(root: Path, mode: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYIII_ENV"}
    if mode is not None:
        env["PYIII_ENV"] = mode
    log = root.parent / "pip.log"
    log.write_text("")
    subprocess.run(["bash", "-c", f'source "{root}/scripts/_env.sh"'], env=env, check=True, timeout=30)
    return [line for line in log.read_text().splitlines() if "install" in line and "pip" not in line.split()[-1]]


def test_run_installs_only_pyiii_test_adds_the_dev_tools_and_run_never_downgrades(venv_repo: Path) -> None:
    stamp = venv_repo / ".venv" / ".pyiii-installed"
    assert source_env(venv_repo, "run") == ["-m pip install -q -e ."]
    assert stamp.read_text().strip() == "run"
    assert source_env(venv_repo, "run") == []  # installed already
    assert source_env(venv_repo, None) == ["-m pip install -q -e .[dev]"]  # scripts/test after run-example
    assert stamp.read_text().strip() == "dev"
    assert source_env(venv_repo, "run") == []  # run-example after scripts/test: nothing to do
    assert stamp.read_text().strip() == "dev"
    os.utime(venv_repo / "pyproject.toml")  # pyproject.toml changed: reinstall, still with the dev tools
    assert source_env(venv_repo, "run") == ["-m pip install -q -e .[dev]"]
    assert stamp.read_text().strip() == "dev"


def test_an_old_stamp_that_does_not_say_which_is_installed_again(venv_repo: Path) -> None:
    (venv_repo / ".venv" / ".pyiii-installed").write_text("")
    assert source_env(venv_repo, None) == ["-m pip install -q -e .[dev]"]


# ------------------------------------------------------------------ no Node.js


async def test_without_node_run_example_says_so_once_and_serves_without_looping(tmp_path: Path) -> None:
    root = fake_repo(tmp_path / "repo", with_example=True)
    bin_dir = root / ".venv" / "bin"
    (bin_dir / "python").symlink_to(sys.executable)
    executable(bin_dir / "pyiii", f'#!/bin/sh\nexec "{sys.executable}" -m pyiii "$@"\n')
    (root / ".venv" / ".pyiii-installed").write_text("dev\n")
    tools = tmp_path / "tools"  # a PATH with the shell tools the scripts use, and no node or npx
    tools.mkdir()
    for name in ("bash", "sh", "dirname", "cat", "env"):
        found = shutil.which(name)
        assert found is not None, name
        (tools / name).symlink_to(found)
    assert shutil.which("node", path=str(tools)) is None and shutil.which("npx", path=str(tools)) is None
    http_port = free_port()
    env = {"PATH": str(tools), "HOME": str(tmp_path), "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1",
           "III_PORT": str(free_port()), "HTTP_PORT": str(http_port), "STREAMS_PORT": str(free_port()),
           "III_CONSOLE_PORT": str(free_port())}
    log = tmp_path / "run-example.log"
    proc = await asyncio.create_subprocess_exec(str(root / "scripts" / "run-example"), env=env,
                                                stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    try:
        async with httpx.AsyncClient() as client:
            async def serving() -> bool:
                try:
                    return (await client.get(f"{base}/orders/live")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(serving, timeout=60, what="the example serving")
            order = {"customer": "ann", "item": "book", "quantity": 2, "unit_price": 12.5}
            order_id = (await client.post(f"{base}/orders", json=order)).json()["id"]

            async def stored() -> object:
                r = await client.get(f"{base}/orders/{order_id}")
                return r.status_code == 200 and r.json()

            record = await eventually(stored, timeout=30, what="the order stored")
            assert record["fraud"]["checked_by"] == "unavailable"
        await stays(lambda: proc.returncode is None and "restarting" not in log.read_text(), 2.0,
                    what="no restart loop")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    text = log.read_text()
    assert [line for line in text.splitlines() if SKIP_LINE in line] == [
        "run-example: Node.js (node, npx) not found: skipping the example's Node fraud-check worker; orders are "
        "stored unchecked (install Node.js 20+ to run it)"]
    assert "npx: not found" not in text and "restarting" not in text
    assert "iii-exec is disabled (enabled: false): its commands do not run" in text
    assert "tsx fraud-worker.ts" not in text  # not even in the banner
