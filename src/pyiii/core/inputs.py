"""A built-in function's payload converted to the msgspec type it takes."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from pyiii.core.errors import bad_input

T = TypeVar("T")


def decode_args(function_id: str, data: Any, kind: type[T]) -> T:
    """``data`` as ``kind``; ``null`` counts as ``{}`` (functions whose fields are all optional
    are called without a payload). A payload that does not fit is the caller's error."""
    try:
        return msgspec.convert({} if data is None else data, kind)
    except msgspec.ValidationError as exc:
        raise bad_input(function_id, exc) from None
