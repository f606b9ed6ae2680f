"""``pyiii.workers.catalog``: collected from the manifests the workers declare, one source for the
catalog and the classes; building a config imports only the workers it lists (start-up, B12)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyiii.workers
from pyiii.workers import catalog

WORKERS_DIR = Path(pyiii.workers.__file__).parent


def test_each_worker_class_takes_its_flags_from_its_own_manifest() -> None:
    for kind, manifest in catalog.MANIFESTS.items():
        cls = catalog.load(kind)
        assert cls.manifest is manifest, f"{manifest.worker} declares {cls.manifest.kind}, not {kind}"
        assert (cls.kind, cls.aliases, cls.mandatory, cls.needs_config) == (
            kind, manifest.aliases, manifest.mandatory, manifest.needs_config)


def test_every_worker_package_declares_a_manifest() -> None:
    """A worker package without one would silently be missing from the catalog."""
    packages = {p.parent.name for p in WORKERS_DIR.glob("*/worker.py")}
    declared = {m.worker.split(".")[2] for m in catalog.MANIFESTS.values() if m.worker.startswith("pyiii.workers.")}
    assert packages == declared


def test_no_two_workers_claim_the_same_name_or_trigger_type() -> None:
    manifests = catalog.collect()
    names = Counter(n for m in manifests for n in (m.kind, *m.aliases))
    types = Counter(t for m in manifests for t in m.trigger_types)
    assert [n for n, c in names.items() if c > 1] == [] and [t for t, c in types.items() if c > 1] == []


def test_start_order_keeps_the_listeners_and_the_app_processes_last() -> None:
    order = list(catalog.BUILTINS)
    assert order[:3] == ["configuration", "iii-engine-functions", "iii-observability"]
    assert order[-2:] == ["iii-worker-manager", "iii-exec"]
    assert [catalog.start_rank(k) for k in order] == sorted(catalog.start_rank(k) for k in order)


def test_a_config_imports_only_the_workers_it_starts() -> None:
    code = (
        "import sys\n"
        "from pyiii.engine_config import parse\n"
        "parse('workers:\\n  - name: iii-state\\n')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('pyiii.workers.', 'pyiii.console')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # Every worker package's __init__ (its manifest) is read; a module inside one only if it starts.
    inside = {m.split(".")[2] for m in out if m.startswith("pyiii.workers.") and m.count(".") >= 3}
    assert not any(m.startswith("pyiii.console.") for m in out)
    assert inside <= {"state", "engine_functions", "observability", "configuration"}
