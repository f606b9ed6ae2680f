"""How the stream port reads auth and join answers: only an explicit allow admits."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.workers.stream.auth import auth_verdict, join_verdict


@pytest.mark.parametrize("result", [
    False, None, 0, 1, "yes", [], [True], {"authorized": False}, {"authorized": "true"},
    {"unauthorized": True}, {"unauthorized": "no"}, {"authorized": True, "unauthorized": True},
    {"context": {"u": 1}, "authorized": False}, {"context": 1, "unauthorized": True},
])
def test_auth_denials(result: Any) -> None:
    assert auth_verdict(result) == (False, None)


@pytest.mark.parametrize(("result", "context"), [
    (True, None), ({}, None), ({"context": {"u": 1}}, {"u": 1}), ({"context": None}, None),
    ({"authorized": True}, None), ({"authorized": True, "context": "c"}, "c"), ({"unauthorized": False}, None),
])
def test_auth_allows(result: Any, context: Any) -> None:
    assert auth_verdict(result) == (True, context)


@pytest.mark.parametrize(("result", "allowed"), [
    (None, True), ({}, True), (True, True), ({"unauthorized": False}, True), ({"authorized": True}, True),
    (False, False), ({"unauthorized": True}, False), ({"authorized": False}, False), ({"unauthorized": 1}, False),
])
def test_join_verdict(result: Any, allowed: bool) -> None:
    assert join_verdict(result) is allowed
