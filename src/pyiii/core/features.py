"""Feature negotiation (spec iii-0.23-0.25 §2): what the engine advertises in
``workerregistered.features`` and what one connection may get, from both sides' lists.

The engine announces its features before it knows the worker's (``workerregistered`` is the first
frame); the worker's arrive with ``engine::workers::register``. A frame family is exchanged only
when both sides list its feature, so every check is ``feature in peer.shared_features``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

#: The observe protocol (spec §5): ``functionregistered``, ``caller``/``observe_depth`` on calls,
#: ``localinvocationstats`` and the observer family.
OBSERVE_V1: Final = "observe.v1"
#: The engine may confirm a function for in-process self-calls (``local_dispatch: true``, §3).
LOCAL_DISPATCH_V1: Final = "local-dispatch.v1"
#: Declared by SDKs only: the worker accepts messages up to 64 MiB whatever version it reports.
#: The engine never advertises it (spec §2.2).
LARGE_MESSAGES_V1: Final = "large-messages.v1"

#: Everything this engine implements, in the order it advertises them.
ENGINE_FEATURES: Final[tuple[str, ...]] = (OBSERVE_V1, LOCAL_DISPATCH_V1)


def advertised(configured: Iterable[str] | None) -> tuple[str, ...]:
    """What ``workerregistered`` lists: every engine feature, or the operator's subset (config
    ``engine.features``; an empty list makes a 0.24-like engine). Raises ValueError for a name the
    engine does not implement, so a typo cannot silently switch a feature off."""
    if configured is None:
        return ENGINE_FEATURES
    wanted = list(configured)
    unknown = sorted(set(wanted) - set(ENGINE_FEATURES))
    if unknown:
        raise ValueError(f"unknown engine feature(s) {unknown}; this engine implements {list(ENGINE_FEATURES)}")
    return tuple(f for f in ENGINE_FEATURES if f in wanted)


def shared(engine_features: Iterable[str], declared: Iterable[str]) -> frozenset[str]:
    """The features both sides listed (unknown strings are ignored, spec §2.2); what the worker
    alone declares (``large-messages.v1``) is kept too, as it only widens what it accepts."""
    mine = set(engine_features)
    theirs = frozenset(f for f in declared if isinstance(f, str))
    return frozenset(f for f in theirs if f in mine or f == LARGE_MESSAGES_V1)
