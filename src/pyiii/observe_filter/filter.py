"""A validated filter compiled once into closures, and :func:`compile_filter` that makes one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyiii.observe_filter import checks
from pyiii.observe_filter.budget import Budget, BudgetExhausted
from pyiii.observe_filter.compiler import Clause, Compiler
from pyiii.observe_filter.limits import FilterLimits

_DEFAULT_LIMITS = FilterLimits()
_EMPTY: Mapping[str, Any] = {}


class Filter:
    """``matches(doc)`` evaluates on a match document ``{input?, output?|error?, caller?,
    metadata?}`` (spec §5.7): a missing key is an absent root, ``None`` the value ``null``.

    ``roots`` names the document roots the filter reads (empty for ``{}``), so a caller builds only
    what is needed; ``match_all`` is true for ``{}``; ``normal_form`` is the JSON to push to
    owners: the filter exactly as written (a private copy), the same every time (spec §5.12.7).
    ``exhausted`` counts the evaluations cut short by ``FilterLimits.max_any_elements``.
    """

    __slots__ = ("_budget", "_clause", "exhausted", "match_all", "normal_form", "roots")

    def __init__(self, clause: Clause, roots: frozenset[str], normal_form: dict[str, Any], budget: Budget) -> None:
        self._clause = clause
        self._budget = budget
        self.roots = roots
        self.normal_form = normal_form
        self.match_all = not normal_form
        self.exhausted = 0

    def matches(self, doc: Mapping[str, Any]) -> bool:
        """Total (spec §5.12.5): never raises; an evaluation that fails is no match."""
        if self.match_all:
            return True
        if type(doc) is not dict and not isinstance(doc, Mapping):
            doc = _EMPTY
        self._budget.refill()
        try:
            return self._clause(doc)
        except BudgetExhausted:
            self.exhausted += 1
            return False
        except Exception:
            return False

    def __repr__(self) -> str:
        return f"Filter({self.normal_form!r})"


def compile_filter(obj: Any, limits: FilterLimits = _DEFAULT_LIMITS, check_size: bool = True) -> Filter:
    """Validate ``obj`` (the decoded JSON filter) against every rule of spec §5.12 and compile it.

    ``check_size=False`` skips the encoded-size limit, for filters the engine pushes back to an
    owner (already checked as written). Raises :class:`FilterError` (``INVALID_FILTER``).
    """
    if check_size:
        checks.check_size(obj, limits)
    checks.check_value(obj, limits)
    # The closures keep operands: they get a private copy (its nesting is bounded now), and so
    # does normal_form, so that neither the caller's object nor the pushed JSON changing later
    # changes the answers.
    compiler = Compiler(limits)
    clause = compiler.filter(copy_json(obj), "", depth=1, in_any=False)
    return Filter(clause, frozenset(compiler.roots), copy_json(obj), compiler.budget)


def copy_json(value: Any) -> Any:
    """A deep copy of a checked JSON value (faster than ``copy.deepcopy``; nesting is bounded)."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value

