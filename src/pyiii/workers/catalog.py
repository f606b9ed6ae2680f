"""Every built-in worker pyiii ships, by config name. Imported lazily: a worker that is not
configured costs nothing at start-up."""

from __future__ import annotations

import importlib
from typing import Final

from pyiii.workers.base import BuiltinWorker

#: canonical name -> "module:Class". Workers start in this order, listeners last, so that
#: everything a worker may call exists before the first worker connects.
BUILTINS: Final[dict[str, str]] = {
    "configuration": "pyiii.workers.configuration.worker:ConfigurationWorker",
    "iii-engine-functions": "pyiii.workers.engine_functions.worker:EngineFunctionsWorker",
    "iii-observability": "pyiii.workers.observability.worker:ObservabilityWorker",
    "iii-state": "pyiii.workers.state.worker:StateWorker",
    "iii-stream": "pyiii.workers.stream.worker:StreamWorker",
    "iii-worker-manager": "pyiii.transport.worker_manager:WorkerManager",
    "iii-queue": "pyiii.workers.queue.worker:QueueWorker",
    "iii-pubsub": "pyiii.workers.pubsub.worker:PubsubWorker",
    "iii-cron": "pyiii.workers.cron.worker:CronWorker",
    "iii-exec": "pyiii.workers.exec.worker:ExecWorker",
    "iii-http": "pyiii.workers.http.worker:HttpWorker",
    "iii-http-functions": "pyiii.workers.http_functions.worker:HttpFunctionsWorker",
    "iii-cluster": "pyiii.workers.cluster.worker:ClusterWorker",
    "iii-bridge": "pyiii.workers.bridge.worker:BridgeWorker",
    "iii-console": "pyiii.console.worker:ConsoleWorker",
}

#: Workers whose class says ``mandatory`` / ``needs_config``, kept here so that building the
#: config does not import every worker to read one flag (tests check these match the classes).
MANDATORY: Final[frozenset[str]] = frozenset(
    {"configuration", "iii-engine-functions", "iii-observability", "iii-worker-manager"})
NEEDS_CONFIG: Final[frozenset[str]] = frozenset({"iii-exec", "iii-cluster", "iii-bridge", "iii-console"})

#: Trigger type -> the built-in worker that provides it (``steps`` and SDK workers bind these; the
#: engine names the worker to add when a binding waits for a missing one). Tests check that
#: each worker really registers the types listed for it.
TRIGGER_TYPES: Final[dict[str, str]] = {
    "http": "iii-http",
    "cron": "iii-cron",
    "durable:subscriber": "iii-queue",
    "queue": "iii-queue",
    "state": "iii-state",
    "stream": "iii-stream",
    "stream:join": "iii-stream",
    "stream:leave": "iii-stream",
    "subscribe": "iii-pubsub",
    "log": "iii-observability",
    "trace": "iii-observability",
    "configuration": "configuration",
}

#: Extra spellings accepted in config.yaml (the 0.22 docs renamed ``iii-x`` to ``x``).
ALIASES: Final[dict[str, str]] = {
    "engine-functions": "iii-engine-functions",
    "worker-manager": "iii-worker-manager",
    "iii-configuration": "configuration",
}


def canonical(name: str) -> str | None:
    if name in BUILTINS:
        return name
    target = ALIASES.get(name)
    if target is None and not name.startswith("iii-") and f"iii-{name}" in BUILTINS:
        target = f"iii-{name}"
    return target


def provider_of(trigger_type: str) -> str | None:
    """The built-in worker that provides ``trigger_type``, if one does."""
    return TRIGGER_TYPES.get(trigger_type)


def load(kind: str) -> type[BuiltinWorker]:
    module_name, _, class_name = BUILTINS[kind].partition(":")
    cls: type[BuiltinWorker] = getattr(importlib.import_module(module_name), class_name)
    assert issubclass(cls, BuiltinWorker)
    return cls


def start_rank(kind: str) -> int:
    order = list(BUILTINS)
    if kind == "iii-worker-manager":
        return len(order) + 1
    if kind == "iii-exec":  # the app's processes start once the listener accepts them
        return len(order) + 2
    return order.index(kind) if kind in order else len(order)
