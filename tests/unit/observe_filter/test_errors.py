from __future__ import annotations

import pickle

from pyiii.observe_filter import INVALID_FILTER, FilterError


def test_the_error_carries_the_wire_code_and_a_message() -> None:
    error = FilterError("`input.x`: operand must be a string")
    assert (error.code, error.message, str(error)) == (INVALID_FILTER, "`input.x`: operand must be a string",
                                                       "`input.x`: operand must be a string")
    assert INVALID_FILTER == "INVALID_FILTER"
    assert isinstance(error, ValueError)


def test_the_error_pickles_whole() -> None:
    copy = pickle.loads(pickle.dumps(FilterError("bad")))
    assert (copy.code, copy.message) == (INVALID_FILTER, "bad")
