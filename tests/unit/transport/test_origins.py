"""Which handshakes a worker listener accepts by their Origin (transport/origins.py)."""

from __future__ import annotations

import pytest

from pyiii.transport.origins import origin_allowed


@pytest.mark.parametrize(("origin", "allowed", "rbac", "expected"), [
    (None, None, False, True),                       # SDKs send no Origin
    ("http://evil.example", None, False, False),     # trusted listener: no browser by default
    ("http://evil.example", None, True, True),       # RBAC listener: any by default
    ("https://a.example", ["https://a.example"], False, True),
    ("HTTPS://A.example/", ["https://a.example"], False, True),
    ("https://b.example", ["https://a.example"], True, False),  # a list is honoured on RBAC too
    ("https://b.example", ["*"], False, True),
    ("null", ["https://a.example"], False, False),
])
def test_origin_allowed(origin: str | None, allowed: list[str] | None, rbac: bool, expected: bool) -> None:
    assert origin_allowed(origin, allowed, rbac) is expected
