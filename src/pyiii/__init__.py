"""pyiii: a pure-Python iii engine, worker SDK and Steps framework.

The worker SDK is re-exported here (``from pyiii import register_worker``) but imported lazily,
so that starting the engine does not pay for loading the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "III",
    "EngineFunctions",
    "FunctionRef",
    "IIIConnectionState",
    "InitOptions",
    "InvocationError",
    "Logger",
    "ReconnectionConfig",
    "TelemetryOptions",
    "Trigger",
    "TriggerAction",
    "TriggerActionEnqueue",
    "TriggerActionVoid",
    "__version__",
    "register_worker",
]

if TYPE_CHECKING:
    from .sdk import (
        III,
        EngineFunctions,
        FunctionRef,
        IIIConnectionState,
        InitOptions,
        InvocationError,
        Logger,
        ReconnectionConfig,
        TelemetryOptions,
        Trigger,
        TriggerAction,
        TriggerActionEnqueue,
        TriggerActionVoid,
        register_worker,
    )


#: Everything but the version comes from the SDK, loaded on first use.
_SDK_NAMES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _SDK_NAMES:
        from . import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'pyiii' has no attribute {name!r}")

