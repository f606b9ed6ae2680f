"""Server-sent events: the ``data:`` payloads of an SSE body, one string per event.

OpenAI-compatible servers stream ``data: {json}`` events separated by blank lines and end with
``data: [DONE]``. Per the SSE spec an event may span several ``data:`` lines (joined with
newlines); comments (``:``) and other fields (``event:``, ``id:``, ``retry:``) are ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


async def iter_sse_data(lines: AsyncIterable[str]) -> AsyncIterator[str]:
    buffer: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            buffer.append(value[1:] if value.startswith(" ") else value)
    if buffer:  # a body that ends without the final blank line
        yield "\n".join(buffer)
