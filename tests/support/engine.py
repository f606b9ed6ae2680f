"""Start a real ``pyiii`` engine process for a test, on free ports, and stop it afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.waiting import eventually_sync

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts on ``port``; fail at once if ``proc`` exits first."""

    def accepts() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    eventually_sync(accepts, timeout, 0.05, what=f"port {port} to open")


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM,
                 timeout: float = 15.0) -> int | None:
    """Signal a child and wait for it; kill it if it has not exited within ``timeout``."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


class EngineProcess:
    """A ``python -m pyiii`` child process with its own config file and data folder."""

    def __init__(self, workdir: Path, workers: list[dict[str, Any]] | None = None,
                 extra: dict[str, Any] | None = None, port: int | None = None, *,
                 config_text: str | None = None, config_name: str = "config.yaml",
                 find_config: bool = False, env: dict[str, str] | None = None) -> None:
        """``config_text``: write this file as is (it must listen on ``self.port``) instead of one
        built from ``workers``; ``find_config``: start without ``--config``, as a user would;
        ``env``: extra environment variables of the engine process."""
        self.workdir = workdir
        self.port = port or free_port()
        listener = {"name": "iii-worker-manager", "config": {"port": self.port, "host": "127.0.0.1"}}
        entries = [listener, *(workers or [])]
        doc: dict[str, Any] = {"workers": entries, **(extra or {})}
        self.config_path = workdir / config_name
        self.config_path.write_text(yaml.safe_dump(doc) if config_text is None else config_text)
        self.find_config = find_config
        self.env = env or {}
        self.log_path = workdir / "engine.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> EngineProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OTEL_ENABLED": "false", **self.env}
        log = self.log_path.open("ab")
        config = [] if self.find_config else ["--config", str(self.config_path)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyiii", *config, "--log-level", "debug"],
            cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        wait_port(self.port, timeout, self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        return stop_process(self.proc, sig, timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
