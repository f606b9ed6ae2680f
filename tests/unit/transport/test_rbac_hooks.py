"""``transport.rbac``: a listener's ``rbac`` block becomes each connection's grant, its
registration hooks included (the session asks them; tests/unit/core/test_session.py)."""

from __future__ import annotations

from typing import Any

from pyiii.core.engine import Engine
from pyiii.core.functions import CallContext
from pyiii.core.registration_hooks import NO_HOOKS, RegistrationHooks
from pyiii.transport.rbac import RbacConfig, authenticate

HOOKS = {
    "on_function_registration_function_id": "hooks::fn",
    "on_trigger_type_registration_function_id": "hooks::tt",
    "on_trigger_registration_function_id": "hooks::tr",
    "hook_timeout_ms": 250,
}
EXPECTED = RegistrationHooks("hooks::fn", "hooks::tt", "hooks::tr", timeout_ms=250)


async def admit(data: Any, ctx: CallContext) -> Any:
    return {"context": {"user": "u1"}}


async def test_a_trusted_listener_asks_no_hooks() -> None:
    access = await authenticate(Engine(), None, [], None, {}, "", "127.0.0.1")
    assert access.hooks is NO_HOOKS and not access.rbac


async def test_every_session_of_an_rbac_listener_carries_its_hooks() -> None:
    engine = Engine()
    engine.register_function("auth::admit", admit)
    without_auth = await authenticate(engine, RbacConfig(**HOOKS), [], None, {}, "", "127.0.0.1")
    with_auth = await authenticate(engine, RbacConfig(auth_function_id="auth::admit", **HOOKS), [], None, {}, "",
                                   "127.0.0.1")
    assert without_auth.hooks == EXPECTED and with_auth.hooks == EXPECTED
    assert with_auth.context == {"user": "u1"}


async def test_an_rbac_listener_without_hooks_asks_none() -> None:
    access = await authenticate(Engine(), RbacConfig(), [], None, {}, "", "127.0.0.1")
    assert access.hooks == NO_HOOKS and access.rbac
