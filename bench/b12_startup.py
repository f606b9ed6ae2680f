"""B12 — start-up and hot reload.

* ``engine_ready``: ``python -m pyiii`` (all built-ins, no config) spawned → main listener accepts.
* ``steps_1000_<mode>``: ``pyiii start`` on a generated 1,000-step project (one HTTP step per file)
  spawned → the last step's route answers; ``<mode>`` = steps worker in a thread (default) or in
  a child process (``--steps-in process``).
* ``reload_<mode>``: in ``pyiii dev`` on the same project, one step file rewritten → its route
  answers with the new body (file write to first new response, polled every ~1 ms).

Targets: engine ready ≤ 1 s; 1,000-step project ready ≤ 3 s; one step reloaded ≤ 300 ms.

    python bench/b12_startup.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import harness as H

NAME = "b12_startup"
STEP = '''from pyiii.steps import http

config = {{"name": "S{i}", "triggers": [http("GET", "/s/{i}")], "flows": ["bench"]}}


def handler():
    return {{"status": 200, "body": "{body}"}}
'''
CONFIG = """workers:
  - name: iii-worker-manager
    config: {port: ${III_PORT}, host: 127.0.0.1}
  - name: iii-http
    config: {port: ${HTTP_PORT}, host: 127.0.0.1}
  - name: iii-state
"""


def make_project(root: Path, n: int) -> Path:
    (root / "config.yaml").write_text(CONFIG)
    for i in range(n):
        folder = root / "steps" / f"g{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"s{i:04d}_step.py").write_text(STEP.format(i=i, body="v0"))
    return root


def wait_http(url: str, want: str | None, timeout: float, client: httpx.Client) -> float:
    """Seconds until ``url`` answers 200 (and ``want`` as JSON body, if given)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            r = client.get(url)
            if r.status_code == 200 and (want is None or r.json() == want):
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.001)
    raise TimeoutError(f"{url} not ready within {timeout}s")


def engine_ready(opts: H.RunOptions) -> float:
    port = H.free_port()
    workdir = Path(tempfile.mkdtemp(prefix="b12-engine-"))
    (workdir / "config.yaml").write_text(f"workers:\n  - name: iii-worker-manager\n    config: {{port: {port}}}\n"
                                         "  - name: iii-http\n    config: {port: 0}\n  - name: iii-state\n"
                                         "  - name: iii-stream\n    config: {port: 0}\n  - name: iii-queue\n"
                                         "  - name: iii-cron\n  - name: iii-pubsub\n")
    t0 = time.perf_counter()
    proc = H.start("engine", [sys.executable, "-m", "pyiii"], cpus=opts.sut_cpus, port=port, cwd=workdir)
    elapsed = time.perf_counter() - t0
    H.stop(proc)
    shutil.rmtree(workdir, ignore_errors=True)
    return elapsed


def project_cells(opts: H.RunOptions, project: Path, mode: str, n: int, reloads: int) -> dict[str, Any]:
    env = {"III_PORT": str(H.free_port()), "HTTP_PORT": str(H.free_port())}
    base = f"http://127.0.0.1:{env['HTTP_PORT']}"
    with httpx.Client(timeout=2) as client:
        t0 = time.perf_counter()
        proc = H.start(f"dev-{mode}", [sys.executable, "-m", "pyiii", "dev", str(project), "--steps-in", mode],
                       cpus=opts.sut_cpus, env=env, cwd=project)
        try:
            wait_http(f"{base}/s/{n - 1}", None, 60, client)
            ready = time.perf_counter() - t0
            samples = []
            for k in range(reloads):
                i = (k * 37) % n
                path = project / "steps" / f"g{i // 100:02d}" / f"s{i:04d}_step.py"
                body = f"v{k + 1}"
                t = time.perf_counter()
                path.write_text(STEP.format(i=i, body=body))
                wait_http(f"{base}/s/{i}", body, 10, client)
                samples.append(time.perf_counter() - t)
                time.sleep(0.3)  # let the debounce window close before the next edit
        finally:
            H.stop(proc)
    return {"ready_s": ready, "reload": samples}


def run(opts: H.RunOptions) -> dict[str, Any]:
    n = 1000
    reloads = opts.pick(20, 8, 3)
    cells: dict[str, Any] = {"engine_ready": H.summarize([engine_ready(opts) for _ in range(opts.n_rounds)])}
    for mode in ("thread", "process"):
        readies: list[float] = []
        reload_samples: list[float] = []
        for _ in range(opts.n_rounds):
            root = Path(tempfile.mkdtemp(prefix=f"b12-{mode}-"))
            try:
                result = project_cells(opts, make_project(root, n), mode, n, reloads)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            readies.append(result["ready_s"])
            reload_samples += result["reload"]
        cells[f"steps_1000_{mode}"] = H.summarize(readies)
        ordered = sorted(reload_samples)
        cells[f"reload_{mode}"] = {**H.summarize(reload_samples), "p50": H.percentile(ordered, 50),
                                   "max": ordered[-1], "n": len(ordered)}
    goals = [("engine_ready", "engine ready", 1.0), ("steps_1000_thread", "1,000-step project ready (thread)", 3.0),
             ("steps_1000_process", "1,000-step project ready (process)", 3.0),
             ("reload_thread", "one step reloaded (thread), p50", 0.3),
             ("reload_process", "one step reloaded (process), p50", 0.3)]
    targets = []
    rows = ["| measure | median / p50 | goal | verdict |", "|---|---|---|---|"]
    for key, label, goal in goals:
        value = cells[key].get("p50", cells[key]["median"])
        verdict = H.verdict(value, goal)
        targets.append({"name": label, "value_s": value, "goal_s": goal, "verdict": verdict})
        rows.append(f"| {label} | {value * 1000:.0f} ms | ≤ {goal * 1000:.0f} ms | {verdict} |")
    rows.append(f"| reload max (thread / process) | {cells['reload_thread']['max'] * 1000:.0f} / "
                f"{cells['reload_process']['max'] * 1000:.0f} ms | | |")
    return {"cells": cells, "expected": [g[0] for g in goals], "other_targets": targets,
            "params": {"steps": n, "reloads_per_round": reloads, "cpus": os.cpu_count()},
            "table": "\n".join(rows)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    print(run(H.RunOptions(quick=a.quick or a.smoke, smoke=a.smoke, profile="shared"))["table"])
