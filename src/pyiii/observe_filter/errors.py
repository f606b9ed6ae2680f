"""The one error a filter can raise: ``INVALID_FILTER`` (spec iii-0.23-0.25 §5.12.6, §5.13)."""

from __future__ import annotations

from typing import Final

INVALID_FILTER: Final = "INVALID_FILTER"


class FilterError(ValueError):
    """A filter the language rejects. ``code`` is the wire error code the engine puts in
    ``observeresult.error`` (and an owner in ``observerack.error``); ``message`` says which rule
    failed and where, naming the filter key chain (``input.x.$in[3]``)."""

    def __init__(self, message: str, code: str = INVALID_FILTER) -> None:
        super().__init__(code, message)  # both in args: the error pickles whole
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
