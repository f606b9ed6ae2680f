"""Run the fault suite and print its figures.

    python -m tests.faults.run                    # quick variant (what CI runs), seed 1
    python -m tests.faults.run --full --seeds 3   # N = 10,000 ops, 20 faults per scenario, seeds 1..3
    python -m tests.faults.run --broker-outage    # F3 also stops/starts the shared RabbitMQ

Each scenario writes ``.faults-results/<F>-seed<S>.json``; this script runs pytest once per seed
and prints one table. A failing seed replays with ``PYIII_FAULTS_SEED=<S> pytest tests/faults``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="N=10,000 ops, >=20 faults, 1M fuzz frames")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("-k", default=None, help="pytest -k expression")
    ap.add_argument("--broker-outage", action="store_true",
                    help="F3 also stops the shared RabbitMQ (rabbitmqctl stop_app/start_app)")
    args = ap.parse_args()
    results = REPO / ".faults-results"
    results.mkdir(exist_ok=True)
    failed = 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        env = {**os.environ, "PYIII_FAULTS_SEED": str(seed), "PYIII_FAULTS_RESULTS": str(results),
               "OTEL_ENABLED": "false"}
        if args.full:
            env["PYIII_FAULTS_FULL"] = "1"
        if args.broker_outage:
            env["PYIII_FAULTS_RABBIT_OUTAGE"] = "1"
        cmd = [sys.executable, "-m", "pytest", "-q", "tests/faults"]
        if args.full:
            cmd += ["-o", "timeout=3600"]
        if args.k:
            cmd += ["-k", args.k]
        print(f"== seed {seed}: {' '.join(cmd[2:])}", flush=True)
        failed += subprocess.call(cmd, cwd=REPO, env=env) != 0
    for path in sorted(results.glob("*.json")):
        print(f"{path.stem:16s} {json.dumps(json.loads(path.read_text()))}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
