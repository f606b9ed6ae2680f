"""Logging of the one-time move of pre-namespace subscriber queues (spec iii-0.23-0.25 §1.11)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pyiii.workers.queue.adapters.base import LegacyMove

log = logging.getLogger("pyiii.queue")


def report_legacy_moves(moves: Sequence[LegacyMove]) -> None:
    """One line per queue moved (the reference's message) and one total; nothing when nothing
    moved, so a restart after the move is silent."""
    for move in moves:
        log.info("Drained legacy subscriber queue into its namespace: %s -> %s (%d message(s), %d dead letter(s))",
                 move.queue, move.target, move.messages, move.dead_letters)
    messages = sum(m.messages for m in moves)
    dead = sum(m.dead_letters for m in moves)
    if moves:
        log.warning("iii-queue: moved %d pre-namespace subscriber queue(s) to their `default` names: %d message(s), "
                    "%d dead letter(s)", len(moves), messages, dead)
