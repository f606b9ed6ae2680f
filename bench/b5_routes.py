"""B5: HTTP route-table scaling, 1 -> 10,000 routes: p50 and req/s hitting the first route, the
last route and a miss (404), for pyiii (trie) and FastAPI (Starlette scans its routes in order).

    python bench/run.py --only b5 [--quick|--smoke]     # the run.py contract
    python bench/b5_routes.py [--quick]                  # standalone, one JSON line

Targets: p50(R=10k) / p50(R=1) <= 1.15 for pyiii; at R=10k pyiii p50 <= 0.5x FastAPI p50.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import b1_http
from b1_http import fastapi_echo, headline_worker, load, pyiii_echo

CONCURRENCY = 1


def targets(routes: int) -> dict[str, str]:
    last = routes - 1
    return {"first": "/r/0/items", "last": f"/r/{last}/items", "param": f"/p/{last // 10 * 10}/abc",
            "miss": "/no/such/route"}


def measure(port: int, routes: int, seconds: float) -> dict[str, Any]:
    return {name: load(port, path, CONCURRENCY, seconds) for name, path in targets(routes).items()}


def lookup_micro(sizes: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """The route lookup alone, in-process: the trie's cost must not grow with R (no network noise)."""
    import timeit

    from pyiii.core.triggers import Binding
    from pyiii.workers.http.paths import request_segments
    from pyiii.workers.http.router import Route, Router

    out: dict[str, dict[str, float]] = {}
    for routes in sizes:
        router = Router()
        for i in range(routes):
            router.add(Route("POST", f"/r/{i}/items", (), f"s{i}", "f", Binding(f"s{i}", "http", "f")))
            if i % 10 == 0:
                router.add(Route("POST", f"/p/{i}/:id", (), f"p{i}", "f", Binding(f"p{i}", "http", "f")))
        point: dict[str, float] = {}
        for name, path in targets(routes).items():
            n = 20_000
            def lookup(path: str = path, router: Router = router) -> None:
                router.match(request_segments(path))

            seconds = min(timeit.repeat(lookup, number=n, repeat=5))
            point[name + "_us"] = round(seconds / n * 1e6, 3)
        out[str(routes)] = point
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="R = 1 and 10,000 only, 1 s per point")
    parser.add_argument("--worker", choices=["node", "python", "pyiii"], help="default: node if available")
    args = parser.parse_args()
    args.worker = args.worker or headline_worker()
    sizes = (1, 10_000) if args.quick else (1, 100, 1_000, 10_000)
    seconds = 1.0 if args.quick else 3.0
    results: dict[str, Any] = {"bench": "b5_routes", "concurrency": CONCURRENCY, "pyiii": {}, "fastapi": {}}
    results["pyiii_lookup_micro"] = lookup_micro((1, 100, 1_000, 10_000))
    for routes in sizes:
        with pyiii_echo(args.worker, routes) as port:
            results["pyiii"][str(routes)] = measure(port, routes, seconds)
        with fastapi_echo(routes) as port:
            results["fastapi"][str(routes)] = measure(port, routes, seconds)
    small, big = str(sizes[0]), str(sizes[-1])
    results["p50_ratio_10k_over_1"] = {
        side: {name: round(results[side][big][name]["p50_ms"] / results[side][small][name]["p50_ms"], 2)
               for name in ("first", "last", "miss")}
        for side in ("pyiii", "fastapi")
    }
    results["targets"] = {"p50_ratio_max": 1.15}
    print(json.dumps(results))


# ================================================================ the run.py contract

NAME = "b5_routes"


