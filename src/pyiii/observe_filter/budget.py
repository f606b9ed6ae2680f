"""The evaluation budget: how many array elements ``$any`` may examine in one evaluation.

Not in the spec (which bounds the filter, not the document): without it a 64-node filter of
``$any`` clauses over one large array in a caller's payload makes every evaluation cost
64 × its length, seconds of CPU on the engine's loop for one call. An evaluation over budget
is no match, as any failure of evaluation is (spec §5.12.5); ``Filter.exhausted`` counts them.
"""

from __future__ import annotations


class BudgetExhausted(Exception):
    """Raised inside an evaluation that ran out of budget; ``Filter.matches`` turns it into
    ``False``."""


class Budget:
    """One compiled filter's allowance, refilled at the start of every evaluation. Evaluations
    of one filter run one at a time (the engine's loop); concurrent threads would share it."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def refill(self) -> None:
        self.left = self.limit
