"""Benchmark orchestrator: one process starts, measures and stops every SUT and baseline.

    python bench/run.py                      # B1-B17, full mode (5 rounds; B13 soaks 60 + 30 min)
    python bench/run.py --quick              # 3 rounds, short cells
    python bench/run.py --quick --smoke      # CI: every benchmark, 1 round, tiny sizes (< ~4 min)
    python bench/run.py --quick --only b2,b3,b4

A benchmark is a module ``bench/b<N>_<name>.py`` with ``NAME`` and ``run(opts: RunOptions) ->
dict``. The dict holds ``cells`` (name -> measurements; a cell with an ``error`` key counts as
failed), ``expected`` (cell names that must be present), optionally ``targets`` /
``other_targets`` (Goal/Floor rows), ``plot`` (a curve) and a markdown ``table``. Results go to
``bench/results/<NAME>.json`` with versions, git SHA, Python and kernel; then every benchmark's
latest result is merged into ``bench/results/all.json``, the generated Summary table is written
between the ``bench:summary`` markers at the top of docs/benchmarks.md and the plots to
docs/benchmarks/*.png (smoke runs: ``*.smoke.json`` and bench/results/smoke/ instead).

WebSocket libraries: ``--client`` is the load generator's (B2-B4 and B9; B17 always runs both)
and ``--echo-worker`` the B2-B4/B13 echo worker's; both default to picows (if installed) so that
the harness's own processes are not what limits the systems under test (docs/benchmarks.md).

Exit status: 1 if a benchmark raised or an expected cell is missing or errored; never because
of the numbers themselves (targets are reported, not enforced).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import harness as H
from common import report
from common.wsclient import default_client


def discover() -> dict[str, str]:
    """``b2`` -> ``b2_invoke`` for every bench/b<N>_*.py, in numeric order."""
    found: dict[str, str] = {}
    for path in sorted(H.BENCH_DIR.glob("b*_*.py"), key=lambda p: int(re.findall(r"\d+", p.stem)[0])):
        m = re.fullmatch(r"(b\d+)_\w+", path.stem)
        if m and m.group(1) not in found:
            found[m.group(1)] = path.stem
    return found


def _mode(opts: H.RunOptions) -> str:
    return "smoke" if opts.smoke else "quick" if opts.quick else "full"


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated benchmark ids, e.g. b2,b3,b4 (default: all)")
    ap.add_argument("--quick", action="store_true", help="3 rounds, short cells")
    ap.add_argument("--smoke", action="store_true", help="1 round, 1 s cells: checks the benchmarks still run")
    ap.add_argument("--profile", choices=["split", "shared"], default="split",
                    help="split: SUT on CPU 0, load generator on CPU 1 (default); shared: no pinning")
    ap.add_argument("--rounds", type=int, help="override the number of interleaved rounds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--client", choices=["picows", "websockets"], default=None,
                    help="load-generator WebSocket client (default: picows if installed)")
    ap.add_argument("--echo-worker", choices=["picows", "websockets"], default=None,
                    help="library of the B2-B4 echo worker (default: picows if installed)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-cell progress on stderr")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    opts = H.RunOptions(quick=args.quick or args.smoke, smoke=args.smoke, profile=args.profile,
                        rounds=args.rounds, seed=args.seed, verbose=not args.quiet,
                        client=args.client or default_client(),
                        echo_worker=args.echo_worker or default_client())
    available = discover()
    wanted = [b.strip() for b in args.only.split(",")] if args.only else list(available)
    unknown = [b for b in wanted if b not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(available)}", file=sys.stderr)
        return 1
    H.pin_self(opts)
    failures: list[str] = []
    lines: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    for bench_id in wanted:
        module_name = available[bench_id]
        t0 = time.monotonic()
        H.log(opts, f"== {module_name} ({'smoke' if opts.smoke else 'quick' if opts.quick else 'full'}, "
                    f"{opts.n_rounds} round(s), profile {opts.profile})")
        try:
            module = importlib.import_module(module_name)
            result: dict[str, Any] = module.run(opts)
        except Exception as exc:
            traceback.print_exc()
            failures.append(f"{bench_id}: {type(exc).__name__}: {exc}")
            lines.append(f"### {module_name}\n\nFAILED: {exc}\n")
            results[bench_id] = {"benchmark": module_name, "mode": _mode(opts), "error": f"{type(exc).__name__}: {exc}",
                                 "cells": {}, "expected": ["(benchmark raised)"]}
            continue
        result["wall_s"] = round(time.monotonic() - t0, 1)
        path = H.write_result(getattr(module, "NAME", module_name), result, opts)
        results[bench_id] = {"benchmark": module_name, "mode": _mode(opts), **result}
        bad = H.missing_cells(result)
        failures.extend(f"{bench_id}: {b}" for b in bad)
        flags = result.get("cv_flags") or []
        note = f"\n\nround CV > 10 %: {', '.join(flags)}" if flags else ""
        lines.append(f"### {module_name} ({result['wall_s']} s, {path.relative_to(H.REPO_DIR)})\n\n"
                      f"{result.get('table', '')}{note}\n")
    print("\n".join(lines))
    try:
        all_path, doc = report.merge_all(results, opts)
        plots = report.write_plots(doc, opts)
        doc_path = report.write_summary(doc, plots, opts)
        H.log(opts, f"results: {all_path.relative_to(H.REPO_DIR)}; summary: {doc_path.relative_to(H.REPO_DIR)}; "
                    f"{len(plots)} plot(s)")
    except Exception as exc:
        traceback.print_exc()
        failures.append(f"report: {type(exc).__name__}: {exc}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
