"""The built-in console's caller: a call names its namespace only when the console was asked for
one (so the engine's own rule, default, applies otherwise), and engine errors keep their code."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.console.caller import CallFailed, InProcessCaller
from pyiii.core import FunctionError


class FakeHost:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    async def call(self, function_id: str, data: Any, **kwargs: Any) -> Any:
        self.calls.append((function_id, data, kwargs))
        if function_id == "missing":
            raise FunctionError("function_not_found", f"Function {function_id} not found in namespace x")
        return {"ok": True}


async def test_the_namespace_is_passed_only_when_named() -> None:
    host = FakeHost()
    caller = InProcessCaller(host)
    await caller.call("svc::a", {"n": 1}, 5.0, namespace="team-a")
    await caller.call("svc::a", {"n": 2}, 5.0)
    assert host.calls == [("svc::a", {"n": 1}, {"timeout": 5.0, "namespace": "team-a"}),
                          ("svc::a", {"n": 2}, {"timeout": 5.0})]


async def test_engine_errors_keep_their_code() -> None:
    with pytest.raises(CallFailed) as failed:
        await InProcessCaller(FakeHost()).call("missing", {}, namespace="x")
    assert failed.value.code == "function_not_found" and "namespace x" in failed.value.message
