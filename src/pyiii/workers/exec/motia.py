"""Motia's Python runner in an ``iii-exec`` command: run it, or run pyiii's Steps runner instead.

A Motia 1.0 project's ``iii-config.yaml`` starts its Python steps with an exec entry such as
``uv run motia run --dir steps`` (spec/legacy-config-and-motia.md §A.8 step 8). pyiii decides
per command, when the exec worker starts it, and says so in one log line:

* the real ``motia`` runtime is runnable in that command's environment (its interpreter imports
  ``motia.cli`` and ``iii``) → the command runs as written, and ``pyiii dev``/``start`` do not
  start their own Steps runner (every step would register twice);
* otherwise (``uv`` or ``motia`` missing, or a broken install such as motia 1.0.4rc1 with the
  newest iii-sdk) → that one command is replaced by pyiii's Steps runner on the same ``--dir``
  (``python -m pyiii.steps``), supervised, restarted on the entry's ``watch`` globs, like the
  command it replaces.

Only Motia's *Python* CLI is recognised: ``motia run|dev``, ``motia-iii run|dev``, ``uv run
[uv options] motia …``. ``npx motia dev`` (Node) and a ``motia`` on PATH that is not a Python
script run as written. Commands with shell operators (``&&``, ``|``, ``;``) are not taken apart.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

PROGRAMS = frozenset({"motia", "motia-iii"})
SUBCOMMANDS = frozenset({"run", "dev"})
SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&", ">", ">>", "<", "2>", "2>&1"})
#: ``uv run`` options that take a value (``uv run --with x motia run``).
UV_VALUE_OPTIONS = frozenset({"--with", "--with-requirements", "--python", "-p", "--project", "--directory",
                              "--package", "--extra", "--group", "--env-file", "--index", "--index-url"})
#: The probe imports what ``motia run`` imports first; a broken pairing fails here.
PROBE = "import motia.cli, motia.iii, iii"


@dataclass(frozen=True, slots=True)
class MotiaCommand:
    """A command that starts Motia's Python runner."""

    text: str
    #: ``motia`` or ``motia-iii`` as written (a path stays a path).
    program: str
    #: Run through ``uv run`` (the project's ``.venv``).
    uv: bool
    #: ``--dir`` (default ``steps``, as Motia's CLI).
    directory: str
    #: ``--watch`` was given (``motia dev --watch``).
    watch: bool


def parse(command: str | list[str]) -> MotiaCommand | None:
    """The Motia runner in ``command``, or None if it is something else."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError:
            return None
        text = command
    else:
        argv, text = list(command), shlex.join(command)
    if any(token in SHELL_OPERATORS for token in argv):
        return None
    i = 0
    while i < len(argv) and "=" in argv[i] and not argv[i].startswith("-"):  # VAR=value prefixes
        i += 1
    uv = False
    if i < len(argv) and Path(argv[i]).name == "uv":
        if i + 1 >= len(argv) or argv[i + 1] != "run":
            return None
        uv, i = True, i + 2
        while i < len(argv) and argv[i].startswith("-"):
            i += 2 if argv[i] in UV_VALUE_OPTIONS else 1
    if i >= len(argv) or Path(argv[i]).name not in PROGRAMS:
        return None
    program, rest = argv[i], argv[i + 1:]
    if not rest or rest[0] not in SUBCOMMANDS:
        return None
    directory, watch = "steps", False
    j = 1
    while j < len(rest):
        arg = rest[j]
        if arg in ("--dir", "-d") and j + 1 < len(rest):
            directory, j = rest[j + 1], j + 2
            continue
        if arg.startswith("--dir="):
            directory = arg.split("=", 1)[1]
        elif arg.startswith("-d") and len(arg) > 2 and not arg.startswith("--"):
            directory = arg[2:]
        elif arg in ("--watch", "-w"):
            watch = True
        j += 1
    return MotiaCommand(text=text, program=program, uv=uv, directory=directory, watch=watch)


def replacement(motia: MotiaCommand) -> list[str]:
    """pyiii's Steps runner on the same folder, as an argv (the exec worker sets ``III_URL``)."""
    argv = [sys.executable, "-m", "pyiii.steps", "--project", ".", "--dir", motia.directory]
    if motia.watch:
        argv.append("--watch")
    return argv


