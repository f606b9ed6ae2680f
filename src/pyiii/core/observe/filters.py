"""The filter language as core/observe uses it: the ``pyiii.observe_filter`` package (a leaf)."""

from pyiii.observe_filter import Filter, FilterError, FilterLimits, compile_filter

__all__ = ["Filter", "FilterError", "FilterLimits", "compile_filter"]
