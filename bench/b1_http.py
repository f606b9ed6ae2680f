"""B1: HTTP route -> worker function, against FastAPI + uvicorn serving the same echo directly
and a raw ASGI echo on granian (bench/baselines/granian_echo.py).

    python bench/run.py --only b1 [--quick|--smoke]     # the run.py contract (NAME, run(opts))
    python bench/b1_http.py [--quick] [--worker node|python|pyiii]   # standalone, one JSON line

Starts one pyiii engine (iii-http) per worker kind, each with its echo worker: the official Node
iii-sdk (bench/echo_worker.mjs, the headline SUT ``pyiii``), the official Python iii-sdk
(bench/echo_worker_py.py, SUT ``pyiii_py``) and pyiii's own SDK (bench/echo_worker_pyiii.py,
SUT ``pyiii_sdk``); then a uvicorn FastAPI app with the same handler and granian, all on the SUT
CPU, and drives them with bench/loadgen.py (a separate process on the load-generator CPU) at each
concurrency, interleaved and shuffled per round. Without node the official Python worker is the
headline and ``pyiii_py`` is not run.

Targets (spec/benchmarks-and-faults.md): throughput >= 0.7x FastAPI-direct and >= 0.3x
granian-raw, p50 at c=1 <= 2x FastAPI, p50 at c=8 <= 3x p50 at c=1. Issue #21 goals, per worker
kind: throughput >= 1.3x FastAPI and >= 0.5x granian, p50(c=8)/p50(c=1) <= 3; with the pyiii.sdk
worker also >= 1.0x FastAPI's throughput at every concurrency and p50 at c=1 <= 1.5x FastAPI.
In quick and full runs (not smoke) motia 0.17 is measured too: the same echo as a TypeScript API
step under ``motia start`` on the local Redis (bench/common/motia.py), at c = 1, 8, 32 only (it
serves ~10 requests/s; deeper levels would only queue for minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from common import motia
from common.harness import free_port, http_engine_config, wait_port

HERE = Path(__file__).resolve().parent
PY = sys.executable
# The pinned official Node SDK the tests install (tests/support/node_sdk.py); III_NODE_SDK overrides.
NODE_SDK = Path(os.environ.get("III_NODE_SDK", str(HERE.parent / "tests/interop/node/node_modules/iii-sdk")))
LEVELS = (1, 2, 4, 8, 32, 128)
#: worker kind -> (SUT name when it is not the headline, label)
WORKER_KINDS = {"node": ("pyiii_node", "Node iii-sdk worker"),
                "python": ("pyiii_py", "Python iii-sdk worker"),
                "pyiii": ("pyiii_sdk", "pyiii.sdk worker")}


def wait_ok(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.post(url, json={"warm": True}, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} never answered 200")


#: pids of every process spawn() started and that is still running (for CPU accounting)
LIVE: dict[int, str] = {}
#: CPUs the SUT processes are pinned to (None: no pinning); set by run()
SUT_CPUS: str | None = None


@contextlib.contextmanager
def spawn(args: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    if SUT_CPUS is not None:
        args = ["taskset", "-c", SUT_CPUS, *args]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    LIVE[proc.pid] = args[0]
    try:
        yield proc
    finally:
        LIVE.pop(proc.pid, None)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def pyiii_echo(worker: str, routes: int = 0, pids: list[int] | None = None) -> Iterator[int]:
    """A pyiii engine with iii-http and an echo worker; yields the HTTP port (``pids`` receives the
    engine's and the worker's pids)."""
    ws_port, http_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(json.dumps(http_engine_config(ws_port, http_port)))
        env = {**os.environ, "OTEL_ENABLED": "false"}
        with spawn([PY, "-m", "pyiii", "--config", str(config), "--log-level", "warning"], cwd=tmp,
                   env=env) as engine:
            url = f"ws://127.0.0.1:{ws_port}"
            wait_port(ws_port, proc=engine)
            with spawn(worker_command(worker, url, routes), env=env) as wproc:
                if pids is not None:
                    pids += [engine.pid, wproc.pid]
                wait_ok(f"http://127.0.0.1:{http_port}/echo")
                if routes:
                    last = (routes - 1) // 10 * 10
                    wait_ok(f"http://127.0.0.1:{http_port}/p/{last}/x", timeout=120)
                yield http_port


def worker_command(worker: str, url: str, routes: int) -> list[str]:
    """The echo worker of kind ``worker`` (see WORKER_KINDS) connecting to ``url``."""
    if worker == "node":
        return ["node", str(HERE / "echo_worker.mjs"), url, str(NODE_SDK), str(routes)]
    script = {"python": "echo_worker_py.py", "pyiii": "echo_worker_pyiii.py"}[worker]
    return [PY, str(HERE / script), url, str(routes)]


def headline_worker() -> str:
    """``node`` when the official Node iii-sdk can run (installed on first use, like the tests
    do: tests/support/node_sdk.py), else ``python``."""
    if NODE_SDK.exists():
        return "node" if shutil.which("node") else "python"
    if "III_NODE_SDK" in os.environ or not (shutil.which("node") and shutil.which("npm")):
        return "python"
    import pytest
    from tests.support.node_sdk import node_sdk_dir

    try:  # pytest's skip/fail are BaseExceptions
        node_sdk_dir()
    except (Exception, pytest.fail.Exception, pytest.skip.Exception) as exc:
        print(f"b1: the Node iii-sdk could not be installed ({exc}); headline worker: python", file=sys.stderr)
        return "python"
    return "node" if NODE_SDK.exists() else "python"


@contextlib.contextmanager
def fastapi_echo(routes: int = 0, pids: list[int] | None = None) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "BENCH_ROUTES": str(routes)}
    cmd = [PY, "-m", "uvicorn", "fastapi_echo:app", "--port", str(port), "--log-level", "warning",
           "--no-access-log", "--loop", "uvloop", "--http", "httptools"]
    with spawn(cmd, cwd=HERE, env=env) as proc:
        if pids is not None:
            pids.append(proc.pid)
        wait_ok(f"http://127.0.0.1:{port}/echo")
        yield port


@contextlib.contextmanager
def granian_echo(pids: list[int] | None = None) -> Iterator[int]:
    """Raw ASGI echo on granian: 1 worker, uvloop, HTTP/1.1, single-threaded runtime."""
    port = free_port()
    cmd = [PY, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--loop", "uvloop", "--http", "1", "--runtime-mode", "st", "--no-ws",
           "--log-level", "warning", "baselines.granian_echo:app"]
    with spawn(cmd, cwd=HERE) as proc:
        if pids is not None:
            pids.append(proc.pid)
        wait_ok(f"http://127.0.0.1:{port}/echo")
        yield port


@contextlib.contextmanager
def motia_echo(pids: list[int] | None = None) -> Iterator[int]:
    """motia 0.17 ``motia start`` serving the echo API step (installs it on first use)."""
    workdir = motia.ensure_installed()
    port = free_port()
    with spawn(motia.command(port), cwd=workdir, env=motia.environment()) as proc:
        if pids is not None:
            pids.append(proc.pid)
        wait_ok(f"http://127.0.0.1:{port}/echo", timeout=180)
        yield port


def load(port: int, path: str, concurrency: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run([PY, str(HERE / "loadgen.py"), f"127.0.0.1:{port}", path, str(concurrency), str(seconds)],
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1.5 s per level instead of 5 s")
    parser.add_argument("--worker", choices=list(WORKER_KINDS), default=None, help="default: node if available")
    args = parser.parse_args()
    seconds = 1.5 if args.quick else 5.0
    args.worker = args.worker or headline_worker()
    results: dict[str, Any] = {"bench": "b1_http", "worker": args.worker, "seconds_per_level": seconds}
    with pyiii_echo(args.worker) as port:
        results["pyiii"] = [load(port, "/echo", c, seconds) for c in LEVELS]
    with fastapi_echo() as port:
        results["fastapi"] = [load(port, "/echo", c, seconds) for c in LEVELS]
    ours, theirs = results["pyiii"], results["fastapi"]
    results["rps_ratio_vs_fastapi"] = {
        str(a["c"]): round(a["rps"] / b["rps"], 2) for a, b in zip(ours, theirs, strict=True)
    }
    results["p50_c8_over_c1"] = round(ours[3]["p50_ms"] / ours[0]["p50_ms"], 2)
    results["targets"] = {"rps_ratio_min": 0.7, "p50_c8_over_c1_max": 3.0}
    print(json.dumps(results))


# ================================================================ the run.py contract

NAME = "b1_http"
#: motia serves ~10 requests/s: beyond c=32 a cell would only queue.
MOTIA_LEVELS = (1, 8, 32)


def measure_cell(port: int, path: str, c: int, seconds: float, pids: list[int]) -> dict[str, float]:
    """One loadgen run against one SUT with the CPU of its pids (and their children)."""
    import common.harness as H

    all_pids = pids + [k for p in pids for k in H.children(p)]
    c0 = H.cpu_ms(all_pids)
    r = load(port, path, c, seconds)
    c1 = H.cpu_ms(all_pids)
    total = r.get("total_requests", r["requests"])
    return {"p50": r["p50_ms"] / 1000, "p99": r["p99_ms"] / 1000, "throughput": r["rps"],
            "cpu_ms_per_1k": (c1 - c0) / total * 1000 if total else float("nan"),
            "errors": 0.0 if r["requests"] else 1.0, "samples": float(r["requests"])}


def worker_suts(headline: str) -> dict[str, str]:
    """SUT name -> worker kind: ``pyiii`` is the headline kind; each other kind gets its own SUT
    (the official Python SDK only when it is not already the headline)."""
    out = {"pyiii": headline}
    for kind, (name, _label) in WORKER_KINDS.items():
        if kind not in (headline, "node"):
            out[name] = kind
    return out


def _issue21_rows(sut: str, label: str, s: Any, best: Any, c8: int) -> list[dict[str, Any]]:
    """Issue #21's B1 goals for one worker kind."""
    import common.harness as H
    from common.cells import target_row, value_row

    step = H.ratio(s(f"{sut}/c{c8}", "p50"), s(f"{sut}/c1", "p50"))
    return [
        target_row(f"#21 {label}: throughput at saturation vs FastAPI", H.ratio(best(sut), best("fastapi")), 1.3,
                   None, higher=True),
        target_row(f"#21 {label}: throughput at saturation vs granian raw ASGI", H.ratio(best(sut), best("granian")),
                   0.5, None, higher=True),
        value_row(f"#21 {label}: p50(c={c8}) / p50(c=1)", step["ratio"], 3.0, None, unit="×"),
    ]


