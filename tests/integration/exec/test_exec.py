"""iii-exec against a real engine process: restarts, crash backoff, no orphans after kill -9."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.support.engine import EngineProcess
from tests.support.waiting import eventually_sync


def _wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    """``eventually_sync`` as a bool, so that ``assert _wait_for(...), eng.logs()`` shows the logs."""
    try:
        eventually_sync(predicate, timeout, 0.05)
    except AssertionError:
        return False
    return True


def _watched(pid: int, folder: Path) -> bool:
    """Whether a process holds an inotify watch on ``folder`` (Linux: /proc/<pid>/fdinfo lists
    the inode of each watch)."""
    inode = f"ino:{folder.stat().st_ino:x} "
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = info.read_text()
        except OSError:
            continue
        if any(line.startswith("inotify wd:") and inode in line for line in text.splitlines()):
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


# A tiny app: records its pid and the number of starts, then sleeps, leaving a grandchild too.
APP = """
import os, subprocess, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "starts.log"), "a") as f:
    f.write(f"{os.getpid()}\\n")
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open(os.path.join(here, "grandchild.pid"), "w") as f:
    f.write(str(grandchild.pid))
if os.environ.get("CRASH") and os.path.getsize(os.path.join(here, "starts.log")) < 40:
    sys.exit(3)
time.sleep(300)
"""


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_setup_commands_run_then_app_restarts_on_change(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "src").mkdir()
    exec_cfg = {"exec": ["echo ready > setup.txt", "python app.py"], "watch": ["src/**/*.py"], "debounce_ms": 50}
    eng = EngineProcess(tmp_path, workers=[{"name": "iii-exec", "config": exec_cfg}]).start()
    try:
        starts = tmp_path / "starts.log"
        assert _wait_for(lambda: len(_pids(starts)) == 1)
        assert (tmp_path / "setup.txt").read_text().strip() == "ready"
        first = _pids(starts)[0]
        assert eng.proc is not None
        pid = eng.proc.pid
        # The watcher arms in a background thread after start-up: wait until src/ is watched.
        eventually_sync(lambda: _watched(pid, tmp_path / "src"), what="the watcher to watch src/")
        (tmp_path / "src" / "notes.txt").write_text("ignored: not a .py file")
        (tmp_path / "src" / "deep").mkdir()
        # The new folder is added to the watch before a file appears in it.
        eventually_sync(lambda: _watched(pid, tmp_path / "src" / "deep"), what="the watcher to watch src/deep/")
        (tmp_path / "src" / "deep" / "step.py").write_text("x = 1\n")
        assert _wait_for(lambda: len(_pids(starts)) == 2), eng.logs()
        assert _wait_for(lambda: not _alive(first)), "the old process must be stopped on restart"
    finally:
        eng.stop()


def test_crashed_process_is_restarted(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    exec_cfg = {"exec": ["python app.py"], "env": {"CRASH": "1"}, "restart_backoff_ms": 100}
    eng = EngineProcess(tmp_path, workers=[{"name": "exec", "config": exec_cfg}]).start()
    try:
        assert _wait_for(lambda: len(_pids(tmp_path / "starts.log")) >= 2, 15), eng.logs()
    finally:
        eng.stop()


def test_no_orphans_after_engine_kill_9(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    eng = EngineProcess(tmp_path, workers=[{"name": "iii-exec", "config": {"exec": ["python app.py"]}}]).start()
    gc_file = tmp_path / "grandchild.pid"
    assert _wait_for(gc_file.exists)
    app_pid = _pids(tmp_path / "starts.log")[0]
    grandchild = int(gc_file.read_text())
    assert _alive(app_pid) and _alive(grandchild)
    eng.stop(signal.SIGKILL)
    assert _wait_for(lambda: not _alive(app_pid) and not _alive(grandchild), 10), "children outlived the engine"


def test_clean_shutdown_stops_children(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    eng = EngineProcess(tmp_path, workers=[{"name": "iii-exec", "config": {"exec": ["python app.py"]}}]).start()
    gc_file = tmp_path / "grandchild.pid"
    assert _wait_for(gc_file.exists)
    grandchild = int(gc_file.read_text())
    assert eng.stop() == 0
    assert _wait_for(lambda: not _alive(grandchild), 10)
