"""An asyncio transport wrapper that can hold writes back until the end of a loop turn.

picows writes every frame at once (often with its own ``send()`` syscall). Between ``cork``
and ``uncork`` this wrapper reports a non-empty buffer, so picows hands it the framed bytes
instead, and ``uncork`` writes them all in one call. Everything else goes to the real transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Final

#: FIN + text opcode, then the payload length when it fits the 7-bit field.
_SHORT_TEXT_HEADERS: Final = tuple(bytes((0x81, size)) for size in range(126))


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

    def hold_text(self, payload: bytes) -> None:
        """Hold a server's text frame (unmasked, one fragment: RFC 6455 §5.2), framed here: the
        bytes picows's ``send`` would hand :meth:`write`, without its two calls back into Python
        and its copy. Only while corked."""
        size = len(payload)
        if size < 126:
            header = _SHORT_TEXT_HEADERS[size]
        elif size < 65536:
            header = b"\x81\x7e" + size.to_bytes(2, "big")
        else:
            header = b"\x81\x7f" + size.to_bytes(8, "big")
        held = self._held
        assert held is not None
        held.append(header)
        held.append(payload)
        self.held_bytes += len(header) + size

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