@dataclass(frozen=True, slots=True)
class Verdict:
    runnable: bool
    #: Why: the interpreter that imports motia, or what is missing.
    reason: str


async def probe(motia: MotiaCommand, cwd: str, env: dict[str, str], timeout: float = 60.0) -> Verdict:
    """Is the real ``motia`` runnable where ``motia.text`` would run?"""
    located = await asyncio.to_thread(locate, motia, cwd, env)
    if isinstance(located, Verdict):
        return located
    script, interpreter = located
    try:
        proc = await asyncio.create_subprocess_exec(
            *interpreter, "-c", PROBE, cwd=cwd, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (OSError, TimeoutError) as exc:
        return Verdict(False, f"{' '.join(interpreter)} could not import motia: {exc!r}")
    if proc.returncode == 0:
        return Verdict(True, f"{script} imports motia")
    last = (err.decode(errors="replace").strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return Verdict(False, f"the motia at {script} does not import: {last}")


def locate(motia: MotiaCommand, cwd: str, env: dict[str, str]) -> Verdict | tuple[str, list[str]]:
    """The ``motia`` script the command would run and its Python, or a verdict already."""
    path = env.get("PATH", os.defpath)
    script: str | None
    if motia.uv:
        if shutil.which("uv", path=path) is None:
            return Verdict(False, "`uv` is not installed")
        venv = uv_environment(Path(cwd), env)
        script = str(venv / "bin" / Path(motia.program).name)
        if not Path(script).exists():
            return Verdict(False, f"no `motia` in {venv} (`uv sync` installs the project's motia)")
    elif "/" in motia.program:
        script = str(Path(cwd) / motia.program)
        if not os.access(script, os.X_OK):
            script = None
    else:
        script = shutil.which(motia.program, path=path)
    if script is None:
        return Verdict(False, f"`{motia.program}` is not installed (not on PATH)")
    interpreter = _interpreter(Path(script))
    if interpreter is None:
        return Verdict(True, f"{script} is not a Python script (Node's motia?); not pyiii's to replace")
    return script, interpreter


def uv_environment(cwd: Path, env: dict[str, str]) -> Path:
    """The environment ``uv run`` runs in from ``cwd``, chosen as uv chooses it: inside a project
    (a ``pyproject.toml`` here or above) the project's (``.venv`` beside it, or
    ``UV_PROJECT_ENVIRONMENT``; an active virtualenv is ignored there); outside one the active
    virtualenv (``VIRTUAL_ENV``), else the nearest ``.venv`` here or above."""
    folders = (cwd, *cwd.parents)
    for folder in folders:
        if (folder / "pyproject.toml").is_file():
            return folder / Path(env.get("UV_PROJECT_ENVIRONMENT") or ".venv")  # an absolute one wins
    if env.get("VIRTUAL_ENV"):
        return cwd / env["VIRTUAL_ENV"]
    for folder in folders:
        if (folder / ".venv" / "pyvenv.cfg").is_file():
            return folder / ".venv"
    return cwd / ".venv"


def _interpreter(script: Path) -> list[str] | None:
    """The Python a console script runs with (its ``#!`` line), or None if it is not Python."""
    try:
        with script.open("rb") as f:
            first = f.readline(512).decode(errors="replace")
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    if not parts:
        return None
    if Path(parts[0]).name == "env":
        parts = [p for p in parts[1:] if not p.startswith("-")]
    if not parts or "python" not in Path(parts[0]).name:
        return None
    return parts
