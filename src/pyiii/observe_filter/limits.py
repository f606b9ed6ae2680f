"""Every limit of the filter language (spec §5.12.4), with the spec's defaults.

The engine builds one from its config so that an operator can tighten (or, knowingly, loosen)
them; a filter over any limit is ``INVALID_FILTER``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class FilterLimits:
    #: Filter nesting; the top-level filter is 1, ``$or`` items, the ``$not`` operand and the
    #: ``$any`` operand one deeper, ``$and`` items at their parent's level.
    max_depth: int = 8
    #: Value operators, ``$or`` and ``$not`` clauses in the whole filter (paths and ``$and`` free).
    max_nodes: int = 64
    #: Items in one ``$in`` / ``$nin`` array.
    max_in_items: int = 256
    #: Path segments after the root.
    max_path_segments: int = 16
    #: UTF-8 bytes of the compact JSON encoding of the filter as written.
    max_encoded_bytes: int = 8192
    #: Largest magnitude of a numeric literal (2^53: every such integer is exact as a double).
    max_abs_number: int = 2**53
    #: Arrays/objects nested in one ``$eq``/``$ne`` operand or one ``$in``/``$nin`` item.
    max_operand_nesting: int = 32
    #: Arrays/objects nested in the whole filter value (the top-level object is 1).
    max_nesting: int = 120
    #: pyiii's own, not the spec's: array elements ``$any`` may examine in one evaluation
    #: (summed over every ``$any``); past it the evaluation is no match (budget.py).
    max_any_elements: int = 100_000

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> FilterLimits:
        """Limits from a config section (``{max_depth: 6, ...}``); missing keys keep the spec's
        default, an unknown key or a bad value is a ``ValueError`` naming it."""
        values = values or {}
        known = [field.name for field in fields(cls)]
        unknown = sorted(str(key) for key in values if key not in known)
        if unknown:
            raise ValueError(f"unknown filter limit(s) {', '.join(unknown)} (known: {', '.join(known)})")
        return cls(**values)

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value < 1:
                raise ValueError(f"FilterLimits.{field.name} must be a positive integer, got {value!r}")
