"""``core/inputs.py`` and ``errors.bad_input``: how a built-in function refuses a payload."""

from __future__ import annotations

import msgspec
import pytest

from pyiii.core import FunctionError, bad_input, decode_args, error_codes


class Args(msgspec.Struct):
    name: str = "x"
    limit: int = 10


def test_null_is_an_empty_object_and_defaults_fill_in() -> None:
    assert decode_args("f::g", None, Args) == Args()
    assert decode_args("f::g", {"limit": 3}, Args) == Args(limit=3)


def test_a_payload_that_does_not_fit_is_a_deserialization_error_naming_the_function() -> None:
    with pytest.raises(FunctionError) as info:
        decode_args("f::g", {"limit": "many"}, Args)
    assert info.value.code == error_codes.DESERIALIZATION_ERROR
    assert info.value.message.startswith("Failed to deserialize input for f::g: Expected `int`")


def test_bad_input_words_the_reason_as_the_reference_does() -> None:
    error = bad_input("q::publish", "missing field `data`")
    assert (error.code, error.message) == ("deserialization_error",
                                           "Failed to deserialize input for q::publish: missing field `data`")
