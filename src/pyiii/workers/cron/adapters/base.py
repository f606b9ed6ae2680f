"""How cron engines agree on who fires a tick. One fire per tick: whoever takes the tick's lock
fires it. A lock key names one job AND one scheduled time and is never released early, so an
engine that wakes a little late cannot fire a tick another engine already fired.

Chosen by ``adapter.name`` in the ``iii-cron`` config: ``kv`` / ``memory`` -> :mod:`.local`,
``redis`` -> :mod:`.redis`.
"""

from __future__ import annotations

import abc


class TickLock(abc.ABC):
    @abc.abstractmethod
    async def acquire(self, job_id: str, tick: str) -> bool: ...

    async def close(self) -> None:
        return None