def _every_level_row(sut: str, label: str, s: Any, levels: Any) -> dict[str, Any]:
    """Throughput vs FastAPI at the concurrency where the ratio is lowest (the goal holds at
    every level iff it holds there)."""
    import common.harness as H
    from common.cells import target_row

    per_level = {c: H.ratio(s(f"{sut}/c{c}", "throughput"), s(f"fastapi/c{c}", "throughput")) for c in levels}
    worst = min(per_level, key=lambda c: per_level[c]["ratio"])
    return target_row(f"#21 {label}: throughput vs FastAPI at every concurrency (lowest: c={worst})",
                      per_level[worst], 1.0, None, higher=True)


def run(opts: Any) -> dict[str, Any]:
    import random

    import common.harness as H
    from common.cells import Rounds, cv_flags, target_row, targets_table, value_row

    global SUT_CPUS
    SUT_CPUS = opts.sut_cpus
    levels = opts.pick(LEVELS, LEVELS, (1, 8))
    seconds = opts.duration(5.0, 1.5)
    headline = headline_worker()
    workers = worker_suts(headline)
    rng = random.Random(opts.seed)
    rounds = Rounds()
    peak: dict[str, int] = {}
    suts = (*workers, "fastapi", "granian", *(() if opts.smoke else ("motia",)))
    sut_levels = {sut: [c for c in levels if sut != "motia" or c in MOTIA_LEVELS] for sut in suts}
    pids: dict[str, list[int]] = {s: [] for s in suts}
    with contextlib.ExitStack() as stack:
        ports = {sut: stack.enter_context(pyiii_echo(kind, pids=pids[sut])) for sut, kind in workers.items()}
        ports["fastapi"] = stack.enter_context(fastapi_echo(pids=pids["fastapi"]))
        ports["granian"] = stack.enter_context(granian_echo(pids=pids["granian"]))
        if "motia" in suts:
            ports["motia"] = stack.enter_context(motia_echo(pids=pids["motia"]))
        for r in range(opts.n_rounds):
            for c in H.shuffled(levels, rng):
                for sut in H.shuffled([x for x in suts if c in sut_levels[x]], rng):
                    m = measure_cell(ports[sut], "/echo", c, seconds, pids[sut])
                    rounds.add(f"{sut}/c{c}", m)
                    H.log(opts, f"  b1 round {r + 1} {sut:9s} c={c:<3d} {m['throughput']:8.0f} req/s "
                                f"p50={m['p50'] * 1e3:6.2f} ms p99={m['p99'] * 1e3:6.2f} ms "
                                f"cpu={m['cpu_ms_per_1k']:.0f} ms/1k")
        for sut in suts:
            peak[sut] = sum(H.vm_hwm_kb(p) for p in pids[sut])
    cells = rounds.cells()
    for sut in suts:
        cells[f"{sut}/peak_rss_kb"] = {"value": float(peak[sut])}
    s = rounds.series
    top = max(levels)
    # saturation = the best level of each SUT, per round
    def best(sut: str) -> list[float]:
        return [max(vals) for vals in zip(*(s(f"{sut}/c{c}", "throughput") for c in sut_levels[sut]), strict=True)]

    c8 = 8 if 8 in levels else top
    step = H.ratio(s(f"pyiii/c{c8}", "p50"), s("pyiii/c1", "p50"))
    targets = [
        target_row("throughput at saturation vs FastAPI", H.ratio(best("pyiii"), best("fastapi")), 0.7, 0.5,
                   higher=True),
        target_row("throughput at saturation vs granian raw ASGI", H.ratio(best("pyiii"), best("granian")), 0.3,
                   None, higher=True),
        target_row("p50 at c=1 vs FastAPI", H.ratio(s("pyiii/c1", "p50"), s("fastapi/c1", "p50")), 2.0, None),
        value_row(f"no step: p50(c={c8}) / p50(c=1)", step["ratio"], 3.0, None, unit="×"),
    ]
    if "motia" in suts:
        targets += [
            target_row(f"throughput at saturation vs motia {motia.VERSION}", H.ratio(best("pyiii"), best("motia")),
                       1.5, None, higher=True),
            target_row("p99 at c=1 vs motia", H.ratio(s("pyiii/c1", "p99"), s("motia/c1", "p99")), 0.67, None),
        ]
    labels = {sut: WORKER_KINDS[kind][1] for sut, kind in workers.items()}
    other: list[dict[str, Any]] = []
    for sut in workers:
        other += _issue21_rows(sut, labels[sut], s, best, c8)
    sdk = next(sut for sut, kind in workers.items() if kind == "pyiii")
    other += [
        _every_level_row(sdk, labels[sdk], s, levels),
        target_row(f"#21 {labels[sdk]}: p50 at c=1 vs FastAPI", H.ratio(s(f"{sdk}/c1", "p50"), s("fastapi/c1", "p50")),
                   1.5, None),
    ]
    lines = ["| SUT | c | req/s | p50 | p99 | CPU-ms / 1k req |", "|---|---|---|---|---|---|"]
    for c in levels:
        for sut in suts:
            e = cells.get(f"{sut}/c{c}")
            if e:
                lines.append(f"| {sut} | {c} | {e['throughput']['median']:,.0f} | {e['p50']['median'] * 1e3:.2f} ms | "
                             f"{e['p99']['median'] * 1e3:.2f} ms | {e['cpu_ms_per_1k']['median']:.0f} |")
    lines.append("\nworkers: " + ", ".join(f"{sut} = {labels[sut]}" for sut in workers))
    lines.append("\npeak RSS (KB): " + ", ".join(f"{k} {v:,}" for k, v in peak.items()))
    plot = {"title": "B1 HTTP echo: p50 vs concurrency", "xlabel": "concurrent connections", "ylabel": "p50 (ms)",
            "logx": True, "logy": True,
            "lines": {sut: [[c, cells[f"{sut}/c{c}"]["p50"]["median"] * 1e3] for c in sut_levels[sut]] for sut in suts}}
    return {"cells": cells, "expected": [f"{sut}/c{c}" for sut in suts for c in sut_levels[sut]],
            "targets": targets, "other_targets": other, "cv_flags": cv_flags(cells), "plot": plot,
            "params": {"levels": levels, "seconds": seconds, "worker": headline,
                       "workers": {sut: labels[sut] for sut in workers}, "loadgen": "bench/loadgen.py"},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets + other)}


if __name__ == "__main__":
    main()
