"""Where listeners bind, and the flags that fill what a config leaves unsaid.

Every port pyiii opens (worker listeners, iii-http, iii-stream, the console) binds loopback
unless a config names a host or ``pyiii --host`` says otherwise (ARCHITECTURE rule 9): a laptop
running ``pyiii dev`` must not serve its unauthenticated worker port to the café's Wi-Fi.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from pathlib import Path

from pyiii.engine_config import EngineConfig, WorkerEntry
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


# ---------------------------------------------------------------------------------- ports

#: The flag that sets each listening worker's port (the first worker listener for ``--port``).
PORT_FLAGS = {"iii-worker-manager": "--port", "iii-http": "--http-port", "iii-stream": "--stream-port",
              "iii-console": "--console-port"}
#: Environment variables a worker's default port reads (besides whatever config.yaml uses).
PORT_ENV = {"iii-console": "III_CONSOLE_PORT"}


@dataclass(frozen=True, slots=True)
class PortFlags:
    """The port flags of ``pyiii``, ``pyiii dev`` and ``pyiii start``; ``None``: not given."""

    port: int | None = None
    http_port: int | None = None
    stream_port: int | None = None
    console_port: int | None = None
    offset: int = 0

    def explicit(self) -> dict[str, int]:
        """kind -> port for each port given by a flag."""
        given = {"iii-worker-manager": self.port, "iii-http": self.http_port, "iii-stream": self.stream_port,
                 "iii-console": self.console_port}
        return {kind: port for kind, port in given.items() if port is not None}


def port_entries(config: EngineConfig) -> list[WorkerEntry]:
    """Every configured worker that listens on a TCP port of its own."""
    return [e for e in config.workers if isinstance(getattr(e.config, "port", None), int)]


def apply_ports(config: EngineConfig, flags: PortFlags) -> None:
    """Port flags override config.yaml: an explicit flag sets that port exactly (``--port`` the first
    worker listener); ``--port-offset N`` adds N to every other listening port (0 stays 0)."""
    explicit = flags.explicit()
    set_by_flag: set[int] = set()
    for entry in port_entries(config):
        if entry.kind in explicit:
            entry.config.port = explicit.pop(entry.kind)
            set_by_flag.add(id(entry))
    for entry in port_entries(config):
        if id(entry) not in set_by_flag and flags.offset and entry.config.port:
            entry.config.port += flags.offset
    sync_console(config)


def sync_console(config: EngineConfig) -> None:
    """The console proxies to iii-http and iii-stream: follow their ports unless config.yaml names them."""
    ports = {e.kind: e.config.port for e in config.workers if e.kind in ("iii-http", "iii-stream")}
    for entry in config.workers:
        for kind, field in (("iii-http", "http_port"), ("iii-stream", "ws_port")):
            if kind in ports and hasattr(entry.config, field) and field not in entry.named:
                setattr(entry.config, field, ports[kind])


def config_place(entry: WorkerEntry) -> str:
    """``config.yaml:12``: the entry's file (relative to the working folder when inside it) and line."""
    source = entry.source or "config.yaml"
    if Path(source).is_absolute() and Path(source).is_relative_to(Path.cwd()):
        source = str(Path(source).relative_to(Path.cwd()))
    return f"{source}:{entry.line}" if entry.line else source


def how_to_move(entry: WorkerEntry) -> str:
    """The flags and variables that change ``entry``'s port, for an error message."""
    ways = []
    flag = PORT_FLAGS.get(entry.kind)
    if flag and not (entry.kind == "iii-worker-manager" and entry.entry_id != entry.kind):
        ways.append(f"{flag} N")
    ways.append("--port-offset N")
    var = entry.env.get("port") or (None if "port" in entry.named else PORT_ENV.get(entry.kind))
    if var:
        ways.append(f"${var}")
    if "port" in entry.named and entry.line:
        ways.append(f"its port in {config_place(entry)}")
    return ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else ways[0]


def port_is_free(host: str, port: int) -> bool:
    """Whether a listener could bind ``host:port`` now (with SO_REUSEADDR, like asyncio's servers)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return True  # let the real bind report it
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return False
    return True


def move_busy_ports(config: EngineConfig, pinned: frozenset[str] = frozenset(), *, tries: int = 100) -> list[str]:
    """``pyiii dev``: give each listening worker whose port is taken the next free port (not one that
    another worker uses), except workers in ``pinned`` (their port came from a flag). Returns one
    line per move, for the terminal."""
    entries = port_entries(config)
    used = {e.config.port for e in entries}
    lines = []
    for entry in entries:
        port = entry.config.port
        if not port or entry.entry_id in pinned or port_is_free(entry.config.host, port):
            continue
        for candidate in range(port + 1, min(port + 1 + tries, 65536)):
            if candidate not in used and port_is_free(entry.config.host, candidate):
                entry.config.port = candidate
                used.add(candidate)
                flag = PORT_FLAGS.get(entry.kind, "--port-offset")
                lines.append(f"port {port} is in use: {entry.entry_id} listens on {candidate} instead "
                             f"({flag} N to choose)")
                break
    if lines:
        sync_console(config)
    return lines
