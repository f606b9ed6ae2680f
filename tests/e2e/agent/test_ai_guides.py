"""`pyiii create` writes AGENTS.md and the rules files of common coding assistants, all pointing
to the same conventions (steps, triggers, state, streams)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GUIDES = ("CLAUDE.md", ".cursor/rules/pyiii.mdc", ".github/copilot-instructions.md")


def test_created_project_has_agents_md_and_assistant_rules(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "pyiii", "create", "helpdesk"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    project = tmp_path / "helpdesk"
    agents = (project / "AGENTS.md").read_text()
    assert agents.startswith("# AGENTS.md — how code is written in helpdesk")  # {{name}} filled in
    for topic in ("## Steps", "## State", "## Streams", "_step.py", "_stream.py", "ctx.enqueue", "ctx.state.update",
                  "ctx.streams", 'http("POST"', "queue(", "cron(", "state(scope=", "stream(", "enqueues"):
        assert topic in agents, topic
    for rel in GUIDES:
        text = (project / rel).read_text()
        assert "AGENTS.md" in text, rel
    assert (project / ".cursor/rules/pyiii.mdc").read_text().startswith("---\ndescription:")
    assert "@AGENTS.md" in (project / "CLAUDE.md").read_text()
    assert not (project / "cursor").exists() and not (project / "github").exists()


def test_agents_md_names_only_things_that_exist() -> None:
    # The guide must not teach helpers pyiii does not have.
    import pyiii.steps as steps

    for name in ("http", "queue", "cron", "state", "stream", "ApiRequest", "ApiResponse", "FlowContext"):
        assert hasattr(steps, name), name
