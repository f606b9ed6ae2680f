"""Cost of the Redis kv store's writes and listings (the insertion-order index's price).

Times, on a Redis at ``--url``: ``set`` of new keys (sequential, so one round trip each),
``set`` of existing keys, ``delete``, ``entries`` / ``values`` of tables of several sizes, and
the first listing of a table written without the order index (it backfills the index once).
A small timeit-style probe, not part of bench/run.py.

    python bench/kv_redis_order.py [--url redis://127.0.0.1:6379] [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable

from pyiii.adapters.kv.redis_store import RedisStore


async def per_op_us(count: int, op: Callable[[int], Awaitable[object]]) -> float:
    start = time.perf_counter()
    for i in range(count):
        await op(i)
    return (time.perf_counter() - start) / count * 1e6


async def best_ms(repeat: int, op: Callable[[], Awaitable[object]]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        await op()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


async def main(url: str, sizes: list[int], writes: int) -> None:
    namespace = f"bench_{uuid.uuid4().hex[:8]}"
    store = RedisStore(url, namespace)
    await store.open()
    try:
        value = {"id": "x", "text": "y" * 100}
        insert = await per_op_us(writes, lambda i: store.set("w", f"k{i}", value))
        overwrite = await per_op_us(writes, lambda i: store.set("w", f"k{i}", value))
        delete = await per_op_us(writes, lambda i: store.delete("w", f"k{i}"))
        print(f"set new key {insert:7.1f} us | set existing {overwrite:7.1f} us | delete {delete:7.1f} us")
        for size in sizes:
            table = f"list{size}"
            for start in range(0, size, 500):
                await asyncio.gather(*(store.set(table, f"k{i}", value) for i in range(start, min(size, start + 500))))
            entries = await best_ms(7, functools.partial(store.entries, table))
            values = await best_ms(7, functools.partial(store.values, table))
            print(f"{size:6d} keys: entries {entries:8.2f} ms | values {values:8.2f} ms")
        size = max(sizes)
        into_big = await per_op_us(writes, lambda i: store.set(f"list{size}", f"new{i}", value))
        print(f"set new key into the {size}-key table {into_big:7.1f} us")
        async with store.redis.pipeline(transaction=False) as pipe:
            for i in range(size):
                pipe.hset(f"{namespace}:legacy", f"k{i}", b'"legacy value, long enough to be a hashtable field"')
            await pipe.execute()
        first = await best_ms(1, functools.partial(store.entries, "legacy"))
        later = await best_ms(5, functools.partial(store.entries, "legacy"))
        print(f"{size:6d} keys written without the index: first listing {first:8.2f} ms | later {later:8.2f} ms")
    finally:
        keys = [k async for k in store.redis.scan_iter(match=f"*{namespace}*", count=1000)]
        for at in range(0, len(keys), 1000):
            await store.redis.delete(*keys[at:at + 1000])
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="redis://127.0.0.1:6379")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.url, [int(s) for s in args.sizes.split(",")], args.writes))
