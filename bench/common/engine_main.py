"""Start the pyiii engine the way ``python -m pyiii --port N`` does (``pyiii.cli.run_engine`` on
uvloop), with only the built-in workers B2-B4 exercise: the engine functions and the worker
listener. Building the config directly keeps the benchmark independent of other built-in
workers (their import cost, their ports, their work in progress).

    python bench/common/engine_main.py --port N
"""

from __future__ import annotations

import argparse

from pyiii.cli import _run, _setup_logging, run_engine
from pyiii.engine_config import EngineConfig, WorkerEntry
from pyiii.workers import catalog

KINDS = ("iii-engine-functions", "iii-worker-manager")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log-level", default="warning")
    args = ap.parse_args()
    _setup_logging(args.log_level)
    entries = [WorkerEntry(kind=k, entry_id=k, config=catalog.load(k).config_type()) for k in KINDS]
    config = EngineConfig(workers=entries)
    config.listeners()[0].config.port = args.port
    return _run(run_engine(config, grace=1.0))


if __name__ == "__main__":
    raise SystemExit(main())
