"""Payload <-> JSON bytes for the SDK, tolerant of what handlers commonly return."""

from __future__ import annotations

from typing import Any, Final

import msgspec
from msgspec import Raw

from ..protocol import ABSENT


def _enc_hook(value: Any) -> Any:
    # Pydantic models (ours or a user's) serialise the way FastAPI users expect.
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


_encoder: Final = msgspec.json.Encoder(enc_hook=_enc_hook)
_decoder: Final = msgspec.json.Decoder()


def to_payload(value: Any) -> Raw:
    """Encode a value as a present payload (``None`` becomes JSON ``null``, never absent)."""
    return Raw(_encoder.encode(value))


def to_optional_payload(value: Any) -> Raw:
    """Encode a value, or an absent payload for ``None`` (the field is then omitted).

    It must be the ``ABSENT`` singleton: msgspec omits a default by identity, and a fresh
    empty ``Raw()`` would be written out as nothing, i.e. invalid JSON."""
    return ABSENT if value is None else Raw(_encoder.encode(value))


def from_payload(raw: Raw) -> Any:
    return _decoder.decode(raw) if raw else None


def dumps(value: Any) -> bytes:
    return _encoder.encode(value)


def loads(data: bytes) -> Any:
    return _decoder.decode(data)
