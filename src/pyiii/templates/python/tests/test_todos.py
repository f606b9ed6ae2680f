"""End to end: start the project with `pyiii start` on free ports and its own data folder (so a
`pyiii dev` running in this folder is never touched), create a todo, read it back."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    ports = {"III_PORT": free_port(), "HTTP_PORT": free_port(), "STREAMS_PORT": free_port(),
             "III_CONSOLE_PORT": free_port()}
    folders = {"PYIII_DATA_DIR": tmp_path / "data", "PYIII_CONFIG_DIR": tmp_path / "config"}
    env = {**os.environ, **{k: str(v) for k, v in {**ports, **folders}.items()}}
    log = (tmp_path / "pyiii.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "pyiii", "start", str(PROJECT)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{ports['HTTP_PORT']}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/todos").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "pyiii.log").read_text()
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(15)


def test_create_then_list(base_url: str) -> None:
    r = httpx.post(f"{base_url}/todos", json={"title": "write tests"})
    assert r.status_code == 202
    todo_id = r.json()["id"]
    deadline = time.monotonic() + 10
    while not any(t["id"] == todo_id for t in httpx.get(f"{base_url}/todos").json()):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_invalid_body_is_rejected(base_url: str) -> None:
    r = httpx.post(f"{base_url}/todos", json={"title": ""})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "INVALID_BODY" and error["details"][0]["path"] == "title"
