"""Shared benchmark harness (spec/benchmarks-and-faults.md §3.1).

Process start/stop with optional CPU pinning, interleaved shuffled rounds, order statistics,
ratios with the min-max of per-round ratios, a CV flag, CPU-ms per 1,000 ops from
``/proc/<pid>/stat`` summed over the pids of a system under test, peak RSS (``VmHWM``) and JSON
result writing with the versions that produced the numbers.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata as _md
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")

#: CPU of the systems under test / of the load generator in the "split" profile.
SUT_CPU = 0
LOADGEN_CPU = 1
CV_FLAG = 0.10
#: Harness rule 5: tracing off unless the benchmark is about tracing. iii-observability is
#: mandatory and, with no block in config.yaml, records every span (the spec's default), so
#: each benchmark engine config carries this entry; B14 sets its own.
TRACING_OFF: dict[str, Any] = {"name": "iii-observability", "config": {"enabled": False}}


def http_engine_config(ws_port: int, http_port: int) -> dict[str, Any]:
    """B1's engine: the worker listener and iii-http on loopback, tracing off (rule 5 above)."""
    return {"workers": [
        {"name": "iii-worker-manager", "config": {"port": ws_port, "host": "127.0.0.1"}},
        {"name": "iii-http", "config": {"port": http_port, "host": "127.0.0.1"}},
        TRACING_OFF,
    ]}


# ====================================================================== options


@dataclass(slots=True)
class RunOptions:
    """What every benchmark module's ``run(opts)`` receives."""

    quick: bool = False
    smoke: bool = False
    #: "split": SUT on CPU 0, load generator on CPU 1; "shared": no pinning.
    profile: str = "split"
    rounds: int | None = None
    seed: int = 1
    verbose: bool = True
    #: load-generator client: "picows" or "websockets" (see common/wsclient.py)
    client: str = "picows"
    #: library of the B2-B4 echo worker behind the engine and the relays: "picows" or "websockets"
    echo_worker: str = "picows"

    @property
    def n_rounds(self) -> int:
        if self.rounds is not None:
            return self.rounds
        return 1 if self.smoke else 3 if self.quick else 5

    def duration(self, full: float, quick: float) -> float:
        """Seconds one measurement cell lasts in this mode."""
        return 1.0 if self.smoke else quick if self.quick else full

    def pick(self, full: Any, quick: Any, smoke: Any | None = None) -> Any:
        if self.smoke:
            return quick if smoke is None else smoke
        return quick if self.quick else full

    @property
    def sut_cpus(self) -> str | None:
        return str(SUT_CPU) if self.profile == "split" and _ncpu() >= 2 else None

    @property
    def loadgen_cpus(self) -> str | None:
        return str(LOADGEN_CPU) if self.sut_cpus is not None else None


def _ncpu() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pin_self(opts: RunOptions) -> None:
    """Put the orchestrator (the load generator) on its CPU in the split profile."""
    if opts.profile == "split" and _ncpu() >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {LOADGEN_CPU})


def log(opts: RunOptions, msg: str) -> None:
    if opts.verbose:
        print(msg, file=sys.stderr, flush=True)


# ====================================================================== processes


# One free_port / wait_port for tests and benchmarks: tests/support/engine.py's (bench scripts
# already import tests.support; the repository root is on sys.path for it).
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))
from tests.support.engine import free_port, wait_port  # noqa: E402

__all__ = ["free_port", "wait_port"]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start(name: str, cmd: Sequence[str], *, cpus: str | None, port: int | None = None,
          env: dict[str, str] | None = None, cwd: Path | None = None) -> Proc:
    """Start ``cmd`` (pinned with ``taskset -c cpus`` if given) and wait for ``port``."""
    full = ["taskset", "-c", cpus, *cmd] if cpus is not None else list(cmd)
    log_file = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
    penv = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    popen = subprocess.Popen(full, stdout=log_file, stderr=subprocess.STDOUT, env=penv,
                             cwd=str(cwd) if cwd else tempfile.gettempdir(), start_new_session=True)
    log_file.close()
    proc = Proc(name, popen, Path(log_file.name))
    if port is not None:
        try:
            wait_port(port, proc=popen)
        except Exception as exc:
            tail = proc.tail()
            stop(proc)
            raise RuntimeError(f"{name} did not start: {exc}\n{tail}") from None
    return proc


