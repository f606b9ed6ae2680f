"""``iii-console``: the console as a built-in worker (started by ``pyiii dev``, or listed in
config.yaml). It calls engine functions in-process; ``pyiii console`` runs the same server
against a remote engine (see :mod:`pyiii.console.standalone`)."""

from __future__ import annotations

import logging
from typing import Any

from pyiii.console import MANIFEST
from pyiii.console.caller import InProcessCaller
from pyiii.console.config import ConsoleConfig
from pyiii.console.server import ConsoleServer, engine_addresses
from pyiii.core import Host
from pyiii.workers.base import BuiltinWorker, WorkerContext

log = logging.getLogger("pyiii.console")


class ConsoleWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "The web console (functions, flows, endpoints, logs, traces, state, streams, queues)."
    config_type = ConsoleConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        cfg: ConsoleConfig = config
        self.started = False
        self.server = ConsoleServer(
            InProcessCaller(host), host=cfg.host, port=cfg.port, engine_url=context.engine_url,
            **engine_addresses(cfg.engine_host, cfg.http_port, cfg.ws_port),
            token=cfg.token, allowed_hosts=cfg.allowed_hosts, allowed_origins=cfg.allowed_origins,
            max_namespace_chars=cfg.max_namespace_chars,
        )

    async def start(self) -> None:
        try:
            await self.server.start()
        except OSError as exc:  # another project's console has the port: run without one
            log.warning("iii-console disabled: cannot listen on %s (%s); --console-port N or $III_CONSOLE_PORT "
                        "moves it", self.server.url, exc)
            return
        self.started = True
        log.info("iii-console on %s", self.server.login_url)

    async def stop(self) -> None:
        await self.server.stop()

    def endpoints(self) -> list[str]:
        return [self.server.login_url] if self.started else ["(port in use)"]
