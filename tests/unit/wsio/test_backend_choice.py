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
