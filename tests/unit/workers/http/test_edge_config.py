"""iii-http edge limits: a zero or negative limit is a config error, not "no limit"."""

from __future__ import annotations

import msgspec
import pytest

from pyiii.workers.http.config import HttpConfig


@pytest.mark.parametrize("key", ["max_header_bytes", "header_timeout", "body_timeout", "max_connections"])
@pytest.mark.parametrize("value", [0, -1])
def test_a_limit_that_would_mean_no_limit_is_refused(key: str, value: int) -> None:
    with pytest.raises(msgspec.ValidationError, match=f"iii-http {key} must be greater than 0"):
        msgspec.convert({key: value}, HttpConfig)


def test_body_min_rate_zero_makes_body_timeout_a_plain_deadline() -> None:
    assert msgspec.convert({"body_min_rate": 0}, HttpConfig).body_min_rate == 0
    with pytest.raises(msgspec.ValidationError, match="body_min_rate"):
        msgspec.convert({"body_min_rate": -5}, HttpConfig)


def test_defaults() -> None:
    c = HttpConfig()
    assert (c.max_header_bytes, c.header_timeout, c.body_timeout, c.body_min_rate, c.max_connections) == (
        65536, 10.0, 20.0, 500, 10_000)