def stop(proc: Proc, timeout: float = 5.0) -> None:
    if proc.alive():
        with contextlib.suppress(ProcessLookupError):
            proc.popen.send_signal(signal.SIGTERM)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.popen.kill()
            proc.popen.wait(timeout)
    with contextlib.suppress(OSError):
        proc.log_path.unlink()


def children(pid: int) -> list[int]:
    """Direct and indirect children of ``pid`` (the SUT may fork workers)."""
    out: list[int] = []
    try:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == pid:
                    child = int(entry.name)
                    out.append(child)
                    out.extend(children(child))
    except OSError:
        pass
    return out


def cpu_ms(pids: Iterable[int]) -> float:
    """CPU of ``pids`` and of their children that have exited (utime + stime + cutime + cstime) in
    milliseconds; dead pids count 0. A SUT that spawns a process per request (motia's TypeScript
    steps) is charged for those processes."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime (stat fields 14-17)
    return ticks * 1000.0 / CLK_TCK


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def vm_hwm_kb(pid: int) -> int:
    return _status_kb(pid, "VmHWM")


def vm_rss_kb(pid: int) -> int:
    return _status_kb(pid, "VmRSS")


def reset_hwm(pid: int) -> bool:
    """Reset the peak-RSS counter (``echo 5 > /proc/pid/clear_refs``); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Sut:
    """A system under test: one or more processes whose CPU is summed."""

    name: str
    procs: list[Proc] = field(default_factory=list)
    url: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def pids(self) -> list[int]:
        pids: list[int] = []
        for p in self.procs:
            pids.append(p.pid)
            pids.extend(children(p.pid))
        return pids

    def cpu_ms(self) -> float:
        return cpu_ms(self.pids())

    def peak_rss_kb(self) -> int:
        return sum(vm_hwm_kb(pid) for pid in self.pids())

    def check_alive(self) -> None:
        for p in self.procs:
            if not p.alive():
                raise RuntimeError(f"{self.name}: process {p.name} died (rc={p.popen.returncode})\n{p.tail()}")

    def stop(self) -> None:
        for p in reversed(self.procs):
            stop(p)


@contextlib.contextmanager
def suts_running(factories: Sequence[Callable[[], Sut]]) -> Iterator[list[Sut]]:
    """Start every SUT, yield them, stop them all whatever happens."""
    started: list[Sut] = []
    try:
        for factory in factories:
            started.append(factory())
        yield started
    finally:
        for sut in started:
            sut.stop()


# ---------------------------------------------------------------- the common SUTs of B2-B4


def start_engine(opts: RunOptions, name: str = "pyiii") -> tuple[Proc, int]:
    port = free_port()
    proc = start(name, [PYTHON, str(BENCH_DIR / "common" / "engine_main.py"), "--port", str(port)],
                 cpus=opts.sut_cpus, port=port)
    return proc, port


#: echo worker script per WebSocket library (the same registrations and answers)
ECHO_WORKERS = {"websockets": "echo_worker.py", "picows": "echo_worker_picows.py"}


def start_echo_worker(opts: RunOptions, url: str, *, functions: int = 1, prefix: str = "bench::echo",
                      name: str = "echo-worker", on_loadgen_cpu: bool = False) -> Proc:
    cmd = [PYTHON, str(BENCH_DIR / "common" / ECHO_WORKERS[opts.echo_worker]), url, "--functions", str(functions),
           "--prefix", prefix]
    return start(name, cmd, cpus=opts.loadgen_cpus if on_loadgen_cpu else opts.sut_cpus)


def engine_sut(opts: RunOptions, *, functions: int = 1, prefix: str = "bench::echo", name: str = "pyiii") -> Sut:
    engine, port = start_engine(opts, name)
    sut = Sut(name, [engine], url=f"ws://127.0.0.1:{port}/", info={"port": port, "functions": functions})
    try:
        sut.procs.append(start_echo_worker(opts, f"ws://127.0.0.1:{port}/", functions=functions, prefix=prefix))
    except Exception:
        sut.stop()
        raise
    return sut


def relay_sut(opts: RunOptions, name: str = "relay", script: str = "relay.py") -> Sut:
    """The two-hop "ideal engine" (``relay.py`` on websockets, ``relay_picows.py`` on picows)
    with the echo worker behind it."""
    port = free_port()
    relay = start(name, [PYTHON, str(BENCH_DIR / "baselines" / script), "--port", str(port)],
                  cpus=opts.sut_cpus, port=port)
    sut = Sut(name, [relay], url=f"ws://127.0.0.1:{port}/", info={"port": port})
    try:
        sut.procs.append(start_echo_worker(opts, f"ws://127.0.0.1:{port}/worker"))
    except Exception:
        sut.stop()
        raise
    return sut


