"""``iii-exec`` config (spec/workers.md §12, extended: argv lists, debounce, restart policy)."""

from __future__ import annotations

import msgspec

from pyiii.workers.exec.argv_check import split_argv_problem


class ExecConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    #: ``false`` runs nothing: with ``${VAR:true}`` a script can switch an entry off (the
    #: example's Node worker on a machine without Node).
    enabled: bool = True
    #: Commands run in order; each but the last must exit 0. A string runs with ``sh -c``;
    #: a list is an argv run without a shell. The last one is the long-running process.
    #: Strings that read like one argv split over lines are refused (argv_check.py).
    exec: list[str | list[str]] = []
    #: Globs (relative to ``cwd``) whose changes restart the pipeline, e.g. ``src/**/*.py``.
    watch: list[str] = []
    #: Changes closer together than this restart once.
    debounce_ms: int = 200
    #: Restart the long-running process when it exits on its own (the reference does not).
    restart_on_exit: bool = True
    restart_backoff_ms: int = 500
    restart_backoff_max_ms: int = 30_000
    #: SIGTERM, then SIGKILL after this long.
    stop_grace_ms: int = 3_000
    cwd: str | None = None
    env: dict[str, str] = {}

    def __post_init__(self) -> None:
        # At config load, so the engine refuses to start instead of running `-m` as a command.
        problem = split_argv_problem(self.exec)
        if problem is not None:
            raise ValueError(problem)