def run(opts: Any) -> dict[str, Any]:
    import random

    import common.harness as H
    from common.cells import Rounds, cv_flags, target_row, targets_table, value_row

    b1_http.SUT_CPUS = opts.sut_cpus
    sizes = opts.pick((1, 100, 1_000, 10_000), (1, 1_000, 10_000), (1, 100))
    seconds = opts.duration(3.0, 1.0)
    worker = headline_worker()
    rng = random.Random(opts.seed)
    rounds = Rounds()
    cells: dict[str, Any] = {}
    for routes in sizes:
        pids: dict[str, list[int]] = {"pyiii": [], "fastapi": []}
        with pyiii_echo(worker, routes, pids=pids["pyiii"]) as p_port, \
                fastapi_echo(routes, pids=pids["fastapi"]) as f_port:
            ports = {"pyiii": p_port, "fastapi": f_port}
            for r in range(opts.n_rounds):
                for hit, path in H.shuffled(list(targets(routes).items()), rng):
                    for sut in H.shuffled(list(ports), rng):
                        m = b1_http.measure_cell(ports[sut], path, CONCURRENCY, seconds, pids[sut])
                        rounds.add(f"{sut}/R{routes}/{hit}", m)
                        H.log(opts, f"  b5 round {r + 1} R={routes:<6d} {sut:8s} {hit:6s} "
                                    f"p50={m['p50'] * 1e3:6.2f} ms {m['throughput']:7.0f} req/s")
    cells.update(rounds.cells())
    micro = lookup_micro(opts.pick((1, 100, 1_000, 10_000), (1, 100, 1_000, 10_000), (1, 100)))
    cells["lookup_micro_us"] = micro
    s = rounds.series
    lo, hi = sizes[0], sizes[-1]
    growth = H.ratio(s(f"pyiii/R{hi}/last", "p50"), s(f"pyiii/R{lo}/last", "p50"))
    fa_growth = H.ratio(s(f"fastapi/R{hi}/last", "p50"), s(f"fastapi/R{lo}/last", "p50"))
    cells["growth_last"] = {**growth, "value": growth["ratio"]}
    goals = [
        target_row(f"pyiii p50(R={hi:,}) / p50(R=1), last route", growth, 1.15, 1.5),
        target_row(f"p50 at R={hi:,} (last route) vs FastAPI", H.ratio(s(f"pyiii/R{hi}/last", "p50"),
                                                                     s(f"fastapi/R{hi}/last", "p50")), 0.5, None),
        value_row(f"lookup alone, R={max(micro, key=int)} / R=1 (in-process)",
                  micro[max(micro, key=int)]["last_us"] / micro["1"]["last_us"], 1.15, 1.5, unit="×"),
    ]
    lines = ["| R | hit | pyiii p50 | FastAPI p50 | pyiii req/s | FastAPI req/s |", "|---|---|---|---|---|---|"]
    for routes in sizes:
        for hit in ("first", "last", "param", "miss"):
            a, b = cells[f"pyiii/R{routes}/{hit}"], cells[f"fastapi/R{routes}/{hit}"]
            lines.append(f"| {routes:,} | {hit} | {a['p50']['median'] * 1e3:.2f} ms | {b['p50']['median'] * 1e3:.2f} ms"
                         f" | {a['throughput']['median']:,.0f} | {b['throughput']['median']:,.0f} |")
    lines.append(f"\nFastAPI growth R={hi:,}/R=1 (last route): {H.fmt_ratio(fa_growth)}")
    plot = {"title": "B5 p50 vs routes (last route, c=1)", "xlabel": "routes R", "ylabel": "p50 (ms)", "logx": True,
            "lines": {sut: [[r, cells[f"{sut}/R{r}/last"]["p50"]["median"] * 1e3] for r in sizes]
                      for sut in ("pyiii", "fastapi")}}
    return {"cells": cells,
            "expected": [f"{sut}/R{r}/{h}" for sut in ("pyiii", "fastapi") for r in sizes
                         for h in ("first", "last", "param", "miss")] + ["growth_last"],
            "targets": goals, "cv_flags": cv_flags(cells), "plot": plot,
            "params": {"sizes": sizes, "seconds": seconds, "worker": worker, "concurrency": CONCURRENCY},
            "table": "\n".join(lines) + "\n\n" + targets_table(goals)}


if __name__ == "__main__":
    main()
