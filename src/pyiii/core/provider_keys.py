"""Which provider serves a binding (spec iii-0.23-0.25 §1.6): pure rules, no registry.

A provider is filed under ``(namespace, type id)``. A binding with an explicit
``trigger_namespace`` is served only there; otherwise by its home namespace's provider, falling
back to ``default``'s. Only a binding on that fallback moves when its home gets a provider.
"""

from __future__ import annotations

from typing import TypeAlias

from pyiii.core.namespaces import DEFAULT

#: ``(namespace, trigger type id)``.
ProviderKey: TypeAlias = tuple[str, str]


def candidate_keys(trigger_type: str, trigger_namespace: str | None, home_namespace: str) -> list[ProviderKey]:
    """The provider keys to try for a binding, best first."""
    if trigger_namespace is not None:
        return [(trigger_namespace, trigger_type)]  # strict: never falls back
    if home_namespace == DEFAULT:
        return [(DEFAULT, trigger_type)]
    return [(home_namespace, trigger_type), (DEFAULT, trigger_type)]


def is_on_fallback(trigger_namespace: str | None, home_namespace: str, provider_namespace: str | None) -> bool:
    """Served, but not at home only because home had no provider: re-homing may move it."""
    return trigger_namespace is None and provider_namespace is not None and provider_namespace != home_namespace
