"""The observer filter language, ``iii-filter`` v1 (spec iii-0.23-0.25 §5.12): validation and
evaluation, used by the engine (observers) and the SDK.

A leaf package: it imports nothing else of pyiii.

>>> f = compile_filter({"input.amount": {"$gte": 500}})
>>> f.matches({"input": {"amount": 750}}), sorted(f.roots)
(True, ['input'])
"""

from __future__ import annotations

from pyiii.observe_filter.errors import INVALID_FILTER, FilterError
from pyiii.observe_filter.filter import Filter, compile_filter
from pyiii.observe_filter.limits import FilterLimits

__all__ = ["INVALID_FILTER", "Filter", "FilterError", "FilterLimits", "compile_filter"]
