"""What one connection may do: the session of spec/protocol.md §6.2, decided once at connect.

A listener without ``rbac`` gives every connection :meth:`Access.permissive`. With an auth
function, the transport builds an :class:`Access` from the function's ``AuthResult``.

Every access rule is here, as a decision; the session (core/session.py) applies them to the
frames of its connection, and the engine's in-process API to what a session asks through engine
functions (``engine::register_trigger``) and to its bindings when they fire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from pyiii.core.namespaces import DEFAULT
from pyiii.core.registration_hooks import NO_HOOKS, RegistrationHooks

if TYPE_CHECKING:
    from pyiii.core.functions import FunctionEntry, FunctionRegistry
    from pyiii.core.peer import Peer
    from pyiii.core.triggers import Binding, TriggerType

#: Ids every session may call, whatever its grant (spec §6.3 step 3).
INFRASTRUCTURE_FUNCTIONS: Final[frozenset[str]] = frozenset(
    {
        "engine::channels::create",
        "engine::workers::register",
        "engine::log::info",
        "engine::log::warn",
        "engine::log::error",
        "engine::log::debug",
        "engine::log::trace",
        "engine::baggage::get",
        "engine::baggage::set",
        "engine::baggage::get_all",
    }
)

_ALLOWED: Final = (True, "")
_MATCH_RE: Final = re.compile(r"""^\s*match\(\s*(['"])(.*)\1\s*\)\s*$""")


def parse_match(value: Any) -> str | None:
    """Return the glob inside ``match("...")``, or None if ``value`` is not a match()."""
    if not isinstance(value, str):
        return None
    m = _MATCH_RE.match(value)
    return m.group(2) if m else None


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    # Only `*` is special (any run of characters, `::` included), anchored at both ends.
    parts = (re.escape(p) for p in pattern.split("*"))
    return re.compile("^" + ".*".join(parts) + "$", re.DOTALL)


def glob_match(pattern: str, value: str) -> bool:
    return _glob_regex(pattern).match(value) is not None


@dataclass(frozen=True, slots=True)
class ExposeRule:
    """One ``expose_functions`` entry: an id glob, or a metadata filter (AND over keys), for
    the functions of one namespace (``default`` unless the rule names one; iii 0.23)."""

    id_glob: str | None = None
    metadata: dict[str, Any] | None = None
    namespace: str = DEFAULT

    def matches(self, function_id: str, function_metadata: Any) -> bool:
        if self.id_glob is not None:
            return glob_match(self.id_glob, function_id)
        if self.metadata is None or not isinstance(function_metadata, dict):
            return False
        for key, expected in self.metadata.items():
            if key not in function_metadata:
                return False
            actual = function_metadata[key]
            glob = parse_match(expected)
            if glob is not None:
                if not isinstance(actual, str) or not glob_match(glob, actual):
                    return False
            elif actual != expected:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Access:
    """The effective grant of one connection, and the hooks its listener asks on registrations.
    Frozen: decided once at connect, and shared by every binding the session makes."""

    rbac: bool = False
    expose: Sequence[ExposeRule] = ()
    allowed_functions: frozenset[str] = frozenset()
    forbidden_functions: frozenset[str] = frozenset()
    allowed_trigger_types: frozenset[str] | None = None
    #: Types bound only when ``allowed_trigger_types`` names them: ``None`` (all) leaves them
    #: out. They deliver other parties' data (rbac.explicit_trigger_types).
    explicit_trigger_types: frozenset[str] = frozenset()
    allow_trigger_type_registration: bool = True
    allow_function_registration: bool = True
    function_registration_prefix: str | None = None
    context: Any = field(default_factory=dict)
    #: The listener's ``middleware_function_id`` (spec §6.4), if any.
    middleware_function_id: str | None = None
    #: The listener's registration hooks (spec §6.5).
    hooks: RegistrationHooks = NO_HOOKS
    #: The auth result's ``namespaces`` (iii 0.23): namespace -> grants (an id, a ``*`` glob or
    #: ``match("…")``). Not empty: the session is *scoped* to these namespaces.
    namespaces: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def permissive(cls) -> Access:
        return cls()

    def decide(self, function_id: str, function_metadata: Any, namespace: str = DEFAULT) -> tuple[bool, str]:
        """``(allowed, remediation)`` for invoking ``function_id`` in ``namespace`` (spec §6.3
        order, with the namespace steps of iii 0.23: spec iii-0.23-0.25 §1.8)."""
        if not self.rbac and not self.forbidden_functions:  # permissive session: the hot path
            return _ALLOWED
        if function_id in self.forbidden_functions:  # every namespace
            return False, "remove from rbac.forbidden_functions"
        grants = self.namespaces.get(namespace)
        if grants and any(_granted(grant, function_id) for grant in grants):
            return True, ""
        if namespace == DEFAULT and function_id in self.allowed_functions:  # default only
            return True, ""
        if function_id in INFRASTRUCTURE_FUNCTIONS:
            return True, ""
        if not self.rbac:
            return True, ""
        if any(rule.namespace == namespace and rule.matches(function_id, function_metadata) for rule in self.expose):
            return True, ""
        return False, "add to rbac.expose_functions"

    def namespace_refusal(self, namespace: str) -> str | None:
        """Why a scoped session may not declare ``namespace`` (None: it may)."""
        if not self.namespaces or namespace in self.namespaces:
            return None
        return f"namespace '{namespace}' not allowed for this session (permitted: {', '.join(sorted(self.namespaces))})"

    def may_call(
        self, function_id: str, entry: FunctionEntry | None, registrant: Peer | None = None, namespace: str = DEFAULT
    ) -> tuple[bool, str]:
        """The one access decision for running ``function_id`` for this session: on invoke, when
        it binds a trigger and when that binding fires. A binding's ``registrant`` may also
        target a function it serves itself (it only runs its own code)."""
        if registrant is not None and entry is not None and entry.owner is registrant:
            return _ALLOWED
        if entry is None:
            return self.decide(function_id, None, namespace)
        return self.decide(function_id, entry.metadata, entry.namespace)

    def call_refusal(
        self, function_id: str, entry: FunctionEntry | None, registrant: Peer | None = None, namespace: str = DEFAULT
    ) -> str | None:
        """:meth:`may_call` as the message of a refusal (None: allowed)."""
        allowed, remediation = self.may_call(function_id, entry, registrant, namespace)
        return None if allowed else refusal_message(function_id, remediation)

    def targets_refusal(
        self, function_ids: Iterable[str], functions: FunctionRegistry, registrant: Peer | None,
        namespace: str = DEFAULT,
    ) -> str | None:
        """Why a binding of this session may not run one of ``function_ids`` in ``namespace``
        (None: it may). The message names the namespace, as iii 0.23's does (§1.6)."""
        for function_id in function_ids:
            allowed, remediation = self.may_call(
                function_id, functions.get(function_id, namespace), registrant, namespace
            )
            if not allowed:
                return f"function '{function_id}' not allowed in namespace '{namespace}' ({remediation})"
        return None

    def takeover_refusal(self, function_id: str, existing: FunctionEntry | None, peer: Peer) -> str | None:
        """Why ``peer`` may not register ``function_id`` over ``existing`` (None: it may). Last
        writer wins only among trusted workers: an RBAC session must not take over a function
        another live worker or a built-in serves (e.g. the auth function)."""
        if (
            self.rbac
            and existing is not None
            and existing.owner is not peer
            and (existing.owner is None or existing.owner.connected)
        ):
            return f"'{function_id}' is owned by another worker"
        return None

    def provider_refusal(
        self, type_id: str, current: TriggerType | None, engine_provided: bool, peer: Peer
    ) -> str | None:
        """Why ``peer`` may not provide ``type_id`` where ``current`` serves it (None: it may).
        A session must not take a type from the engine (every namespace's bindings of ``http``,
        ``cron``, ... would follow it by replacement or re-homing), nor from another live worker,
        as for functions (:meth:`takeover_refusal`)."""
        if not self.rbac:
            return None
        if engine_provided:
            return f"trigger type '{type_id}' is provided by the engine"
        if current is not None and current.owner is not peer and (current.owner is None or current.owner.connected):
            return f"trigger type '{type_id}' is provided by another worker"
        return None

    def may_remove(self, binding: Binding, peer: Peer) -> bool:
        """Trusted workers may remove their own and ownerless bindings; a session only its own.
        (The reference engine lets anyone remove anyone's binding.)"""
        if binding.owner is peer:
            return True
        return binding.owner is None and not self.rbac

    @property
    def restricted(self) -> bool:
        """Whether :meth:`decide` can deny anything (the permissive session cannot)."""
        return self.rbac or bool(self.forbidden_functions)

    def may_bind(self, trigger_type: str) -> bool:
        return self.bind_refusal(trigger_type) is None

    def bind_refusal(self, trigger_type: str) -> str | None:
        """Why this session may not bind ``trigger_type`` (None: it may)."""
        if self.allowed_trigger_types is not None:
            if trigger_type in self.allowed_trigger_types:
                return None
            return f"trigger type '{trigger_type}' not allowed for this session (allowed_trigger_types)"
        if trigger_type in self.explicit_trigger_types:
            return (
                f"trigger type '{trigger_type}' delivers other parties' data: a session binds it only when "
                "its auth result names it in allowed_trigger_types (rbac.explicit_trigger_types)"
            )
        return None

    def prefixed(self, function_id: str) -> str:
        p = self.function_registration_prefix
        return f"{p}::{function_id}" if p else function_id

    def unprefixed(self, function_id: str) -> str:
        p = self.function_registration_prefix
        if p and function_id.startswith(p + "::"):
            return function_id[len(p) + 2 :]
        return function_id


def refusal_message(function_id: str, remediation: str) -> str:
    return f"function '{function_id}' not allowed ({remediation})"


def _granted(grant: str, function_id: str) -> bool:
    """A grant of the auth result's ``namespaces``: an exact id, a bare ``*`` glob or ``match("…")``."""
    glob = parse_match(grant)
    if glob is not None:
        return glob_match(glob, function_id)
    return glob_match(grant, function_id) if "*" in grant else grant == function_id


def parse_expose_rules(raw: list[Any]) -> list[ExposeRule]:
    """Parse config ``expose_functions``; raises ValueError naming the bad entry. Forms:
    ``match("glob")`` (default only), ``{match: "glob", namespace?}`` (the glob written raw),
    ``{metadata: {...}, namespace?}``."""
    rules: list[ExposeRule] = []
    for i, item in enumerate(raw):
        glob = parse_match(item)
        if glob is not None:
            rules.append(ExposeRule(id_glob=glob))
            continue
        if isinstance(item, dict) and len(set(item) & {"match", "metadata"}) == 1 and set(item) <= {
            "match", "metadata", "namespace"
        }:
            namespace = item.get("namespace", DEFAULT)
            if not isinstance(namespace, str) or not namespace.strip():
                raise ValueError(f"expose_functions[{i}]: namespace must be a non-blank string, got {namespace!r}")
            if isinstance(item.get("match"), str):
                rules.append(ExposeRule(id_glob=item["match"], namespace=namespace))
                continue
            if isinstance(item.get("metadata"), dict):
                rules.append(ExposeRule(metadata=dict(item["metadata"]), namespace=namespace))
                continue
        raise ValueError(
            f'expose_functions[{i}]: expected match("glob"), {{match: "glob", namespace?: ns}} or '
            f"{{metadata: {{...}}, namespace?: ns}}, got {item!r}"
        )
    return rules


__all__ = [
    "INFRASTRUCTURE_FUNCTIONS",
    "Access",
    "ExposeRule",
    "glob_match",
    "parse_expose_rules",
    "parse_match",
    "refusal_message",
]
