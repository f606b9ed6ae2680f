"""Ports on the command line: a port in use is one clear line and a non-zero exit; every port has a
flag, and ``--port-offset`` moves them all; ``pyiii dev`` moves a busy port to the next free one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyiii.bind import port_is_free
from tests.integration.dev.support import Busy, Pyiii, hello_step
from tests.support.engine import free_port
from tests.support.project import write_project
from tests.support.waiting import eventually

CONFIG = """
    workers:
      - name: iii-worker-manager
        config: {port: ${III_PORT}, host: 127.0.0.1}
      - name: iii-http
        config:
          port: ${HTTP_PORT}
          host: 127.0.0.1
      - name: iii-state
      - name: iii-stream
        config: {port: ${STREAMS_PORT}, host: 127.0.0.1}
      - name: iii-queue
      - name: iii-cron
"""


@pytest.fixture
def busy() -> Iterator[Busy]:
    port = Busy()
    yield port
    port.close()


def project(tmp_path: Path, config: str | None = CONFIG) -> Path:
    files = {"steps/hello_step.py": hello_step("/hello", "hi")}
    if config is not None:
        files["config.yaml"] = config
    return write_project(tmp_path / "app", files)


def assert_one_clear_line(code: int, out: str, port: int, worker: str, *moves: str) -> None:
    assert code != 0
    assert "Traceback" not in out and "did not stop cleanly" not in out, out
    assert len(out.strip().splitlines()) <= 5, out
    errors = [line for line in out.splitlines() if "ERROR" in line]
    assert len(errors) == 1, out
    assert f"cannot start {worker}: port {port}" in errors[0] and "already in use" in errors[0], out
    for move in moves:
        assert move in errors[0], out


@pytest.mark.parametrize("command", ["start", "dev"])
def test_a_port_in_use_is_one_line_naming_the_flag(tmp_path: Path, busy: Busy, command: str) -> None:
    """No config.yaml (every built-in worker): the busy port is given by a flag, so even `dev`,
    which moves busy ports, keeps it and fails."""
    code, out = Pyiii(project(tmp_path, None), command, "--http-port", str(busy.port), "--port", "0",
                      "--stream-port", "0").run()
    assert_one_clear_line(code, out, busy.port, "iii-http", "--http-port N", "--port-offset N")


def test_a_port_from_config_names_its_variable_and_line(tmp_path: Path, busy: Busy) -> None:
    code, out = Pyiii(project(tmp_path), "start", env={"STREAMS_PORT": str(busy.port)}).run()
    assert_one_clear_line(code, out, busy.port, "iii-stream", "--stream-port N", "$STREAMS_PORT",
                          "its port in config.yaml:9")


def test_plain_pyiii_with_a_busy_worker_port(tmp_path: Path, busy: Busy) -> None:
    code, out = Pyiii(project(tmp_path, None), "-p", str(busy.port), "--http-port", "0", "--stream-port", "0").run()
    assert_one_clear_line(code, out, busy.port, "iii-worker-manager", "--port N")


async def test_every_port_has_a_flag(tmp_path: Path) -> None:
    ports = [free_port() for _ in range(4)]
    dev = Pyiii(project(tmp_path, None), "start", "--port", str(ports[0]), "--http-port", str(ports[1]),
                "--stream-port", str(ports[2]), "--console-port", str(ports[3])).start()
    try:
        await eventually(lambda: dev.get("/hello", ports[1]) == "hi", timeout=30, what="/hello on --http-port")
        for port in ports:
            assert f"127.0.0.1:{port}" in dev.logs()
    finally:
        dev.stop()


def free_offset(ports: list[int]) -> int:
    for offset in range(7, 2000, 13):
        if all(port_is_free("127.0.0.1", p + offset) for p in ports):
            return offset
    raise AssertionError("no free offset")


async def test_port_offset_moves_every_port(tmp_path: Path) -> None:
    dev = Pyiii(project(tmp_path), "start")
    offset = free_offset([*dev.ports.values()])
    dev.args += ["--port-offset", str(offset)]
    dev.start()
    try:
        await eventually(lambda: dev.get("/hello", dev.http_port + offset) == "hi", timeout=30,
                         what="/hello on the offset port")
        for port in dev.ports.values():
            assert f"127.0.0.1:{port + offset}" in dev.logs()
        assert dev.get("/hello") is None  # nothing on the configured port
    finally:
        dev.stop()


async def test_dev_moves_a_busy_port_and_says_so(tmp_path: Path, busy: Busy) -> None:
    dev = Pyiii(project(tmp_path), "dev", env={"HTTP_PORT": str(busy.port)}).start()
    try:
        line = await eventually(lambda: re.search(rf"port {busy.port} is in use: iii-http listens on (\d+) instead "
                                                  r"\(--http-port N to choose\)", dev.logs()),
                                timeout=30, what="the line saying which port dev picked")
        moved = int(line.group(1))
        assert moved > busy.port
        await eventually(lambda: dev.get("/hello", moved) == "hi", timeout=30, what="/hello on the moved port")
        assert "ERROR" not in dev.logs()
    finally:
        dev.stop()
