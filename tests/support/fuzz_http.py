"""Generated HTTP/1.1 requests for fuzzing iii-http over raw sockets (tests/security/test_fuzz_http).

Each case carries what a correct server must do with it: ``ok`` leading 2xx answers (the valid
requests), then for the rest either ``reject`` (4xx, or a close without an answer) or ``any``
(whatever the server decides, as long as it is not a 5xx and comes within the bound). All
randomness comes from one ``random.Random``, so a seed replays a run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Then = Literal["none", "reject", "any"]


@dataclass(frozen=True)
class HttpCase:
    kind: str
    #: Written in order; the connection may be closed by the server between them.
    chunks: tuple[bytes, ...]
    ok: int = 0
    then: Then = "none"
    #: Half-close after the last chunk (EOF: the client will send nothing more). Only for cases
    #: whose point is the missing rest; the others keep the connection open to the end.
    half_close: bool = False
    #: Reset the connection right after writing (an early close); nothing is read.
    abort: bool = False
    #: Statuses accepted besides the 4xx of ``reject`` (e.g. 501 for an unknown transfer coding).
    allow: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Limits:
    """The iii-http limits the fuzz engine is configured with (and the defaults it relies on)."""

    max_url_bytes: int
    max_headers: int
    max_body_bytes: int
    max_header_bytes: int = 64 * 1024


class HttpFuzzer:
    def __init__(self, rng: random.Random, path: str, limits: Limits) -> None:
        self.rng = rng
        self.path = path
        self.limits = limits
        cases: list[tuple[Callable[[], HttpCase], int]] = [
            (self.valid, 20), (self.pipelined_valid, 4), (self.not_found, 3), (self.truncated_head, 8),
            (self.held_head, 1), (self.truncated_body, 4), (self.long_url, 3), (self.many_headers, 3),
            (self.huge_header, 2), (self.big_body, 3), (self.big_chunked_body, 2), (self.bad_request_line, 8),
            (self.bad_content_length, 6), (self.duplicate_content_length, 3), (self.cl_and_te, 3),
            (self.bad_transfer_encoding, 4), (self.bad_chunks, 8), (self.pipelined_garbage, 5),
            (self.early_close, 4), (self.random_bytes, 5), (self.header_garbage, 5),
        ]
        self._makers = [c for c, _ in cases]
        self._weights = [w for _, w in cases]

    def __next__(self) -> HttpCase:
        return self.rng.choices(self._makers, self._weights)[0]()

    def __iter__(self) -> HttpFuzzer:
        return self

    # ------------------------------------------------------------------ building blocks

    def _body(self) -> bytes:
        obj = {"n": self.rng.randrange(1 << 30), "s": "é" * self.rng.randrange(50), "l": [1, None, True]}
        return json.dumps(obj).encode()

    def _head(self, method: str = "POST", target: str | None = None, headers: list[str] | None = None,
              close: bool = True) -> bytes:
        lines = [f"{method} {target or self.path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += headers or []
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _request(self, close: bool = True) -> bytes:
        """A valid request to the fuzz route: GET, POST with Content-Length, or chunked POST."""
        style = self.rng.randrange(3)
        if style == 0:
            return self._head("GET", f"{self.path}?q={self.rng.randrange(1000)}&x=%C3%A9", close=close)
        body = self._body()
        if style == 1:
            return self._head("POST", headers=["Content-Type: application/json", f"Content-Length: {len(body)}"],
                              close=close) + body
        cut = self.rng.randrange(1, len(body))
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:cut], body[cut:])) + b"0\r\n\r\n"
        return self._head("POST", headers=["Content-Type: application/json", "Transfer-Encoding: chunked"],
                          close=close) + chunked

    def _split(self, raw: bytes) -> tuple[bytes, ...]:
        """Send in a few pieces at random boundaries: parsers must not care."""
        if len(raw) < 4 or self.rng.random() < 0.5:
            return (raw,)
        cuts = sorted(self.rng.sample(range(1, len(raw)), min(3, len(raw) - 1)))
        return tuple(raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True))

    # ------------------------------------------------------------------ valid

    def valid(self) -> HttpCase:
        return HttpCase("valid", self._split(self._request()), ok=1)

    def pipelined_valid(self) -> HttpCase:
        n = self.rng.randrange(2, 5)
        raw = b"".join(self._request(close=False) for _ in range(n - 1)) + self._request()
        return HttpCase("pipelined_valid", self._split(raw), ok=n)

    def not_found(self) -> HttpCase:
        target = self.rng.choice(["/nope", "/fz", self.path + "/x", "/%2e%2e/etc", "/fz/../fz/echo", "//x"])
        return HttpCase("not_found", (self._head("GET", target),), then="reject")

    # ------------------------------------------------------------------ truncated / early close

    def truncated_head(self) -> HttpCase:
        raw = self._request()
        head_end = raw.index(b"\r\n\r\n")
        return HttpCase("truncated_head", (raw[: self.rng.randrange(1, head_end + 3)],), then="reject",
                        half_close=True)

    def held_head(self) -> HttpCase:
        """A head that never ends, connection held open: closed by the server's own deadline."""
        raw = self._request()
        return HttpCase("held_head", (raw[: self.rng.randrange(1, raw.index(b"\r\n\r\n"))],), then="reject")

    def truncated_body(self) -> HttpCase:
        body = self._body()
        head = self._head(headers=["Content-Type: application/json", f"Content-Length: {len(body) + 10}"])
        return HttpCase("truncated_body", (head, body), then="reject", half_close=True)

    def early_close(self) -> HttpCase:
        raw = self._request()
        return HttpCase("early_close", (raw[: self.rng.randrange(1, len(raw))],), abort=True)

    # ------------------------------------------------------------------ oversized

    def long_url(self) -> HttpCase:
        n = self.rng.randrange(self.limits.max_url_bytes + 1, self.limits.max_url_bytes * 4)
        return HttpCase("long_url", (self._head("GET", self.path + "?a=" + "u" * n),), then="reject")

    def many_headers(self) -> HttpCase:
        n = self.rng.randrange(self.limits.max_headers + 1, self.limits.max_headers * 3)
        return HttpCase("many_headers", (self._head("GET", headers=[f"X-H{i}: v" for i in range(n)]),),
                        then="reject")

    def huge_header(self) -> HttpCase:
        """A few lines, one of them larger than the whole head may be (issue #16 item 1)."""
        n = self.rng.randrange(self.limits.max_header_bytes + 1, self.limits.max_header_bytes * 4)
        return HttpCase("huge_header", self._split(self._head("GET", headers=["X-Big: " + "h" * n])),
                        then="reject")

    def big_body(self) -> HttpCase:
        n = self.rng.randrange(self.limits.max_body_bytes + 1, self.limits.max_body_bytes * 2)
        head = self._head(headers=[f"Content-Length: {n}"])
        return HttpCase("big_body", (head, b"b" * n), then="reject")

    def big_chunked_body(self) -> HttpCase:
        piece = b"c" * 8192
        n = self.limits.max_body_bytes // len(piece) + 2
        body = b"".join(b"2000\r\n" + piece + b"\r\n" for _ in range(n)) + b"0\r\n\r\n"
        return HttpCase("big_chunked_body", (self._head(headers=["Transfer-Encoding: chunked"]), body),
                        then="reject")

    # ------------------------------------------------------------------ malformed

    def bad_request_line(self) -> HttpCase:
        line = self.rng.choice([
            b"GET\r\n", b"GET " + self.path.encode() + b"\r\n", b"GET " + self.path.encode() + b" HTTP/9.9\r\n",
            b"G\x00T / HTTP/1.1\r\n", b"get / http/1.1\r\n", b"GET  / HTTP/1.1\r\n", b" GET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1 extra\r\n", b"\r\n\r\nGET", b"GET /\x7f\x01 HTTP/1.1\r\n", b"GET http://[::1 HTTP/1.1\r\n",
            b"POST / HTTP/1.1\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"PRI * HTTP/2.0\r\n",
            b"GET / HTTP/1.1\rHost: x\r\n", b"GET /\x80\xff HTTP/1.1\r\n",
        ])
        # No version at all is HTTP/0.9, which a server may still serve.
        then: Then = "any" if line == b"GET " + self.path.encode() + b"\r\n" else "reject"
        return HttpCase(f"bad_request_line:{line[:24]!r}", (line + b"Host: 127.0.0.1\r\n\r\n",), then=then)

    def header_garbage(self) -> HttpCase:
        header = self.rng.choice([
            "NoColon", ": empty-name", "Bad Name: v", "X: a\rb", "X:\x00", " Folded: v", "X-Ü: v",
            "Host: a\r\nHost: b", "X: " + "\x01" * 10,
        ])
        return HttpCase(f"header_garbage:{header[:12]!r}", (self._head("GET", headers=[header]),), then="any")

    def bad_content_length(self) -> HttpCase:
        value = self.rng.choice(["abc", "-1", "1,2", "", "0x10", "+5", "1.5", "99999999999999999999999", "5 5"])
        return HttpCase("bad_content_length", (self._head(headers=[f"Content-Length: {value}"]) + b"hello",),
                        then="reject")

    def duplicate_content_length(self) -> HttpCase:
        body = self._body()
        other = self.rng.choice([len(body), len(body) + 1, 0])
        head = self._head(headers=[f"Content-Length: {len(body)}", f"Content-Length: {other}"])
        # Identical duplicates may be merged (RFC 9110 §8.6); differing ones must be refused.
        return HttpCase("duplicate_content_length", (head + body,), then="any" if other == len(body) else "reject")

    def cl_and_te(self) -> HttpCase:
        head = self._head(headers=["Content-Length: 4", "Transfer-Encoding: chunked"])
        return HttpCase("cl_and_te", (head + b"5\r\nhello\r\n0\r\n\r\n",), then="any")

    def bad_transfer_encoding(self) -> HttpCase:
        value = self.rng.choice(["gzip", "chunked, gzip", "xchunked", "chunked\x00", "identity", "chunked;q=1"])
        # A parameter on chunked is no coding anyone defined, but not a framing error either.
        then: Then = "any" if value == "chunked;q=1" else "reject"
        head = self._head(headers=["Content-Type: application/json", f"Transfer-Encoding: {value}"])
        # RFC 9112 §6.1: chunked not last -> 400; a coding the server does not know -> 501 allowed.
        return HttpCase(f"bad_transfer_encoding:{value!r}", (head + b"5\r\nhello\r\n0\r\n\r\n",), then=then,
                        allow=frozenset({501}))

    def bad_chunks(self) -> HttpCase:
        """Chunk framing errors: 400 at once and the connection closed (issue #16 item 3), with
        the connection held open so a parser that waits for more shows as a hang. JSON bodies
        are read before the handler runs, so the error must come first (a streamed body may
        already have its answer when the bad chunk arrives)."""
        body, then = self.rng.choice([
            (b"ZZ\r\nhello\r\n0\r\n\r\n", "reject"), (b"FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", "reject"),
            (b"5\r\nhelloXX0\r\n\r\n", "reject"), (b"3\r\nhello\r\n0\r\n\r\n", "reject"),
            (b"-5\r\nhello\r\n0\r\n\r\n", "reject"), (b" 5\r\nhello\r\n0\r\n\r\n", "reject"),
            (b"5;\x00\r\nhello\r\n0\r\n\r\n", "reject"), (b"0x5\r\nhello\r\n0\r\n\r\n", "reject"),
            (b"5\r\nhello\r\n0\r\nno-colon\r\n\r\n", "reject"),  # a trailer line that is no field
            (b"5\nhello\n0\n\n", "any"),  # bare LF line ends: a recipient MAY accept them (RFC 9112 §2.2)
        ])
        head = self._head(headers=["Content-Type: application/json", "Transfer-Encoding: chunked"])
        return HttpCase(f"bad_chunks:{body[:12]!r}", (head + body,), then=then)

    def pipelined_garbage(self) -> HttpCase:
        garbage = self.rng.choice([b"\x00\xff garbage\r\n\r\n", b"GET\r\n\r\n", self.rng.randbytes(64)])
        return HttpCase("pipelined_garbage", (self._request(close=False) + garbage,), ok=1, then="reject")

    def random_bytes(self) -> HttpCase:
        return HttpCase("random_bytes", (self.rng.randbytes(self.rng.randrange(1, 2048)),), then="reject")
