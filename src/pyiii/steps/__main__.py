"""``python -m pyiii.steps [--project DIR] [--url WS] [--watch]``: the steps worker as its own
process (what ``pyiii dev --steps-in process`` runs; also usable from an iii-exec entry)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from pyiii.steps import discovery
from pyiii.steps.steps_runner import StepsRunner
from pyiii.steps.watcher import StepWatcher


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pyiii.steps", description=__doc__)
    ap.add_argument("--project", type=Path, default=Path.cwd())
    ap.add_argument("--url", default=os.environ.get("III_URL", "ws://127.0.0.1:49134"))
    ap.add_argument("--watch", action="store_true", help="reload a step when its file changes")
    ap.add_argument("--dir", default=None,
                    help="step folder, as `motia run --dir` (default: steps/ and src/); src/ is searched too")
    ap.add_argument("--log-level", default=os.environ.get("PYIII_LOG_LEVEL", "info"))
    ap.add_argument("--name", default="steps",
                    help="worker name (default: steps); one live worker per name and namespace, so a second "
                         "runner on the same engine needs its own")
    args = ap.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    dirs = discovery.DEFAULT_ROOTS if args.dir is None else discovery.motia_dirs(args.dir)
    runner = StepsRunner(args.project, args.url, dirs=dirs, worker_name=args.name)
    watcher = None
    if args.watch:  # `--dir X` (Motia's runner replaced): exactly X and src/, as Motia's CLI
        watcher = (StepWatcher.for_project(runner.project, runner.reload_file) if args.dir is None
                   else StepWatcher(discovery.roots(runner.project, dirs), runner.reload_file))
    if watcher is not None:  # watch first: an edit made while the steps load is not missed
        watcher.start()
    report = runner.start()
    print(f"steps ready: {report.steps} step(s), {report.streams} stream(s) in {report.seconds * 1000:.0f} ms",
          file=sys.stderr, flush=True)
    stop.wait()
    if watcher is not None:
        watcher.stop()
    runner.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
