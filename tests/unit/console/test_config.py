"""The console's settings: the namespace bound is configurable and checked at load."""

from __future__ import annotations

import msgspec
import pytest

from pyiii.console.config import ConsoleConfig


def test_the_namespace_bound_defaults_to_256_and_can_be_set() -> None:
    assert msgspec.convert({}, ConsoleConfig).max_namespace_chars == 256
    assert msgspec.convert({"max_namespace_chars": 64}, ConsoleConfig).max_namespace_chars == 64


@pytest.mark.parametrize("value", [0, -1, 65537, "64"])
def test_a_bound_out_of_range_is_a_config_error(value: object) -> None:
    with pytest.raises(msgspec.ValidationError, match="max_namespace_chars"):
        msgspec.convert({"max_namespace_chars": value}, ConsoleConfig)
