"""docs/migrating-from-motia.md, followed step by step on the sample Motia project (app_py/):
its commands run as a user would type them, its code blocks are taken from the guide itself, and
after every step the project serves every route, the queue chain, state, the cron and the stream.
No motia runtime is installed (step 1 is the no-runtime path; test_runtimes.py covers the other)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.interop.motia.support import MotiaApp, check_orders
from tests.support.engine import REPO

GUIDE = REPO / "docs" / "migrating-from-motia.md"
#: The interpreter running the tests stands for the user's `python` (it has pyiii); no motia, no uv.
PATH = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])


def block(language: str, first_line: str) -> str:
    """The guide's fenced ``language`` block whose first line is ``first_line``."""
    for match in re.finditer(rf"```{language}\n(.*?)```", GUIDE.read_text(), re.S):
        if match.group(1).split("\n", 1)[0].strip() == first_line:
            return match.group(1)
    raise AssertionError(f"no ```{language} block starting {first_line!r} in {GUIDE}")


def command_lines(first_line: str) -> list[str]:
    """The commands of the guide's plain ``` block starting with ``first_line`` (comments cut)."""
    return [line.split("#", 1)[0].strip() for line in block("", first_line).splitlines() if line.strip()]


async def run_stage(tmp_path: Path, command: str | None, item: str) -> tuple[MotiaApp, list[str]]:
    """Run the project as the stage says, check everything it serves; the app and its functions."""
    project = tmp_path / "app_py"
    shutil.rmtree(project / "data", ignore_errors=True)  # each stage shows its own cron ticks and state
    app = MotiaApp("app_py", tmp_path, command=command, env={"PATH": PATH}, copy=False).start()
    try:
        await check_orders(app, item=item)
        functions = await app.functions()
    finally:
        app.stop()
    return app, functions


def pyiii(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": PATH,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "pyiii", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=True)


async def test_the_migration_guide_step_by_step(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parent / "app_py", tmp_path / "app_py",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    project = tmp_path / "app_py"

    # 1. Run the project as it is: `pyiii`, `pyiii dev`, `pyiii start` (all three: test_pyiii_runner.py).
    assert command_lines("cd my-motia-project        # iii-config.yaml, steps/*_step.py (and/or steps/*.step.ts)")[
        1:] == ["pyiii", "pyiii dev", "pyiii start"]
    app, _ = await run_stage(tmp_path, None, "one")
    assert "pyiii's Steps runner serves steps/ instead" in app.logs()

    # 2. `pyiii config migrate > config.yaml`, then `pyiii dev`.
    assert command_lines("pyiii config migrate > config.yaml") == ["pyiii config migrate > config.yaml", "pyiii dev"]
    (project / "config.yaml").write_text(pyiii("config", "migrate", cwd=project).stdout)
    app, _ = await run_stage(tmp_path, "dev", "two")
    assert "reading iii-config.yaml" not in app.logs() and "pyiii's Steps runner serves steps/ instead" in app.logs()

    # 3. Delete the Python iii-exec entry; `pyiii dev` runs the steps in its own process.
    config = yaml.safe_load((project / "config.yaml").read_text())
    config["workers"] = [w for w in config["workers"] if w["name"] != "iii-exec"]
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    app, _ = await run_stage(tmp_path, "dev", "three")
    assert "steps ready: 6 step(s), 1 stream(s)" in app.logs()  # pyiii dev's own (in-process) runner
    assert "pyiii.exec" not in app.logs()

    # 4. `from motia import` -> `from pyiii.steps import` in every step file.
    diff = block("diff", "-from motia import ApiRequest, ApiResponse, FlowContext, http, queue")
    old, new = (line[1:].split(" import")[0] for line in diff.splitlines()[:2])
    for step in (project / "steps").glob("*.py"):
        step.write_text(step.read_text().replace(f"{old} import", f"{new} import"))
        assert "motia" not in step.read_text()
    await run_stage(tmp_path, "dev", "four")

    # 5. The Stats step as a plain worker, started by an iii-exec entry.
    worker = block("python", "# workers/stats_worker.py")
    (project / "workers").mkdir()
    (project / "workers" / "stats_worker.py").write_text(worker)
    (project / "steps" / "stats_step.py").unlink()
    config = yaml.safe_load((project / "config.yaml").read_text())
    config["workers"] += yaml.safe_load(block("yaml", "- name: iii-exec"))  # "in config.yaml's workers: list"
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _, functions = await run_stage(tmp_path, "dev", "five")
    assert "stats::get" in functions and not any(f.startswith("steps::Stats::") for f in functions)
