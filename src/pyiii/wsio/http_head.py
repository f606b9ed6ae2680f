"""Read the head of an HTTP/1.1 request and write a plain response (the picows server reads
the upgrade request itself, so the upgrade hook can be awaited before picows takes over)."""

from __future__ import annotations

from pyiii.wsio.types import HttpReply

#: Same bounds as websockets: a request head larger than this is refused.
MAX_HEAD_BYTES = 16 * 1024
MAX_HEADERS = 128


class BadRequest(Exception):
    pass


def parse_head(head: bytes) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """``head`` without the final blank line → (method, target, headers)."""
    lines = head.split(b"\r\n")
    try:
        method, target, version = lines[0].decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("invalid request line") from None
    if version != "HTTP/1.1":
        raise BadRequest(f"unsupported protocol {version!r}")
    if len(lines) - 1 > MAX_HEADERS:
        raise BadRequest("too many headers")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest("invalid header line")
        headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return method, target, tuple(headers)


def encode_reply(reply: HttpReply) -> bytes:
    lines = [f"HTTP/1.1 {reply.status} {reply.phrase}"]
    lines += [f"{name}: {value}" for name, value in reply.headers
              if name.lower() not in ("content-length", "connection")]
    lines += [f"Content-Length: {len(reply.body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body
