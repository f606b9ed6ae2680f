#!/usr/bin/env python3
"""Rewrite built-in worker code written against ``Engine`` to the narrow ``pyiii.core.Host``.

For merging a branch that still has ``self.engine.functions.get(...)``, ``engine.invoker.spawn``,
``from pyiii.core.triggers import Binding`` ... into code where workers get a Host (issue #17
item 1). Idempotent; it edits the files given (default: every worker, the console and the worker
manager) in place, and moves a worker class's ``kind``/``aliases``/``mandatory``/``needs_config``
to ``manifest = MANIFEST``. What it cannot rewrite mechanically, mypy, ruff (import order: run
``ruff check --fix``) and tests/unit/test_import_contract.py then point at (a hook assignment
spread over lines, a name core does not export yet).

    python scripts/migrate_to_host.py [FILE ...]     (from the repository root)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: Run from the repository root.
ROOT = Path("src") / "pyiii"
CORE_MODULES = "errors|functions|triggers|spans|peer|channels|tracecontext|health"

#: (pattern, replacement), applied in order to every line (re.M).
RULES: list[tuple[str, str]] = [
    # imports: workers see core through its package only
    (r"from pyiii\.core\.engine import Engine\b", "from pyiii.core import Host"),
    (r"from pyiii\.core import errors as E\b", "from pyiii.core import error_codes as E"),
    (rf"from pyiii\.core\.({CORE_MODULES}) import ", "from pyiii.core import "),
    # the object and its type
    (r"\b(self|rt|worker)\.engine\b", r"\1.host"),
    (r"\bengine: Engine\b", "host: Host"),
    (r": Engine\b", ": Host"),
    (r"super\(\)\.__init__\(engine,", "super().__init__(host,"),
    (r"self\.host = engine\b", "self.host = host"),
    (r"\b(engine|eng) = self\.host\b", "host = self.host"),
    # registries and hooks: named Host methods and read-only views
    (r"\.invoker\.spawn\(", ".spawn("),
    (r"\.invoker\.observers\.append\(", ".add_call_observer("),
    (r"\.triggers\.live\b", ".bindings"),
    (r"\.triggers\.types\b", ".trigger_types"),
    (r"\b(host|eng|engine)\.peers\b", r"\1.connected_workers"),
    (r"\.channels\.create\(", ".create_channel("),
    (r"\.channels\.finish\(", ".finish_channel("),
    (r"\.channels\.sweep\(\)", ".sweep_channels()"),
    (r"\.functions\.on_change\(", ".on_functions_changed("),
    (r"\.health\.report\(\)", ".health_report()"),
    (r"\.health_checks\[(.+?)\] = (.+)$", r".add_health_check(\1, \2)"),
    (r"\.before_shutdown\.append\(", ".add_shutdown_step("),
    (r"\.telemetry_sink = (?!None)(.+)$", r".set_frame_sink(\1)"),
    (r"\.http_function_factory = (?!None)(.+)$", r".set_http_function_factory(\1)"),
    # a local or parameter still named engine that holds the host
    (r"\beng\.", "host."),
    (r"\bengine\.(version|add_in_process_worker|functions|create_channel|finish_channel|call_for|fire|call|"
     r"tracer|in_process_workers|bindings|trigger_types|connected_workers|spawn|register_function|"
     r"register_trigger_type|register_trigger|unregister_trigger|call_void)\b", r"host.\1"),
    (r"\((engine|eng)([,)])", r"(host\2"),
    (r", (engine|eng)([,)])", r", host\2"),
]


def targets(argv: list[str]) -> list[Path]:
    if argv:
        return [Path(a) for a in argv]
    found = [*(ROOT / "workers").rglob("*.py"), *(ROOT / "console").rglob("*.py"),
             ROOT / "transport" / "worker_manager.py"]
    return [p for p in found if p.name != "proxy.py"]  # console/proxy.py: ``engine`` is a WebSocket there


#: The flags a worker class used to declare itself; they now come from its package's MANIFEST.
_FLAG = re.compile(r"^    (kind|aliases|mandatory|needs_config) = .*\n", re.M)


def declare_manifest(path: Path, text: str) -> str:
    """``kind = ...`` & co. in a ``BuiltinWorker`` class become ``manifest = MANIFEST``, imported
    from the worker's package (whose ``__init__.py`` must hold it)."""
    cls = re.search(r"^class \w+\(BuiltinWorker\):\n", text, re.M)
    if cls is None or not _FLAG.search(text, cls.end()):
        return text
    head, body = text[: cls.end()], text[cls.end():]
    first = _FLAG.search(body)
    assert first is not None
    body = body[: first.start()] + "    manifest = MANIFEST\n" + _FLAG.sub("", body[first.start():])
    parts = path.resolve().with_suffix("").parts
    parts = parts[len(parts) - 1 - parts[::-1].index("pyiii"):]  # from the last "pyiii" on
    package = "pyiii.transport.manifest" if parts[-1] == "worker_manager" else ".".join(parts[:-1])
    base = "from pyiii.workers.base import"
    head = head.replace(base, f"from {package} import MANIFEST\n{base}", 1)
    return head + body


def migrate(path: Path, text: str) -> str:
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text, flags=re.M)
    return declare_manifest(path, text)


def main(argv: list[str]) -> int:
    for path in targets(argv):
        before = path.read_text(encoding="utf-8")
        after = migrate(path, before)
        if after != before:
            path.write_text(after, encoding="utf-8")
            print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
