"""pyiii.sdk worker CPU per HTTP-triggered invocation, read from /proc: a focused A/B driver for
comparing pyiii source trees on a shared machine (issue #21, B1 with a pyiii.sdk worker).

For each ``--src`` tree: one engine with iii-http and bench/echo_worker_pyiii.py (both from that
tree), as bench/b1_http.py starts them. Then rounds, alternating the trees (A B A B ...): per
concurrency, bench/loadgen.py drives POST /echo for ``--seconds``; the worker's utime+stime over
the run / requests = µs of worker CPU per invocation (the engine's too, for context). Prints one
line per cell and a summary of medians and per-round B/A ratios.

    python bench/sdk_worker_cpu_http.py --src /work/wt-base/src --src src --levels 1,32 --rounds 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from b1_http import wait_ok
from common.harness import free_port, http_engine_config, wait_port

HERE = Path(__file__).resolve().parent
PY = sys.executable


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def setup(src: str) -> Iterator[tuple[int, int, int]]:
    """An engine and a pyiii.sdk echo worker from ``src``: yields (http port, engine pid, worker pid)."""
    ws_port, http_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": f"{Path(src).resolve()}:{HERE}", "OTEL_ENABLED": "false"}
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(json.dumps(http_engine_config(ws_port, http_port)))
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        try:
            procs.append(subprocess.Popen([PY, "-m", "pyiii", "--config", str(config), "--log-level", "warning"],
                                          cwd=tmp, **quiet))  # type: ignore[call-overload]
            wait_port(ws_port, proc=procs[0])
            procs.append(subprocess.Popen([PY, str(HERE / "echo_worker_pyiii.py"), f"ws://127.0.0.1:{ws_port}"],
                                          **quiet))  # type: ignore[call-overload]
            wait_ok(f"http://127.0.0.1:{http_port}/echo")
            yield http_port, procs[0].pid, procs[1].pid
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(10)


def cell(port: int, engine: int, worker: int, c: int, seconds: float) -> dict[str, float]:
    e0, w0 = cpu_s(engine), cpu_s(worker)
    out = subprocess.run([PY, str(HERE / "loadgen.py"), f"127.0.0.1:{port}", "/echo", str(c), str(seconds)],
                         capture_output=True, text=True, check=True)
    e1, w1 = cpu_s(engine), cpu_s(worker)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    n = r["total_requests"]
    return {"worker_us": (w1 - w0) / n * 1e6, "engine_us": (e1 - e0) / n * 1e6, "rps": r["rps"], "p50_ms": r["p50_ms"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", action="append", required=True, help="a pyiii src folder (repeat: A, then B)")
    ap.add_argument("--levels", default="1,32", help="concurrencies, comma-separated")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=4.0)
    a = ap.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    cells: dict[tuple[int, int], list[dict[str, float]]] = {}
    with contextlib.ExitStack() as stack:
        running = [stack.enter_context(setup(src)) for src in a.src]
        for rnd in range(a.rounds):
            for c in levels:
                for i, (port, engine, worker) in enumerate(running):
                    r = cell(port, engine, worker, c, a.seconds)
                    cells.setdefault((i, c), []).append(r)
                    print(f"round {rnd} tree {i} c={c}: " + " ".join(f"{k}={v:.2f}" for k, v in r.items()), flush=True)
    for c in levels:
        for i, src in enumerate(a.src):
            rows = cells[(i, c)]
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(f"c={c} {src}: median " + " ".join(f"{k}={v:.2f}" for k, v in med.items()))
        if len(a.src) == 2:
            for key in ("worker_us", "rps", "p50_ms"):
                ratios = [b[key] / x[key] for x, b in zip(cells[(0, c)], cells[(1, c)], strict=True)]
                print(f"c={c} B/A {key}: rounds " + " ".join(f"{r:.3f}" for r in ratios)
                      + f" median {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
