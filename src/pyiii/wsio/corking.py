"""An asyncio transport wrapper that can hold writes back until the end of a loop turn.

picows writes every frame at once (often with its own ``send()`` syscall). Between ``cork``
and ``uncork`` this wrapper reports a non-empty buffer, so picows hands it the framed bytes
instead, and ``uncork`` writes them all in one call. Everything else goes to the real transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


class CorkingTransport:
    def __init__(self, real: asyncio.Transport) -> None:
        self.real = real
        self._held: list[bytes] | None = None
        #: Bytes held back right now (a sender's backlog includes them).
        self.held_bytes = 0

    def cork(self) -> None:
        if self._held is None:
            self._held = []

    def uncork(self) -> None:
        held, self._held = self._held, None
        self.held_bytes = 0
        # A socket closed meanwhile cannot take them (asyncio would log each lost write).
        if held and not self.real.is_closing():
            self.real.write(held[0] if len(held) == 1 else b"".join(held))

    def write(self, data: Any) -> None:
        if self._held is not None:
            chunk = bytes(data)  # picows may pass a view of its reused buffer
            self._held.append(chunk)
            self.held_bytes += len(chunk)
        else:
            self.real.write(data)

    def writelines(self, chunks: Iterable[Any]) -> None:
        if self._held is not None:
            for chunk in chunks:
                self.write(chunk)
        else:
            # picows sends a large frame as [header, payload], the header a view of a buffer it
            # reuses for the next frame; uvloop keeps what it cannot send at once as given, so a
            # lagging peer would get the next frame's header. bytes() of bytes is no copy.
            self.real.writelines([bytes(chunk) for chunk in chunks])

    def get_write_buffer_size(self) -> int:
        # Non-zero while corked: picows then writes through us instead of the socket.
        return self.real.get_write_buffer_size() + (1 if self._held is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