def raw_echo_sut(opts: RunOptions, name: str = "raw_echo", script: str = "raw_echo.py") -> Sut:
    """The one-hop floor (``raw_echo.py`` on websockets, ``raw_echo_picows.py`` on picows)."""
    port = free_port()
    proc = start(name, [PYTHON, str(BENCH_DIR / "baselines" / script), "--port", str(port)],
                 cpus=opts.sut_cpus, port=port)
    return Sut(name, [proc], url=f"ws://127.0.0.1:{port}/", info={"port": port})


# ====================================================================== rounds and statistics


def shuffled(items: Sequence[Any], rng: random.Random) -> list[Any]:
    out = list(items)
    rng.shuffle(out)
    return out


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted values, q in [0, 100]."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def cv(values: Sequence[float]) -> float:
    """Coefficient of variation of per-round values (0 with fewer than 2 rounds)."""
    vals = [v for v in values if v == v]
    if len(vals) < 2:
        return 0.0
    mean = statistics.fmean(vals)
    return statistics.pstdev(vals) / mean if mean else 0.0


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Median over rounds, min, max, CV and the CV flag."""
    c = cv(values)
    return {
        "median": median(values),
        "min": min(values) if values else float("nan"),
        "max": max(values) if values else float("nan"),
        "rounds": list(values),
        "cv": c,
        "cv_flag": c > CV_FLAG,
    }


def ratio(ours: Sequence[float], base: Sequence[float]) -> dict[str, Any]:
    """median(ours)/median(base) plus the min-max of the per-round ratios."""
    per_round = [a / b for a, b in zip(ours, base, strict=False) if b]
    return {
        "ratio": median(ours) / median(base) if base and median(base) else float("nan"),
        "min": min(per_round) if per_round else float("nan"),
        "max": max(per_round) if per_round else float("nan"),
        "per_round": per_round,
    }


def verdict(value: float, goal: float, floor: float | None = None, *, higher_is_better: bool = False) -> str:
    if value != value:
        return "n/a"
    ok = value >= goal if higher_is_better else value <= goal
    if ok:
        return "PASS"
    if floor is not None and (value >= floor if higher_is_better else value <= floor):
        return "floor-ok"
    return "MISS"


# ====================================================================== results


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _version(dist: str) -> str | None:
    try:
        return _md.version(dist)
    except _md.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    return {
        "git_sha": _git("rev-parse", "HEAD") or None,
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "packages": {d: _version(d) for d in ("pyiii", "websockets", "msgspec", "uvloop", "orjson", "picows")},
        "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, result: dict[str, Any], opts: RunOptions) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    # Smoke runs (CI: "does it still run?") must not overwrite the numbers of a real run.
    path = RESULTS_DIR / (f"{name}.smoke.json" if opts.smoke else f"{name}.json")
    doc = {
        "benchmark": name,
        "mode": "smoke" if opts.smoke else "quick" if opts.quick else "full",
        "profile": opts.profile,
        "rounds": opts.n_rounds,
        "environment": environment(),
        **result,
    }
    path.write_text(json.dumps(doc, indent=2, default=_json_default, allow_nan=True) + "\n")
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def missing_cells(result: dict[str, Any]) -> list[str]:
    """Expected cells that are absent, errored or not numbers (harness rule 6)."""
    cells: dict[str, Any] = result.get("cells", {})
    bad: list[str] = []
    for name in result.get("expected", []):
        cell = cells.get(name)
        if cell is None:
            bad.append(f"{name}: missing")
        elif isinstance(cell, dict) and cell.get("error"):
            bad.append(f"{name}: {cell['error']}")
        elif isinstance(cell, dict) and cell.get("value") is not None and cell["value"] != cell["value"]:
            bad.append(f"{name}: NaN")
    return bad


def fmt_us(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1e6:,.0f} µs"


def fmt_ratio(r: dict[str, Any]) -> str:
    if r["ratio"] != r["ratio"]:
        return "n/a"
    return f"{r['ratio']:.2f}× ({r['min']:.2f}–{r['max']:.2f})"
