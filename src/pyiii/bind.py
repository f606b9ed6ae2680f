"""Where listeners bind, and the flags that fill what a config leaves unsaid.

Every port pyiii opens (worker listeners, iii-http, iii-stream, the console) binds loopback
unless a config names a host or ``pyiii --host`` says otherwise (ARCHITECTURE rule 9): a laptop
running ``pyiii dev`` must not serve its unauthenticated worker port to the café's Wi-Fi.
"""

from __future__ import annotations

from pyiii.config import EngineConfig
from pyiii.hosts import connect_host


def apply_host(config: EngineConfig, host: str | None) -> None:
    """``--host``: set the host of every listener whose config does not name one."""
    if host is None:
        return
    for entry in config.workers:
        if hasattr(entry.config, "host") and "host" not in entry.named:
            entry.config.host = host
        if hasattr(entry.config, "engine_host") and "engine_host" not in entry.named:
            entry.config.engine_host = connect_host(host)  # the console reaches iii-http there


def apply_expose_errors(config: EngineConfig, expose: bool) -> None:
    """The command's default for iii-http's ``expose_errors`` where the config does not name it:
    ``pyiii dev`` shows exception text to the developer, ``pyiii start`` and plain ``pyiii``
    keep it in the logs (fail closed)."""
    for entry in config.workers:
        if hasattr(entry.config, "expose_errors") and "expose_errors" not in entry.named:
            entry.config.expose_errors = expose
