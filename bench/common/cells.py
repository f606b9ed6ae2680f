"""One measurement cell against one SUT, and the per-round bookkeeping of B2-B4."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from common import harness as H
from common.wsclient import Conn, run_loop


async def measure(sut: H.Sut, ws: Conn, function_ids: Sequence[str], payload: bytes, *,
                  inflight: int, duration: float, rng: random.Random, warmup: float = 0.2,
                  client_cpu: bool = False) -> dict[str, float]:
    """Closed loop on ``ws``; latency percentiles (seconds), msgs/s, CPU-ms per 1,000 calls
    summed over the SUT's pids, errors; with ``client_cpu`` also this (the load generator's)
    process CPU per 1,000 calls."""
    sut.check_alive()
    c0 = sut.cpu_ms()
    p0 = time.process_time()
    st = await run_loop(ws, function_ids, payload, inflight=inflight, duration=duration, warmup=warmup, rng=rng)
    p1 = time.process_time()
    c1 = sut.cpu_ms()
    sut.check_alive()
    lat = st.latencies
    extra = {"client_cpu_ms_per_1k": (p1 - p0) * 1e6 / st.ops if st.ops else float("nan")} if client_cpu else {}
    return {
        "p50": H.percentile(lat, 50),
        "p99": H.percentile(lat, 99),
        "p999": H.percentile(lat, 99.9),
        "throughput": st.throughput,
        "cpu_ms_per_1k": (c1 - c0) / st.ops * 1000 if st.ops else float("nan"),
        "errors": float(st.errors),
        "samples": float(len(lat)),
        **extra,
    }


class Rounds:
    """``cell -> metric -> [value per round]``."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def add(self, cell: str, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self.data[cell][k].append(v)

    def series(self, cell: str, metric: str) -> list[float]:
        return self.data.get(cell, {}).get(metric, [])

    def cells(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for cell, metrics in self.data.items():
            entry: dict[str, Any] = {k: H.summarize(v) for k, v in metrics.items() if k not in ("errors", "samples")}
            entry["errors"] = int(sum(metrics.get("errors", [])))
            entry["samples"] = int(sum(metrics.get("samples", [])))
            if "p50" in metrics:
                entry["value"] = entry["p50"]["median"]
            if entry["errors"]:
                entry["error"] = f"{entry['errors']} calls answered with an error"
            out[cell] = entry
        return out


def target_row(name: str, r: dict[str, Any], goal: float, floor: float | None, *,
               higher: bool = False) -> dict[str, Any]:
    return {"name": name, **r, "goal": goal, "floor": floor, "higher_is_better": higher,
            "verdict": H.verdict(r["ratio"], goal, floor, higher_is_better=higher)}


def targets_table(targets: Sequence[dict[str, Any]]) -> str:
    lines = ["| target | measured (min–max of rounds) | goal | floor | verdict |", "|---|---|---|---|---|"]
    for t in targets:
        lines.append(f"| {t['name']} | {fmt_measured(t)} | {fmt_bound(t, 'goal')} | {fmt_bound(t, 'floor')} "
                     f"| {t['verdict']} |")
    return "\n".join(lines)


def fmt_measured(t: dict[str, Any]) -> str:
    return str(t["measured"]) if "measured" in t else H.fmt_ratio(t)


def fmt_bound(t: dict[str, Any], key: str) -> str:
    """``≤ 1.3`` / ``≥ 0.7×`` / ``≤ 50 ms``: a goal or floor in the row's display unit."""
    v = t.get(key)
    if t.get("check"):
        return "required" if key == "goal" else "–"
    if v is None:
        return "–"
    s = "≥" if t.get("higher_is_better") else "≤"
    if "measured" in t and t.get("unit"):
        return f"{s} {v * t.get('scale', 1.0):g} {t['unit']}"
    return f"{s} {v:g}"


def cv_flags(cells: dict[str, Any], metrics: tuple[str, ...] = ("p50", "throughput", "growth")) -> list[str]:
    """Cells whose headline metric varied more than 10 % (CV) across rounds."""
    return [f"{c}.{m}" for c, e in cells.items() for m in metrics
            if isinstance(e.get(m), dict) and e[m].get("cv_flag")]


def value_row(name: str, value: float, goal: float, floor: float | None = None, *, higher: bool = False,
              unit: str = "", scale: float = 1.0, digits: int = 2) -> dict[str, Any]:
    """A target on an absolute value (or on a self-ratio) rather than a ratio to a baseline.
    ``scale`` converts the stored value into ``unit`` for display only."""
    shown = "n/a" if value != value else f"{value * scale:,.{digits}f}{(' ' + unit) if unit else ''}"
    return {"name": name, "value": value, "measured": shown, "goal": goal, "floor": floor,
            "higher_is_better": higher, "unit": unit, "scale": scale,
            "verdict": H.verdict(value, goal, floor, higher_is_better=higher)}


def check_row(name: str, ok: bool, detail: str = "") -> dict[str, Any]:
    """A pass/fail property (exactly-once, exact counter, ...)."""
    return {"name": name, "value": 1.0 if ok else 0.0, "measured": detail or ("yes" if ok else "NO"),
            "goal": 1.0, "floor": 1.0, "higher_is_better": True, "check": True, "verdict": "PASS" if ok else "MISS"}
