"""``pyiii.workers.catalog``: the static flags match the worker classes, and building a config
imports only the workers it lists (start-up time, B12)."""

from __future__ import annotations

import subprocess
import sys

from pyiii.workers import catalog


def test_static_flags_match_the_worker_classes() -> None:
    assert {k for k in catalog.BUILTINS if catalog.load(k).mandatory} == catalog.MANDATORY
    assert {k for k in catalog.BUILTINS if catalog.load(k).needs_config} == catalog.NEEDS_CONFIG


def test_a_config_imports_only_the_workers_it_starts() -> None:
    code = (
        "import sys\n"
        "from pyiii.engine_config import parse\n"
        "parse('workers:\\n  - name: iii-state\\n')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('pyiii.workers.', 'pyiii.console')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    loaded = {m.split(".")[2] for m in out if m.startswith("pyiii.workers.") and m.count(".") >= 2}
    assert not any(m.startswith("pyiii.console") for m in out)
    assert loaded <= {"base", "catalog", "state", "engine_functions", "observability",
                      "configuration", "event_triggers"}  # event_triggers: shared, not a worker
