"""Forwarding to a remote iii engine over the worker protocol (the ``bridge`` adapters)."""

from pyiii.adapters.bridge.client import (
           TIMEOUT,
           UNAVAILABLE,
           BridgeError,
           RemoteEngine,
           forwarded_error,
           incoming_trace,
)
from pyiii.adapters.bridge.config import BridgeAdapter, BridgeConfig

__all__ = ["TIMEOUT", "UNAVAILABLE", "BridgeAdapter", "BridgeConfig", "BridgeError", "RemoteEngine", "forwarded_error",
           "incoming_trace"]
