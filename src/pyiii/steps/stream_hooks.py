"""Stream hooks from ``*_stream.py`` configs: ``on_join``/``on_leave`` behind one function per
event (``motia::stream::join|leave``, triggers ``stream:join|leave``) dispatching on the stream
name, and ``authenticate`` as ``motia::stream::authenticate`` (name it in iii-stream's
``auth_function`` to use it). Motia's ids are kept so existing config.yaml files keep working."""

from __future__ import annotations

import logging
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

log = logging.getLogger("pyiii.steps")


class Subscription(AttrDict):
    _aliases: ClassVar[dict[str, str]] = {
        "groupId": "group_id", "item_id": "id", "streamName": "stream_name", "subscriptionId": "subscription_id"}


def _join_result(result: Any) -> dict[str, Any]:
    if isinstance(result, bool):
        return {"unauthorized": not result}
    if isinstance(result, dict):
        return {"unauthorized": bool(result.get("unauthorized", False))}
    return {"unauthorized": False}


def _auth_result(result: Any) -> dict[str, Any]:
    """The engine's allow/deny shape for what a user's ``authenticate`` returned: only ``True``
    or an object saying ``authorized: true`` (or carrying a ``context``) admits; anything else,
    ``None`` included, is an explicit ``{"authorized": false}`` (fail closed)."""
    dump = getattr(result, "model_dump", None)  # Motia's StreamAuthResult model
    if callable(dump):
        result = dump()
    if result is True:
        return {"authorized": True, "context": None}
    if isinstance(result, dict) and result.get("unauthorized", False) is False and (
            result.get("authorized") is True or ("authorized" not in result and "context" in result)):
        return {"authorized": True, "context": result.get("context")}
    return {"authorized": False}


def register_hooks(client: III, streams: Mapping[str, Stream],
                   authenticate: Callable[..., Any] | None = None) -> list[Callable[[], None]]:
    """``authenticate``: the project's global hook (``motia_config.py``); it wins over the
    ``authenticate`` of a ``*_stream.py`` config."""
    undo: list[Callable[[], None]] = []
    joins = {n: s.config.on_join for n, s in streams.items() if s.config.on_join}
    leaves = {n: s.config.on_leave for n, s in streams.items() if s.config.on_leave}
    auths = [s.config.authenticate for s in streams.values() if s.config.authenticate]
    if authenticate is not None:
        auths.insert(0, authenticate)

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

        hook = auths[0]
        if len(auths) > 1:
            log.warning("steps: %d stream authenticate hooks; only the first (%s) is used", len(auths),
                        getattr(hook, "__qualname__", hook))

        async def auth(payload: Any) -> Any:
            result = await invoke(hook, (AttrDict(payload if isinstance(payload, dict) else {}), ctx("auth")))
            return _auth_result(result)

        undo.append(client.register_function(AUTH_ID, auth, metadata={"internal": True}).unregister)
    return undo
