"""An edit made right after StepWatcher.start(), before watchfiles has armed its OS watches, is
still reported (the watcher compares a snapshot taken in start() once the watches are armed)."""

from __future__ import annotations

import threading
from pathlib import Path

from pyiii.steps.watcher import StepWatcher, changed_since, snapshot


def test_snapshot_diff_sees_added_changed_and_removed(tmp_path: Path) -> None:
    (tmp_path / "a_step.py").write_text("a = 1\n")
    (tmp_path / "b_step.py").write_text("b = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.py").write_text("")
    before = snapshot([tmp_path])
    assert set(before) == {tmp_path / "a_step.py", tmp_path / "b_step.py"}
    (tmp_path / "a_step.py").write_text("a = 22\n")
    (tmp_path / "b_step.py").unlink()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c_step.py").write_text("c = 1\n")
    assert changed_since(before, snapshot([tmp_path])) == {
        tmp_path / "a_step.py", tmp_path / "b_step.py", tmp_path / "sub" / "c_step.py"}


def test_edit_before_the_watches_are_armed_is_reported(tmp_path: Path) -> None:
    seen: list[Path] = []
    got = threading.Event()

    def on_change(path: Path) -> None:
        seen.append(path)
        got.set()

    watcher = StepWatcher([tmp_path], on_change)
    watcher.start()
    try:
        (tmp_path / "new_step.py").write_text("x = 1\n")  # at once: the OS watches may not exist yet
        assert got.wait(10), "the new file was never reported"
        assert tmp_path / "new_step.py" in seen
    finally:
        watcher.stop()
