"""Deliver one event to the bindings it matched, in order: the rule every event trigger type
(state, stream, configuration, ...) shares. A binding's condition function runs first and only an
explicit ``false`` skips it; a failing binding is logged and does not stop the others."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pyiii.core import Binding, FunctionError, Host

log = logging.getLogger("pyiii.triggers")


async def deliver(host: Host, kind: str, targets: Iterable[tuple[Binding, str | None]], event: Any,
                  traceparent: str | None = None, baggage: str | None = None) -> str | None:
    """``targets``: (binding, condition function id or None). Returns the last failure's message."""
    failed = None
    for binding, condition in targets:
        try:
            if condition:
                verdict = await host.call_for(binding, condition, event, traceparent=traceparent, baggage=baggage)
                if verdict is False:
                    continue
            await host.fire(binding, event, traceparent=traceparent, baggage=baggage)
        except FunctionError as exc:
            failed = f"{binding.function_id}: {exc.message}"
            log.warning("%s trigger %s -> %s failed: %s", kind, binding.id, binding.function_id, exc)
    return failed
