"""Per-connection authentication and registration hooks of an RBAC listener (spec §6.2, §6.5).

Everything here calls ordinary functions through the engine; the results decide the
connection's :class:`~pyiii.core.access.Access`, which also carries the listener's registration
hooks (:class:`~pyiii.core.registration_hooks.RegistrationHooks`) for its session to ask.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from pyiii.core.access import Access, ExposeRule, parse_expose_rules
from pyiii.core.engine import Engine
from pyiii.core.errors import INVOCATION_TIMEOUT, FunctionError
from pyiii.core.registration_hooks import RegistrationHooks

log = logging.getLogger("pyiii.rbac")


#: The built-in trigger types that deliver data a session did not produce (workers.md).
DATA_TRIGGER_TYPES: tuple[str, ...] = (
    "queue", "durable:subscriber", "subscribe", "state", "stream", "stream:join", "stream:leave",
    "configuration", "log", "trace", "engine::workers-available", "engine::functions-available",
)


class RbacConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    auth_function_id: str | None = None
    expose_functions: list[Any] = []
    on_function_registration_function_id: str | None = None
    on_trigger_registration_function_id: str | None = None
    on_trigger_type_registration_function_id: str | None = None
    #: An auth call that has not answered by then refuses the connection (fail closed).
    auth_timeout_ms: int = 10_000
    #: The same for each registration hook call (the registration is refused).
    hook_timeout_ms: int = 10_000
    #: Connections waiting for the auth function at once; more are refused with 503.
    max_pending_handshakes: int = 128
    #: Trigger types whose events carry other parties' data (queue messages, state and stream
    #: changes, publishes, config entries, logs, traces, worker and function events). A session
    #: binds one only when its auth result names it in ``allowed_trigger_types``: the spec's
    #: default (absent = all types) does not reach them. ``[]`` restores the reference's rule.
    explicit_trigger_types: list[str] = msgspec.field(default_factory=lambda: list(DATA_TRIGGER_TYPES))

    def __post_init__(self) -> None:
        for name in ("auth_timeout_ms", "hook_timeout_ms", "max_pending_handshakes"):
            value = getattr(self, name)
            if isinstance(value, bool) or value < 1:
                raise ValueError(f"rbac.{name} must be a positive integer, got {value!r}")
        # A malformed rule (an unknown key such as a typo of `namespace`, both `match` and
        # `metadata`) is a config error at load, before any listener opens (spec iii-0.23-0.25 §1.8).
        parse_expose_rules(self.expose_functions)


class AuthResult(msgspec.Struct):
    """What an auth function returns; absent fields take the defaults of spec §6.2."""

    allowed_functions: list[str] = []
    forbidden_functions: list[str] = []
    allowed_trigger_types: list[str] | None = None
    allow_trigger_type_registration: bool = False
    allow_function_registration: bool = True
    function_registration_prefix: str | None = None
    context: Any = {}
    #: iii 0.23: namespace -> grants; not empty: the session may only declare these namespaces.
    namespaces: dict[str, list[str]] = {}


class AuthRefused(Exception):
    pass


class PendingAuth:
    """Counts handshakes waiting for the auth function, bounded by ``max_pending_handshakes``
    (an auth function that hangs must not let waiting sockets pile up)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    @property
    def full(self) -> bool:
        return self.count >= self.limit

    def refusal(self) -> str:
        return f"max_pending_handshakes={self.limit} reached: too many connections waiting for authentication"


def parse_raw_query(query: str) -> dict[str, list[str]]:
    """Group query values per key, **not** URL-decoded (as the reference engine passes them)."""
    out: dict[str, list[str]] = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        out.setdefault(key, []).append(value)
    return out


async def authenticate(
    engine: Engine,
    rbac: RbacConfig | None,
    expose: list[ExposeRule],
    middleware_function_id: str | None,
    headers: dict[str, str],
    query: str,
    ip_address: str | None,
    pending: PendingAuth | None = None,
) -> Access:
    """Build the session of one connection; raises :class:`AuthRefused` on any failure,
    including an auth function that does not answer within ``auth_timeout_ms``."""
    if rbac is None:
        return Access(middleware_function_id=middleware_function_id)
    if rbac.auth_function_id is None:
        # An rbac block without an auth function: exposure rules apply, registrations allowed.
        return Access(rbac=True, expose=expose, middleware_function_id=middleware_function_id,
                      explicit_trigger_types=frozenset(rbac.explicit_trigger_types), hooks=registration_hooks(rbac))
    request = {"headers": headers, "query_params": parse_raw_query(query), "ip_address": ip_address}
    if pending is not None and pending.full:
        raise AuthRefused(pending.refusal())
    if pending is not None:
        pending.count += 1
    try:
        raw = await engine.call(rbac.auth_function_id, request, timeout=rbac.auth_timeout_ms / 1000)
        result = msgspec.convert(raw, AuthResult)
    except FunctionError as exc:
        if exc.code == INVOCATION_TIMEOUT:
            raise AuthRefused(f"auth function did not answer within auth_timeout_ms={rbac.auth_timeout_ms}") from None
        raise AuthRefused(exc.message) from None
    except msgspec.ValidationError as exc:
        raise AuthRefused(f"auth function returned an invalid result: {exc}") from None
    finally:
        if pending is not None:
            pending.count -= 1
    return Access(
        rbac=True,
        expose=expose,
        allowed_functions=frozenset(result.allowed_functions),
        forbidden_functions=frozenset(result.forbidden_functions),
        allowed_trigger_types=None if result.allowed_trigger_types is None else frozenset(result.allowed_trigger_types),
        explicit_trigger_types=frozenset(rbac.explicit_trigger_types),
        allow_trigger_type_registration=result.allow_trigger_type_registration,
        allow_function_registration=result.allow_function_registration,
        function_registration_prefix=result.function_registration_prefix,
        context=result.context if result.context is not None else {},
        middleware_function_id=middleware_function_id,
        hooks=registration_hooks(rbac),
        namespaces={ns: tuple(grants) for ns, grants in result.namespaces.items()},
    )


def registration_hooks(rbac: RbacConfig) -> RegistrationHooks:
    """The listener's registration hooks, asked by each session (core/session_registrations.py)."""
    return RegistrationHooks(
        on_function_registration=rbac.on_function_registration_function_id or None,
        on_trigger_type_registration=rbac.on_trigger_type_registration_function_id or None,
        on_trigger_registration=rbac.on_trigger_registration_function_id or None,
        timeout_ms=rbac.hook_timeout_ms,
    )
