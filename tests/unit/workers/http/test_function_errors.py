"""Which HTTP status a function's error code gets (workers/http/function_errors.py)."""

from __future__ import annotations

import pytest

from pyiii.workers.http.config import HttpConfig
from pyiii.workers.http.function_errors import status_for


@pytest.mark.parametrize(("code", "status"), [
    ("limit_exceeded", 503),
    ("invocation_timeout", 504),
    ("function_not_found", 500),  # the reference's answer when a route's worker is gone
    ("invocation_failed", 500),
    ("MY_APP_ERROR", 500),
])
def test_status_for(code: str, status: int) -> None:
    assert status_for(code) == status


def test_negative_retry_after_is_refused() -> None:
    with pytest.raises(ValueError, match="overload_retry_after"):
        HttpConfig(overload_retry_after=-1)
