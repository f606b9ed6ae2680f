"""The import contract (ARCHITECTURE rule 2, docs/architecture.md): imports point down, and no
module imports itself back through others.

A pure AST walk of ``src/pyiii``: nothing is imported or executed. Every ``import`` counts, at
module level or inside a function (a lazy import is still a dependency), except those under
``if TYPE_CHECKING:`` (annotations only, never run). ``from a.b import c`` is an edge to the
module ``a.b.c`` when it is one, else to ``a.b``; the parent packages a submodule import runs
implicitly are not edges.

Workers see core through its public API only (ARCHITECTURE rule 10): a module of a worker, of the
console or of ``pyiii.workers`` itself may import ``pyiii.core`` (the package, whose ``__init__``
is that API: ``Host`` and the values a worker handles) and no module inside it. And only the
transport may reach the engine through ``Host.engine_for_transport``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

#: Leaf utilities: modules that import nothing of pyiii but other leaves; every layer may use them.
LEAVES = frozenset({
    "pyiii._version", "pyiii.ids", "pyiii.urls", "pyiii.hosts", "pyiii.cron_expressions", "pyiii.env_vars",
    "pyiii.w3c_trace",
})
#: Leaf packages: every module in them is a leaf. ``wsio`` is the WebSocket interface that the
#: transport, the stream worker and the SDK all use; ``observe_filter`` the observer filter
#: language that the engine and the SDK both evaluate.
LEAF_PACKAGES = ("pyiii.wsio", "pyiii.observe_filter")
#: Third-party libraries only one package may import, so the rest of pyiii never depends on
#: which one carries the frames.
CONFINED = {"websockets": "pyiii.wsio", "picows": "pyiii.wsio"}
#: The composition root: builds an engine from a config and runs it (CLI, dev server). It may
#: import any layer; no layer imports it.
APP = frozenset({
    "pyiii", "pyiii.__main__", "pyiii.cli", "pyiii.engine_config", "pyiii.legacy_config", "pyiii.bind",
    "pyiii.engine_runner", "pyiii.devserver",
})
#: Package -> layer, longest prefix first. ``pyiii.workers.<name>`` (a worker) is the layer
#: ``worker``, its own; the modules directly in ``pyiii.workers`` (base class, catalog, the shared
#: event-trigger provider) are ``workers``.
PACKAGES = {
    "pyiii.protocol": "protocol",
    "pyiii.core": "core",
    "pyiii.transport": "transport",
    "pyiii.adapters": "adapters",
    "pyiii.console": "console",
    "pyiii.sdk": "sdk",
    "pyiii.steps": "steps",
    "pyiii.agent": "agent",
    "pyiii.templates": "templates",
}
#: Layer -> the layers it may import (besides itself and the leaves). A worker may import its
#: own package, never another worker's.
ALLOWED: dict[str, frozenset[str]] = {
    "leaf": frozenset(),
    "protocol": frozenset(),
    "core": frozenset({"protocol"}),
    "transport": frozenset({"core", "protocol"}),
    "adapters": frozenset({"protocol"}),
    "workers": frozenset({"core", "protocol", "adapters"}),
    "worker": frozenset({"workers", "core", "protocol", "adapters"}),
    "console": frozenset({"workers", "core", "protocol", "adapters"}),  # console is a worker
    "sdk": frozenset({"protocol"}),
    "steps": frozenset({"sdk", "protocol"}),
    "agent": frozenset(),
    "templates": frozenset({"steps", "sdk"}),  # user code, as `pyiii init` writes it
}
#: Layers that reach core only through its public API, the package ``pyiii.core``.
HOSTED = frozenset({"worker", "console", "workers"})
#: The one module of core a hosted layer may import.
CORE_API = "pyiii.core"
#: The Host's way out to the engine, for the transport's listeners (iii-worker-manager) only.
TRANSPORT_ONLY = "engine_for_transport"
#: (importing module, imported module or package) -> why this edge is right anyway.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("pyiii.transport.worker_manager", "pyiii.workers.base"):
        "iii-worker-manager is the transport's entry in the worker lifecycle: the runner starts and stops "
        "listeners like every built-in worker (last, catalog order); workers.base imports only core",
    ("pyiii.transport.manifest", "pyiii.workers.manifest"):
        "iii-worker-manager declares its catalog entry like every built-in worker, in a module of its "
        "own that the catalog imports by name; workers.manifest imports nothing of pyiii",
    ("pyiii.adapters.bridge.client", "pyiii.sdk"):
        "a bridge joins another engine as one of its workers: the worker SDK is that client (reconnects, "
        "registers again); the SDK is loaded only when a bridge starts",
    ("pyiii.console.standalone", "pyiii.sdk"):
        "`pyiii console` against a remote engine is a remote worker: it connects with the worker SDK "
        "like any other; the built-in console calls in-process and never loads the SDK",
}


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{_shown(self.path)}:{self.line}: {self.importer} imports {self.imported}"


def _shown(path: Path) -> Path:
    return path.relative_to(SRC.parent) if path.is_relative_to(SRC.parent) else path


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((SRC / "pyiii").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` bodies (their ``else`` runs)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def imports(mods: dict[str, Path]) -> Iterator[Import]:
    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skipped = _type_checking_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for target in targets:
                if target != "pyiii" and not target.startswith("pyiii."):
                    continue
                resolved = resolve(target)
                if resolved is not None and resolved != name:
                    yield Import(name, resolved, path, node.lineno)


def layer(module: str) -> str:
    if module in LEAVES or any(module == p or module.startswith(p + ".") for p in LEAF_PACKAGES):
        return "leaf"
    if module in APP:
        return "app"
    if module.startswith("pyiii.workers."):
        parts = module.split(".")
        return "worker" if (SRC / "pyiii" / "workers" / parts[2]).is_dir() else "workers"
    if module == "pyiii.workers":
        return "workers"
    for prefix in sorted(PACKAGES, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return PACKAGES[prefix]
    raise AssertionError(f"{module} belongs to no layer: add it to the table in {Path(__file__).name}")


def _worker_package(module: str) -> str:
    return ".".join(module.split(".")[:3])


def _excepted(edge: Import) -> bool:
    return any(edge.importer == importer and (edge.imported == target or edge.imported.startswith(target + "."))
               for importer, target in EXCEPTIONS)


def violations(mods: dict[str, Path]) -> list[str]:
    found = []
    for edge in imports(mods):
        src, dst = layer(edge.importer), layer(edge.imported)
        if src == "app" or dst == "leaf":
            continue
        if src == "worker" and dst == "worker":
            ok = _worker_package(edge.importer) == _worker_package(edge.imported)
        else:
            ok = src == dst or dst in ALLOWED[src]
        if not ok and not _excepted(edge):
            found.append(f"{edge}  ({src} -> {dst})")
    return list(dict.fromkeys(found))


def core_api_violations(mods: dict[str, Path]) -> list[str]:
    """Imports of a core module other than the package itself, from a hosted layer."""
    found = []
    for edge in imports(mods):
        if layer(edge.importer) in HOSTED and layer(edge.imported) == "core" and edge.imported != CORE_API:
            found.append(f"{edge}  (import it from {CORE_API})")
    return list(dict.fromkeys(found))


def transport_only_violations(mods: dict[str, Path]) -> list[str]:
    """Uses of ``Host.engine_for_transport`` outside ``pyiii.transport``."""
    found = []
    for name, path in mods.items():
        if layer(name) == "transport":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found += [f"{_shown(path)}:{node.lineno}: {name} uses Host.{TRANSPORT_ONLY}"
                  for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == TRANSPORT_ONLY]
    return found


def cycles(mods: dict[str, Path]) -> list[list[Import]]:
    """Strongly connected components of the module graph (Tarjan), each as the edges inside it."""
    graph: dict[str, dict[str, Import]] = {m: {} for m in mods}
    for edge in imports(mods):
        graph[edge.importer].setdefault(edge.imported, edge)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth is bounded by the longest import chain
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return [[e for m in c for t, e in graph[m].items() if t in c] for c in components]


def confined_imports(mods: dict[str, Path], root: Path = SRC) -> list[str]:
    """``file:line`` of every import of a :data:`CONFINED` library outside its package (every
    import counts here, TYPE_CHECKING ones too: the types would tie the code to the library)."""
    found = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                owner = CONFINED.get(target.partition(".")[0])
                if owner is not None and not (name == owner or name.startswith(owner + ".")):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {name} imports {target} "
                                 f"(only {owner} may)")
    return found


def test_websocket_libraries_are_imported_only_by_wsio() -> None:
    found = confined_imports(modules())
    assert not found, "WebSocket library imported outside pyiii.wsio:\n" + "\n".join(found)


def test_the_confinement_rule_catches_an_import(tmp_path: Path) -> None:
    """A lazy import outside wsio is reported with file:line; the same import inside is fine."""
    outside = tmp_path / "pyiii" / "transport" / "x.py"
    inside = tmp_path / "pyiii" / "wsio" / "y.py"
    for path in (outside, inside):
        path.parent.mkdir(parents=True)
    outside.write_text("import json\n\ndef f():\n    from websockets.asyncio.server import serve\n")
    inside.write_text("import picows\nfrom websockets import connect\n")
    found = confined_imports({"pyiii.transport.x": outside, "pyiii.wsio.y": inside}, root=tmp_path)
    assert found == ["pyiii/transport/x.py:4: pyiii.transport.x imports websockets.asyncio.server "
                     "(only pyiii.wsio may)"]


def test_every_module_has_a_layer() -> None:
    for module in modules():
        layer(module)


def test_imports_point_down() -> None:
    found = violations(modules())
    assert not found, "imports against the layering (see docs/architecture.md):\n" + "\n".join(found)


def test_workers_use_only_the_public_api_of_core() -> None:
    found = core_api_violations(modules()) + transport_only_violations(modules())
    assert not found, "workers reach into core (see pyiii/core/__init__.py, the API):\n" + "\n".join(found)


def test_the_core_api_rule_flags_a_worker_that_imports_the_engine(tmp_path: Path) -> None:
    """The rule itself: a worker's engine import and its use of the transport's way out are
    reported with file and line; the package import, a TYPE_CHECKING import and the transport's
    own use are not."""
    files = {
        "pyiii.core": "",
        "pyiii.core.engine": "",
        "pyiii.workers.state.worker": "from pyiii.core import Host\nfrom pyiii.core.engine import Engine\n"
                                      "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                      "    from pyiii.core.engine import Engine\n",
        "pyiii.console.worker": "def f(host):\n    return host.engine_for_transport\n",
        "pyiii.transport.worker_manager": "def f(host):\n    return host.engine_for_transport\n",
    }
    mods = {}
    for name, text in files.items():
        path = tmp_path.joinpath(*name.split("."))
        path = path / "__init__.py" if name == "pyiii.core" else path.with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        mods[name] = path
    found = core_api_violations(mods) + transport_only_violations(mods)
    worker, console = mods["pyiii.workers.state.worker"], mods["pyiii.console.worker"]
    assert found == [f"{worker}:2: pyiii.workers.state.worker imports pyiii.core.engine  (import it from pyiii.core)",
                     f"{console}:2: pyiii.console.worker uses Host.engine_for_transport"]


def test_every_exception_is_still_needed() -> None:
    """An exception whose import is gone goes too, so the list stays the truth."""
    edges = {(e.importer, e.imported) for e in imports(modules())}
    stale = [pair for pair in EXCEPTIONS
             if not any(src == pair[0] and (dst == pair[1] or dst.startswith(pair[1] + ".")) for src, dst in edges)]
    assert not stale, f"exceptions no longer used, remove them: {stale}"


def test_no_import_cycles() -> None:
    found = cycles(modules())
    assert not found, "import cycles (TYPE_CHECKING imports excluded):\n" + "\n\n".join(
        "\n".join(str(e) for e in component) for component in found)


def test_the_walk_sees_lazy_relative_and_type_checking_imports(tmp_path: Path) -> None:
    """The walk itself: a lazy import counts, a TYPE_CHECKING one does not, relative ones resolve."""
    root = tmp_path / "pyiii"
    files = {
        "pyiii": "",
        "pyiii.sdk": "from .a import x\n",
        "pyiii.sdk.a": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pyiii.core import e\n"
                       "def f():\n    from .. import cli\n",
        "pyiii.core": "",
        "pyiii.cli": "",
    }
    mods = {}
    for name, text in files.items():
        path = root.joinpath(*name.split(".")[1:], "__init__.py") if name in ("pyiii", "pyiii.sdk", "pyiii.core") \
            else root.joinpath(*name.split(".")[1:]).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        mods[name] = path
    edges = {(e.importer, e.imported, e.line) for e in imports(mods)}
    assert edges == {("pyiii.sdk", "pyiii.sdk.a", 1), ("pyiii.sdk.a", "pyiii.cli", 5)}
