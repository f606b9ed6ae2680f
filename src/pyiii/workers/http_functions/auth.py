"""Auth of outgoing calls (spec §5): secrets come from the engine's environment, by name."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from pyiii import protocol as p


class SecretMissing(ValueError):
    def __init__(self, code: str, env_name: str) -> None:
        super().__init__(f"{code}: environment variable {env_name!r} is not set in the engine")
        self.code = code


@dataclass(slots=True, frozen=True)
class ResolvedAuth:
    kind: str
    secret: str
    header: str = ""

    def headers(self, timestamp: str, body: bytes) -> dict[str, str]:
        if self.kind == "hmac":
            return {"x-iii-Signature": "sha256=" + sign(self.secret, timestamp, body)}
        if self.kind == "bearer":
            return {"Authorization": f"Bearer {self.secret}"}
        return {self.header: self.secret}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """hex(HMAC-SHA256(secret, "<timestamp>:<base64(body)>"))."""
    message = f"{timestamp}:{base64.b64encode(body).decode('ascii')}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def resolve(auth: p.HttpAuth | None) -> ResolvedAuth | None:
    """Read the named environment variables now (registration time). Raises SecretMissing."""
    if auth is None:
        return None
    if isinstance(auth, p.HttpAuthHmac):
        return ResolvedAuth("hmac", _env(auth.secret_key, "secret_not_found"))
    if isinstance(auth, p.HttpAuthBearer):
        return ResolvedAuth("bearer", _env(auth.token_key, "token_not_found"))
    return ResolvedAuth("api_key", _env(auth.value_key, "api_key_not_found"), auth.header)


def _env(name: str, code: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise SecretMissing(code, name)
    return value
