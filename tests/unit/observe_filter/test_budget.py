"""The evaluation budget (``FilterLimits.max_any_elements``): elements ``$any`` examines in one
evaluation, summed over every ``$any``; past it the evaluation is no match."""

from __future__ import annotations

from pyiii.observe_filter import FilterLimits, compile_filter
from pyiii.observe_filter.budget import Budget


def test_at_the_budget_an_evaluation_runs_one_past_it_is_no_match() -> None:
    f = compile_filter({"input.a": {"$any": {"$eq": 9}}}, limits=FilterLimits(max_any_elements=10))
    assert f.matches({"input": {"a": [0] * 9 + [9]}})
    assert not f.matches({"input": {"a": [0] * 10 + [9]}})
    assert f.exhausted == 1


def test_only_examined_elements_are_spent() -> None:
    f = compile_filter({"input.a": {"$any": {"$eq": 1}}}, limits=FilterLimits(max_any_elements=2))
    assert f.matches({"input": {"a": [0, 1, *range(1000)]}})  # stops at the match
    assert not f.matches({"input": {"a": [0, 0, 1]}})


def test_every_any_spends_from_one_budget_refilled_per_evaluation() -> None:
    source = {"$or": [{"input.a": {"$any": {"$eq": 1}}}, {"input.a": {"$any": {"$eq": 2}}}]}
    f = compile_filter(source, limits=FilterLimits(max_any_elements=8))
    assert f.matches({"input": {"a": [0, 0, 0, 2]}})  # 4 + 4 elements
    assert f.matches({"input": {"a": [0, 0, 0, 2]}})  # refilled
    assert not f.matches({"input": {"a": [0, 0, 0, 0, 2]}})  # 5 + 5
    assert f.exhausted == 1


def test_nested_any_spends_for_every_element_of_every_array_it_enters() -> None:
    f = compile_filter({"input.a": {"$any": {"$any": {"$eq": 1}}}}, limits=FilterLimits(max_any_elements=6))
    assert f.matches({"input": {"a": [[0, 0], [0, 1]]}})  # 2 outer + 2 + 2 inner
    assert not f.matches({"input": {"a": [[0, 0, 0], [0, 1]]}})  # 2 + 3 + 2


def test_an_empty_any_operand_spends_nothing() -> None:
    """``{}`` only asks for a non-empty array: no element is examined, nothing is spent."""
    f = compile_filter({"input.a": {"$any": {}}}, limits=FilterLimits(max_any_elements=1))
    assert f.matches({"input": {"a": list(range(1000))}})


def test_filters_without_any_never_run_out() -> None:
    f = compile_filter({"input.a": {"$eq": list(range(200))}}, limits=FilterLimits(max_any_elements=1))
    assert f.matches({"input": {"a": list(range(200))}}) and f.exhausted == 0


def test_refill() -> None:
    budget = Budget(5)
    budget.left -= 7
    budget.refill()
    assert budget.left == 5
