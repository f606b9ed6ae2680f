"""The peers of B6 (spec §3.2): the same no-op job on Dramatiq (1 process x 10 threads), arq
(defaults: max_jobs 10) and Celery (``-P threads -c 10``, ``acks_late``), all on the local Redis.

One module serves the three worker CLIs; ``BENCH_PEER`` picks which one is defined:

    BENCH_PEER=dramatiq dramatiq baselines.queue_peers --processes 1 --threads 10
    BENCH_PEER=arq      arq baselines.queue_peers.WorkerSettings
    BENCH_PEER=celery   celery -A baselines.queue_peers worker -P threads -c 10

The job counts itself; on the first job it notes wall time and process CPU time, on the
``BENCH_N``-th it writes ``t_first t_last cpu_first cpu_last`` to ``BENCH_OUT`` (so worker start-up
is not measured, only consumption of the pre-filled queue). ``BENCH_NS`` names the queue.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

PEER = os.environ.get("BENCH_PEER", "")
NS = os.environ.get("BENCH_NS", "bench")
N = int(os.environ.get("BENCH_N", "0"))
OUT = os.environ.get("BENCH_OUT", "")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

_lock = threading.Lock()
_count = 0
_first: tuple[float, float] | None = None


def job_done() -> None:
    global _count, _first
    with _lock:
        if _first is None:
            _first = (time.time(), time.process_time())
        _count += 1
        if _count == N and OUT:
            with open(OUT + ".tmp", "w") as f:
                f.write(f"{_first[0]} {time.time()} {_first[1]} {time.process_time()}")
            os.replace(OUT + ".tmp", OUT)


if PEER == "dramatiq":
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    dramatiq.set_broker(RedisBroker(url=REDIS_URL, namespace=NS))

    @dramatiq.actor(actor_name="noop", queue_name="default", max_retries=0)
    def noop(i: int) -> None:
        job_done()

elif PEER == "arq":
    from arq.connections import RedisSettings

    async def noop(ctx: dict[str, Any], i: int) -> None:
        job_done()

    class WorkerSettings:
        functions = [noop]  # noqa: RUF012 (arq's settings class)
        redis_settings = RedisSettings.from_dsn(REDIS_URL)
        queue_name = NS
        max_jobs = 10
        keep_result = 0

elif PEER == "celery":
    from celery import Celery

    app = Celery("queue_peers", broker=REDIS_URL)
    app.conf.update(task_acks_late=True, task_ignore_result=True, task_default_queue=NS,
                    worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)

    @app.task(name="noop")
    def noop_task(i: int) -> None:
        job_done()
