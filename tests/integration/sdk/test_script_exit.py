"""A pyiii.sdk worker script as a user runs it: the README's snippet exits by itself, and a worker
that serves until Ctrl-C stops on Ctrl-C without a traceback, whether its main code has ended or
is still running."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_snippet() -> str:
    """The README's worker snippet, as it is written there."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    snippet = next(b for b in blocks if "register_worker" in b)
    assert "ws://localhost:49134" in snippet
    return snippet.replace("%", "%%").replace("ws://localhost:49134", "ws://localhost:%d")


SERVING = """
    import time
    from pyiii import InitOptions, register_worker

    worker = register_worker("ws://localhost:%d", InitOptions(worker_name="greeter"))
    worker.register_function("greeter::greet", lambda data: {"hi": data})
    print("serving", flush=True)
"""


def script(tmp_path: Path, text: str, port: int) -> Path:
    path = tmp_path / "worker.py"
    path.write_text(textwrap.dedent(text % port))
    return path


def test_the_readme_snippet_prints_the_answer_and_exits(tmp_path: Path, engine: EngineProcess) -> None:
    run = subprocess.run([sys.executable, str(script(tmp_path, readme_snippet(), engine.port))],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "{'message': 'Hello, Ada!'}"
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("main_code", ["ended", "sleeping"])
async def test_ctrl_c_stops_a_serving_worker_without_a_traceback(
        tmp_path: Path, engine: EngineProcess, main_code: str) -> None:
    text = SERVING + ("\n    while True:\n        time.sleep(1)\n" if main_code == "sleeping" else "")
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    proc = await asyncio.create_subprocess_exec(sys.executable, str(script(tmp_path, text, engine.port)),
                                                stdout=out.open("wb"), stderr=err.open("wb"))
    try:
        await eventually(lambda: "serving" in out.read_text(), timeout=30, what="the worker serving")
        assert proc.returncode is None  # it keeps serving its handlers
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "Traceback" not in err.read_text(), err.read_text()
    assert "KeyboardInterrupt" not in err.read_text()
