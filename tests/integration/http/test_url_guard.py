"""The URL checks of iii-http-functions, in-process (no network needed for literal addresses)."""

from __future__ import annotations

import pytest

from pyiii.workers.http_functions.config import SecurityConfig
from pyiii.workers.http_functions.url_guard import UrlGuard, UrlRejected


@pytest.mark.parametrize("url", ["http://93.184.215.14/x", "ftp://93.184.215.14/x", "file:///etc/passwd",
                                 "https:///nohost"])
async def test_require_https_and_schemes(url: str) -> None:
    with pytest.raises(UrlRejected):
        await UrlGuard(SecurityConfig()).check(url)


async def test_public_literal_is_pinned_with_host_kept() -> None:
    target = await UrlGuard(SecurityConfig()).check("https://93.184.215.14:8443/fn?x=1")
    assert target.url == "https://93.184.215.14:8443/fn?x=1"


@pytest.mark.parametrize("url", ["https://127.0.0.1/", "https://[::ffff:10.0.0.1]/", "https://100.64.0.1/",
                                 "https://192.0.2.1/", "https://0.0.0.0/", "https://[fe80::1]/",
                                 "https://224.0.0.1/"])
async def test_non_public_addresses(url: str) -> None:
    with pytest.raises(UrlRejected, match="non-public"):
        await UrlGuard(SecurityConfig()).check(url)


async def test_allowlist_globs() -> None:
    guard = UrlGuard(SecurityConfig(url_allowlist=["*.example.com"], block_private_ips=False))
    assert (await guard.check("https://api.example.com/x")).url == "https://api.example.com/x"
    with pytest.raises(UrlRejected, match="allowlist"):
        await guard.check("https://example.com.evil.net/x")
