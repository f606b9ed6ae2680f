"""Workers of the official Python SDK (``iii``) connected by a test, and shut down after it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any


def shut(worker: Any) -> None:
    """Shut a worker down once (the official SDK hangs on a second ``shutdown``); a worker whose
    engine is already gone may raise, which teardown does not care about."""
    if getattr(worker, "_test_stopped", False):
        return
    worker._test_stopped = True
    with contextlib.suppress(Exception):
        worker.shutdown()


@contextlib.contextmanager
def official_workers(default_name: str) -> Iterator[Callable[..., Any]]:
    """``connect(url, name=default_name)`` -> a connected worker; every one is shut on exit."""
    from iii import InitOptions, register_worker

    workers: list[Any] = []

    def connect(url: str, name: str = default_name) -> Any:
        worker = register_worker(url, InitOptions(worker_name=name))
        workers.append(worker)
        return worker

    try:
        yield connect
    finally:
        for worker in workers:
            shut(worker)
