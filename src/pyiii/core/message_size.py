"""How large a message one worker connection accepts (spec iii-0.23-0.25 §2.4).

The official Python SDK read messages of at most 1 MiB (the ``websockets`` default) until 0.24.6
raised it to 64 MiB; a bigger message makes its client drop the connection (1009), failing every
call in flight. So toward a connection that reported runtime ``python`` with an older version, or
that has not reported anything yet (while its namespace hold waits for that report), the engine
sends nothing over ``legacy_max_message_bytes``
and answers the caller with ``payload_too_large`` instead. A worker that declared
``large-messages.v1`` accepts large messages whatever it reports; ``pyiii``'s own SDK (telemetry
framework ``pyiii``) reads 64 MiB at every version.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Final

from pyiii.core.features import LARGE_MESSAGES_V1

if TYPE_CHECKING:
    from pyiii.core.peer import Peer

#: The first official Python SDK that reads 64 MiB messages.
PYTHON_LARGE_SINCE: Final = (0, 24, 6)
#: No limit beyond the transport's own.
UNBOUNDED: Final = sys.maxsize

_VERSION: Final = re.compile(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?")


def _version(text: str | None) -> tuple[int, int, int] | None:
    match = _VERSION.match(text or "")
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def accepts_large_messages(peer: Peer) -> bool:
    """True when ``peer`` is known to read messages over 1 MiB."""
    if LARGE_MESSAGES_V1 in peer.shared_features:
        return True
    metadata = peer.metadata
    if metadata.runtime == "unknown":
        # Nothing reported yet: assume the smallest reader, until the namespace hold runs out
        # without a register call; every official Python SDK makes one at once, so a connection
        # that never does (a browser, a raw client) is not one of them.
        return peer.namespace_timed_out
    if metadata.runtime != "python" or metadata.telemetry.get("framework") == "pyiii":
        return True
    version = _version(metadata.version)
    return version is not None and version >= PYTHON_LARGE_SINCE


def message_limit(peer: Peer, legacy_max_message_bytes: int) -> int:
    """The largest message the engine sends to ``peer`` (0 in the config: no limit)."""
    if legacy_max_message_bytes <= 0 or accepts_large_messages(peer):
        return UNBOUNDED
    return legacy_max_message_bytes


def too_large_message(what: str, size: int, limit: int, peer: Peer) -> str:
    return (
        f"{what} is {size} bytes, over the {limit} bytes worker {peer.display_name} accepts "
        "(an iii-sdk before 0.24.6 reads at most 1 MiB; engine.legacy_max_message_bytes)"
    )
