"""Stream hooks from ``*_stream.py`` configs: ``on_join``/``on_leave`` behind one function per
event (``motia::stream::join|leave``, triggers ``stream:join|leave``) dispatching on the stream
name, and ``authenticate`` as ``motia::stream::authenticate`` (name it in iii-stream's
``auth_function`` to use it). Motia's ids are kept so existing config.yaml files keep working."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from pyiii.sdk import III
from pyiii.steps.context import FlowContext, TriggerInfo
from pyiii.steps.inputs import AttrDict
from pyiii.steps.invoke import invoke
from pyiii.steps.streams import Stream

JOIN_ID = "motia::stream::join"
LEAVE_ID = "motia::stream::leave"
AUTH_ID = "motia::stream::authenticate"


class Subscription(AttrDict):
    _aliases: ClassVar[dict[str, str]] = {
        "groupId": "group_id", "item_id": "id", "streamName": "stream_name", "subscriptionId": "subscription_id"}


def _join_result(result: Any) -> dict[str, Any]:
    if isinstance(result, bool):
        return {"unauthorized": not result}
    if isinstance(result, dict):
        return {"unauthorized": bool(result.get("unauthorized", False))}
    return {"unauthorized": False}


def register_hooks(client: III, streams: Mapping[str, Stream]) -> list[Callable[[], None]]:
    undo: list[Callable[[], None]] = []
    joins = {n: s.config.on_join for n, s in streams.items() if s.config.on_join}
    leaves = {n: s.config.on_leave for n, s in streams.items() if s.config.on_leave}
    auths = [s.config.authenticate for s in streams.values() if s.config.authenticate]

    def ctx(kind: str) -> FlowContext:
        return FlowContext(trigger=TriggerInfo(type=kind), step_name="streams", streams=streams)

    def dispatcher(hooks: Mapping[str, Callable[..., Any]], kind: str, is_join: bool) -> Callable[..., Any]:
        async def run(payload: Any) -> Any:
            data = payload if isinstance(payload, dict) else {}
            hook = hooks.get(str(data.get("stream_name")))
            if hook is None:
                return {"unauthorized": False} if is_join else None
            result = await invoke(hook, (Subscription(data), ctx(kind), data.get("context")))
            return _join_result(result) if is_join else None

        return run

    for fid, hooks, kind, is_join in ((JOIN_ID, joins, "stream:join", True), (LEAVE_ID, leaves, "stream:leave", False)):
        if hooks:
            ref = client.register_function(fid, dispatcher(hooks, kind, is_join), metadata={"internal": True})
            trigger = client.register_trigger({"type": kind, "function_id": fid, "config": {}})
            undo += [ref.unregister, trigger.unregister]
    if auths:
        authenticate = auths[0]

        async def auth(payload: Any) -> Any:
            result = await invoke(authenticate, (AttrDict(payload if isinstance(payload, dict) else {}), ctx("auth")))
            if isinstance(result, bool):
                return {"authorized": result, "context": None}
            return result

        undo.append(client.register_function(AUTH_ID, auth, metadata={"internal": True}).unregister)
    return undo
