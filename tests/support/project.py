"""Run ``pyiii dev|start`` on a project folder as a real child process, on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from tests.support.engine import free_port, stop_process
from tests.support.waiting import eventually_sync

# A shared Node install (iii-sdk, plus tsx and typescript for the examples' TypeScript workers)
# that offline test machines keep, so the examples do not need `npm install`.
NODE_MODULES_CACHE = Path("/tmp/nodeiii/node_modules")


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``root``; returns ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def dev_config(*more_workers: str) -> str:
    """A project's ``config.yaml`` for ``pyiii dev|start`` on the ports the runner sets
    (``III_PORT``, ``HTTP_PORT``): the listener, ``iii-http`` and ``iii-state``, then
    ``more_workers`` (names, default config)."""
    lines = [
        "workers:",
        "  - name: iii-worker-manager",
        "    config: {port: ${III_PORT}, host: 127.0.0.1}",
        "  - name: iii-http",
        "    config: {port: ${HTTP_PORT}, host: 127.0.0.1}",
        "  - name: iii-state",
        *(f"  - name: {name}" for name in more_workers),
    ]
    return "\n".join(lines) + "\n"


def link_cached_node_modules(project: Path) -> bool:
    """Point ``project/node_modules`` at :data:`NODE_MODULES_CACHE` when it has everything an
    example's Node worker needs: the official ``iii-sdk`` and ``tsx`` (which runs the ``.ts``
    worker on Node 20). Otherwise leave it to the example's setup command (``npm install``), so an
    older cache without tsx is never installed into through the link. True when linked."""
    if (NODE_MODULES_CACHE / "iii-sdk" / "package.json").is_file() and (NODE_MODULES_CACHE / ".bin" / "tsx").exists():
        (project / "node_modules").symlink_to(NODE_MODULES_CACHE)
        return True
    return False


class DevProcess:
    """``python -m pyiii <command> <project>`` with III_PORT/HTTP_PORT/STREAMS_PORT set (the
    project's config.yaml reads them)."""

    def __init__(self, project: Path, command: str = "dev", extra_args: list[str] | None = None) -> None:
        self.project = project
        self.command = command
        self.extra_args = extra_args or []
        self.engine_port, self.http_port, self.stream_port = free_port(), free_port(), free_port()
        self.log_path = project.parent / f"{project.name}-{command}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, ready_path: str, timeout: float = 30.0) -> DevProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "III_PORT": str(self.engine_port),
               "HTTP_PORT": str(self.http_port), "STREAMS_PORT": str(self.stream_port)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyiii", self.command, str(self.project), *self.extra_args],
            env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
        )
        proc = self.proc

        def served() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"pyiii {self.command} exited early:\n{self.logs()}")
            try:
                return httpx.get(self.base + ready_path, timeout=1).status_code != 404
            except httpx.HTTPError:
                return False

        try:
            eventually_sync(served, timeout, 0.05, what=f"{ready_path} served by pyiii {self.command}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.logs()}") from None
        return self

    def stop(self) -> int | None:
        return stop_process(self.proc, timeout=20)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
