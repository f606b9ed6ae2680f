"""The ``pyiii`` command: start the engine from ./config.yaml (else ./iii-config.yaml, else the
built-in defaults)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from pyiii import wsio
from pyiii._version import __version__
from pyiii.bind import PortFlags, apply_expose_errors, apply_host, apply_ports
from pyiii.engine_config import ConfigError, EngineConfig, find_default, load, migrate


def _setup_logging(level: str) -> None:
    fmt = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO), format=fmt, datefmt="%H:%M:%S", stream=sys.stderr
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("picows").setLevel(logging.WARNING)  # it logs every connection at INFO
    # watchfiles logs every change at debug level; a watched log file would feed itself.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)


HOST_HELP = ("address every listener binds whose config names no host (worker, HTTP, stream ports and the "
             "console; default 127.0.0.1, e.g. 0.0.0.0 to serve other machines)")


PORT_HELP = {
    "port": "port of the main worker listener (default 49134)",
    "http_port": "iii-http's port (default 3111)",
    "stream_port": "iii-stream's port (default 3112)",
    "console_port": "the console's port (default $III_CONSOLE_PORT or 3113)",
    "port_offset": "add N to every port (config.yaml's or the default) that no other flag sets, e.g. 10: "
                   "49144, 3121, 3122, 3123 - to run a second project next to the first",
}


def _add_port_flags(parser: argparse.ArgumentParser, default: object) -> None:
    """The port flags, on ``pyiii`` (default None) and on ``dev``/``start`` (SUPPRESS, so that a value
    given before the subcommand stays). A flag wins over config.yaml."""
    parser.add_argument("-p", "--port", type=int, default=default, metavar="N", help=PORT_HELP["port"])
    parser.add_argument("--http-port", type=int, default=default, metavar="N", help=PORT_HELP["http_port"])
    parser.add_argument("--stream-port", type=int, default=default, metavar="N", help=PORT_HELP["stream_port"])
    parser.add_argument("--console-port", type=int, default=default, metavar="N", help=PORT_HELP["console_port"])
    parser.add_argument("--port-offset", type=int, default=default if default is not None else 0, metavar="N",
                        help=PORT_HELP["port_offset"])


def port_flags(args: argparse.Namespace) -> PortFlags:
    return PortFlags(port=args.port, http_port=args.http_port, stream_port=args.stream_port,
                     console_port=args.console_port, offset=args.port_offset)


async def run_engine(config: EngineConfig, *, grace: float = 10.0) -> int:
    from pyiii.engine_runner import InProcessEngine, serve

    return await serve(InProcessEngine(config), grace=grace)


def _run(coro: object) -> int:
    try:
        import uvloop

        return int(uvloop.run(coro))  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is a dependency, but stay usable without
        return int(asyncio.run(coro))  # type: ignore[arg-type]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyiii", description="The iii engine, in Python.")
    parser.add_argument("--version", action="version", version=f"pyiii {__version__}")
    parser.add_argument("-c", "--config", type=Path, help="config file (default: config.yaml, else iii-config.yaml)")
    _add_port_flags(parser, None)
    parser.add_argument("--host", default=None, help=HOST_HELP)
    parser.add_argument(
        "--log-level", default=os.environ.get("PYIII_LOG_LEVEL", "info"), choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to drain in-flight work on shutdown")
    _add_subcommands(parser)
    return parser


def _add_subcommands(parser: argparse.ArgumentParser) -> None:
    """``dev``/``start``/``create``; with no subcommand ``pyiii`` starts the engine as before."""
    sub = parser.add_subparsers(dest="command", metavar="{dev,start,console,create,config}")
    for name, help_text in (
        ("dev", "run a project: engine, console and its steps, applying edits of steps and config.yaml as they are "
                "saved"),
        ("start", "run a project like `dev`, without watching files"),
    ):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("project", nargs="?", type=Path, default=Path("."), help="project folder (default: .)")
        # SUPPRESS keeps values given before the subcommand (`pyiii -p 1 dev`).
        cmd.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS,
                         help="config file (default: <project>/config.yaml, else iii-config.yaml, else all built-ins)")
        _add_port_flags(cmd, argparse.SUPPRESS)
        cmd.add_argument("--host", default=argparse.SUPPRESS, help=HOST_HELP)
        cmd.add_argument("--log-level", default=argparse.SUPPRESS, choices=["debug", "info", "warning", "error"])
        cmd.add_argument("--steps-in", choices=["thread", "process"], default="thread",
                         help="run the steps worker in this process (default) or a child process")
    console = sub.add_parser("console", help="serve the web console against a running engine",
                             description="serve the web console against a running engine")
    console.add_argument("--engine", default=os.environ.get("III_URL", "ws://127.0.0.1:49134"),
                         help="the engine's worker WebSocket (default: $III_URL or ws://127.0.0.1:49134)")
    console.add_argument("--port", type=int, default=3113, help="console port (default 3113)")
    console.add_argument("--host", default="127.0.0.1", help="console host (default 127.0.0.1)")
    console.add_argument("--token", default=os.environ.get("III_CONSOLE_TOKEN") or None,
                         help="require this token (default: $III_CONSOLE_TOKEN; generated when --host is not loopback)")
    console.add_argument("--allowed-host", action="append", default=[], dest="allowed_hosts",
                         help="a host name the console answers to besides loopback names and IPs (repeatable)")
    console.add_argument("--http-port", type=int, default=None, help="the engine's iii-http port (default 3111)")
    console.add_argument("--ws-port", type=int, default=None, help="the engine's iii-stream port (default 3112)")
    create = sub.add_parser("create", help="scaffold a new project", description="scaffold a new project")
    create.add_argument("name", help="folder to create")
    create.add_argument("--force", action="store_true", help="write into an existing non-empty folder")
    _add_config_command(sub)


def _add_config_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``pyiii config migrate [file]``: a legacy (iii ≤ 0.10 ``modules:``) file in the ``workers:`` format."""
    config = sub.add_parser("config", help="config file tools", description="config file tools")
    tools = config.add_subparsers(dest="config_command", metavar="{migrate}", required=True)
    migrate_cmd = tools.add_parser(
        "migrate", help="print a config file in the workers: format (a legacy modules: file translated)",
        description="print a config file in the workers: format: a legacy (iii <= 0.10) modules:/class: file "
                    "translated, ${VAR:default} kept; a current file unchanged")
    migrate_cmd.add_argument("file", nargs="?", type=Path,
                             help="default: ./config.yaml, else ./iii-config.yaml")


