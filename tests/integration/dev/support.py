"""Run ``python -m pyiii …`` on a project folder as a real child process, read its output, wait
with ``eventually``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx

from tests.support.engine import free_port, stop_process


def hello_step(path: str, body: str) -> str:
    return textwrap.dedent(f"""
        from pyiii.steps import http
        config = {{"name": "{body}", "triggers": [http("GET", "{path}")]}}
        def handler():
            return {{"status": 200, "body": "{body}"}}
    """)


class Busy:
    """A port some other program listens on."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port: int = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class Pyiii:
    """``python -m pyiii <args>`` in ``project``, stdout and stderr to one log file. The env sets
    III_PORT/HTTP_PORT/STREAMS_PORT to free ports (configs read them) and the console's port to 0."""

    def __init__(self, project: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.project = project
        self.ports = {"III_PORT": free_port(), "HTTP_PORT": free_port(), "STREAMS_PORT": free_port()}
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "III_CONSOLE_PORT": "0",
                    **{k: str(v) for k, v in self.ports.items()}, **(env or {})}
        self.args = list(args)
        self.log_path = project.parent / f"{project.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http_port(self) -> int:
        return int(self.env["HTTP_PORT"])

    def start(self) -> Pyiii:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "pyiii", *self.args], cwd=self.project,
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def run(self, timeout: float = 60) -> tuple[int, str]:
        """Run to completion: exit status and output."""
        self.start()
        assert self.proc is not None
        code = self.proc.wait(timeout)
        return code, self.logs()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, port: int | None = None) -> Any:
        """The JSON body of a GET, the status code if not 200, None if nothing answers."""
        try:
            r = httpx.get(f"http://127.0.0.1:{port or self.http_port}{path}", timeout=2)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else r.status_code

    def children(self) -> list[int]:
        assert self.proc is not None
        pids: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def stop(self) -> int | None:
        return stop_process(self.proc, timeout=20)
