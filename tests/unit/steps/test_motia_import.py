"""``import motia`` in the steps runner: pyiii's Motia API when the real package is absent, the
real package whenever it is importable. Each case runs in a fresh interpreter (``sys.modules``
and ``sys.meta_path`` are process-wide)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

#: spec/legacy-config-and-motia.md §B.2, both columns.
MOTIA_NAMES = """
http api queue cron state stream step StepDefinition StepBuilder multi_trigger_step MultiTriggerStepBuilder
Motia ApiRequest ApiResponse MotiaHttpArgs MotiaHttpRequest MotiaHttpResponse ChannelReader ChannelWriter
FlowContext ApiMiddleware ApiRouteMethod ApiTrigger QueueTrigger CronTrigger StateTrigger StreamTrigger
TriggerConfig StepConfig Step Enqueue Enqueuer QueryParam TriggerInfo TriggerCondition TriggerInput
StateTriggerInput StreamEvent StreamTriggerInput StreamConfig StreamSubscription StreamAuthInput
StreamAuthResult Stream StateManager stateManager enqueue logger is_api_trigger is_queue_trigger
is_cron_trigger is_state_trigger is_stream_trigger is_api_step is_queue_step is_cron_step is_state_step
is_stream_step get_api_triggers get_queue_triggers get_cron_triggers get_state_triggers get_stream_triggers
generate_step_id setup_step_endpoint schema_to_json_schema get_instance init_iii tracing
""".split()

FAKE_MOTIA = """
REAL = True
def http(method, path, **kw):
    return {"type": "http", "method": method, "path": "/real" + path}
"""


def run(code: str, extra_path: Path | None = None) -> str:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[3] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, *([str(extra_path)] if extra_path else [])])
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def fake_motia(root: Path) -> Path:
    (root / "motia").mkdir()
    (root / "motia" / "__init__.py").write_text(FAKE_MOTIA)
    return root


def test_without_the_real_package_motia_is_pyiiis_api() -> None:
    out = run(f"""
        from pyiii.steps import motia_import, motia_api
        assert motia_import.install() and motia_import.install()  # idempotent
        import motia, motia.tracing, motia.types
        from motia import *
        from motia.types import FlowContext
        missing = [n for n in {MOTIA_NAMES!r} if not hasattr(motia, n)]
        assert not missing, missing
        assert motia.http is motia_api.http and motia.types.FlowContext is FlowContext
        assert motia.__pyiii__ and not motia_import.real_motia_installed()
        with motia.tracing.step_span("x"):
            pass
        print("ok", motia.http("get", "/x").method)
    """)
    assert out == "ok GET"


def test_nothing_is_installed_outside_the_runner() -> None:
    out = run("""
        import importlib.util, pyiii.steps, pyiii.steps.steps_runner
        print(importlib.util.find_spec("motia"))
    """)
    assert out == "None"


def test_an_installed_real_motia_wins(tmp_path: Path) -> None:
    out = run("""
        from pyiii.steps import motia_import
        assert motia_import.install() is False and motia_import.real_motia_installed()
        import motia
        print(motia.REAL, motia.http("GET", "/x")["path"])
    """, extra_path=fake_motia(tmp_path))
    assert out == "True /real/x"


def test_a_real_motia_that_appears_after_install_still_wins(tmp_path: Path) -> None:
    out = run(f"""
        import sys
        from pyiii.steps import motia_import
        assert motia_import.install() is True
        sys.path.append({str(fake_motia(tmp_path))!r})
        import motia
        print(getattr(motia, "REAL", False), motia_import.real_motia_installed())
    """)
    assert out == "True True"