def _config_migrate(args: argparse.Namespace) -> int:
    path = args.file or find_default()
    if path is None:
        print("pyiii: no config.yaml or iii-config.yaml here; name the file to migrate", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(migrate(path, version=__version__))
    except ConfigError as exc:
        print(f"pyiii: config error: {exc}", file=sys.stderr)
        return 2
    return 0


def _run_project(args: argparse.Namespace) -> int:
    from pyiii.devserver import project_config, run_project

    project = args.project.resolve()
    if not project.is_dir():
        print(f"pyiii: {project} is not a folder", file=sys.stderr)
        return 2
    config_path = args.config.resolve() if args.config is not None else None
    flags = port_flags(args)
    dev = args.command == "dev"

    def build() -> EngineConfig:  # again on each config.yaml edit under `dev`
        config = project_config(project, config_path, __version__)
        apply_ports(config, flags)
        apply_host(config, args.host)
        apply_expose_errors(config, dev)
        return config

    try:
        config = build()
    except ConfigError as exc:
        print(f"pyiii: config error: {exc}", file=sys.stderr)
        return 2
    os.chdir(project)  # relative paths in step code and config mean the project folder
    pinned = frozenset(flags.explicit())  # a port given by a flag is never moved
    return _run(run_project(project, config, watch=dev, steps_in=args.steps_in, grace=args.grace,
                            build_config=build, auto_ports=dev, pinned_ports=pinned, config_path=config_path))


def _create(args: argparse.Namespace) -> int:
    from pyiii.steps.scaffold import ScaffoldError, create_project

    try:
        target = create_project(Path(args.name), force=args.force)
    except ScaffoldError as exc:
        print(f"pyiii: {exc}", file=sys.stderr)
        return 2
    print(f"created {target}\n\n  cd {args.name}\n  pyiii dev\n\nthen: curl -X POST localhost:3111/todos "
          "-H 'content-type: application/json' -d '{\"title\": \"try pyiii\"}'\n"
          "      curl localhost:3111/todos\n"
          "      open http://localhost:3113/   (the console)\n"
          "tests: pip install pytest httpx && pytest   (own ports and data: fine while pyiii dev runs)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "create":
        return _create(args)
    _setup_logging(args.log_level)
    try:
        wsio.backend_name()  # a misspelt PYIII_WS_BACKEND is a clear error now, not a traceback later
    except ValueError as exc:
        print(f"pyiii: {exc}", file=sys.stderr)
        return 2
    if args.command == "config":
        return _config_migrate(args)
    if args.command in ("dev", "start"):
        return _run_project(args)
    if args.command == "console":
        from pyiii.console.standalone import run_console

        return _run(run_console(args.engine, host=args.host, port=args.port, http_port=args.http_port,
                                ws_port=args.ws_port, token=args.token, allowed_hosts=args.allowed_hosts))
    try:
        config = load(args.config, version=__version__)
    except ConfigError as exc:
        print(f"pyiii: config error: {exc}", file=sys.stderr)
        return 2
    apply_ports(config, port_flags(args))
    apply_host(config, args.host)
    apply_expose_errors(config, False)
    return _run(run_engine(config, grace=args.grace))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
