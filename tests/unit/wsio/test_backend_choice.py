"""Which backend ``PYIII_WS_BACKEND`` selects."""

from __future__ import annotations

import pytest

from pyiii.wsio.backend import ENV_VAR, backend_name


def test_picows_is_the_default_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert backend_name() == "picows"


@pytest.mark.parametrize("value", ["websockets", " WebSockets ", "picows"])
def test_the_env_var_selects_a_backend(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    assert backend_name() == value.strip().lower()


def test_an_unknown_backend_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "aiohttp")
    with pytest.raises(ValueError, match="PYIII_WS_BACKEND='aiohttp'"):
        backend_name()


def test_the_command_refuses_an_unknown_backend_before_starting(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from pyiii.cli import main

    monkeypatch.setenv(ENV_VAR, "aiohttp")
    assert main(["--port", "0"]) == 2
    assert "PYIII_WS_BACKEND='aiohttp': expected one of picows, websockets" in capsys.readouterr().err


def test_options_from_config_millis_turn_zero_ping_settings_off() -> None:
    from pyiii.wsio import Options

    on = Options.from_millis(max_message_bytes=1024, handshake_timeout_ms=2500, ping_interval_ms=20000,
                             ping_timeout_ms=5000, close_timeout_ms=1000)
    assert (on.handshake_timeout_s, on.ping_interval_s, on.ping_timeout_s, on.close_timeout_s) == (2.5, 20.0, 5.0, 1.0)
    off = Options.from_millis(max_message_bytes=1024, handshake_timeout_ms=10000, ping_interval_ms=0,
                              ping_timeout_ms=0, close_timeout_ms=1000)
    assert off.ping_interval_s is None and off.ping_timeout_s is None
