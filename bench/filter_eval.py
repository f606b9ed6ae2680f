"""Observer filter evaluation (standalone, not one of run.py's B1-B17): microseconds per
``Filter.matches`` for three filter shapes, on a matching and a non-matching document, with the
official SDK's evaluator beside it when ``iii.filter`` can be imported (``--sdk-python`` runs it
in another interpreter, e.g. tests/.cache/sdks/0.25.0/bin/python).

Goal (spec iii-0.23-0.25 §5.12, the observe task): a typical 1-3 clause filter costs a few µs,
so that evaluating every active observer after every routed call stays cheap.

    python bench/filter_eval.py [--number N] [--repeat R] [--sdk-python PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

#: name -> (filter, matching document, non-matching document)
SHAPES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "one clause ($gte)": (
        {"input.amount": {"$gte": 500}},
        {"input": {"amount": 750, "currency": "EUR"}},
        {"input": {"amount": 20, "currency": "EUR"}},
    ),
    "three clauses ($or, $prefix, $ne, $exists)": (
        {"$or": [{"output.ok": {"$eq": True}}, {"error.code": {"$prefix": "inv"}}],
         "caller.worker_name": {"$ne": "tests"}, "metadata.tenant": {"$exists": True}},
        {"input": {}, "output": {"ok": True}, "caller": {"worker_name": "shop"}, "metadata": {"tenant": "t1"}},
        {"input": {}, "error": {"code": "timeout"}, "caller": {"worker_name": "shop"}, "metadata": {"tenant": "t1"}},
    ),
    "$any over 10 items ($in + $gt)": (
        {"input.items": {"$any": {"@.sku": {"$in": ["A-1", "B-2", "C-3"]}, "@.qty": {"$gt": 0}}}},
        {"input": {"items": [{"sku": f"X-{i}", "qty": 1} for i in range(9)] + [{"sku": "B-2", "qty": 3}]}},
        {"input": {"items": [{"sku": f"X-{i}", "qty": 1} for i in range(10)]}},
    ),
}

#: Run in this or another interpreter: JSON {shapes, number, repeat, module} on stdin -> best µs.
MEASURE = r"""
import json, sys, timeit
spec = json.load(sys.stdin)
if spec["module"] == "pyiii":
    from pyiii.observe_filter import compile_filter
else:
    from iii.filter import compile_filter
out = {}
for name, (source, yes, no) in spec["shapes"].items():
    f = compile_filter(source)
    assert f.matches(yes) and not f.matches(no), name
    row = []
    for doc in (yes, no):
        times = timeit.repeat(lambda: f.matches(doc), number=spec["number"], repeat=spec["repeat"])
        row.append(min(times) / spec["number"] * 1e6)
    compile_times = timeit.repeat(lambda: compile_filter(source), number=max(1, spec["number"] // 20), repeat=3)
    row.append(min(compile_times) / max(1, spec["number"] // 20) * 1e6)
    out[name] = row
json.dump(out, sys.stdout)
"""


def measure(python: str, module: str, number: int, repeat: int) -> dict[str, list[float]] | None:
    spec = {"shapes": SHAPES, "number": number, "repeat": repeat, "module": module}
    env_path = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run([python, "-c", MEASURE], input=json.dumps(spec), capture_output=True, text=True,
                          env={"PYTHONPATH": env_path} if module == "pyiii" else {}, timeout=600)
    if done.returncode != 0:
        print(f"  ({module} not measured: {done.stderr.strip().splitlines()[-1:]})")
        return None
    result: dict[str, list[float]] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=20_000, help="evaluations per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings per case (the best is kept)")
    parser.add_argument("--sdk-python", help="interpreter that imports the official iii.filter")
    args = parser.parse_args()
    rows = {"pyiii": measure(sys.executable, "pyiii", args.number, args.repeat)}
    if args.sdk_python:
        rows["iii-sdk"] = measure(args.sdk_python, "iii", args.number, args.repeat)
    print(f"{'shape':45} {'impl':8} {'match µs':>9} {'miss µs':>9} {'compile µs':>11}")
    for name in SHAPES:
        for impl, result in rows.items():
            if result is not None:
                yes, no, build = result[name]
                print(f"{name:45} {impl:8} {yes:9.2f} {no:9.2f} {build:11.1f}")


if __name__ == "__main__":
    main()
