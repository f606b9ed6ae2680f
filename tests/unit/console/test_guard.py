"""The console guard's pure parts: Host parsing and the loopback test behind the token rule."""

from __future__ import annotations

import pytest

from pyiii.console.guard import host_name
from pyiii.hosts import connect_host, is_loopback


@pytest.mark.parametrize(("header", "name"), [
    ("localhost:3113", "localhost"), ("127.0.0.1:3113", "127.0.0.1"), ("[::1]:3113", "::1"),
    ("Evil.Example", "evil.example"), ("evil.example:80", "evil.example"), ("::1", "::1"),
])
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.7", False), ("example.com", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_connect_host() -> None:
    assert connect_host("0.0.0.0") == "127.0.0.1" and connect_host("::") == "127.0.0.1"
    assert connect_host("192.0.2.7") == "192.0.2.7"
