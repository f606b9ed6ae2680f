"""Well-known engine function and trigger ids (same names as the official SDK)."""

from __future__ import annotations

from typing import Final


class EngineFunctions:
    """Ids of the engine's introspection functions."""

    LIST_FUNCTIONS: Final[str] = "engine::functions::list"
    INFO_FUNCTIONS: Final[str] = "engine::functions::info"
    LIST_WORKERS: Final[str] = "engine::workers::list"
    INFO_WORKERS: Final[str] = "engine::workers::info"
    LIST_TRIGGERS: Final[str] = "engine::triggers::list"
    INFO_TRIGGERS: Final[str] = "engine::triggers::info"
    LIST_REGISTERED_TRIGGERS: Final[str] = "engine::registered-triggers::list"
    INFO_REGISTERED_TRIGGERS: Final[str] = "engine::registered-triggers::info"
    REGISTER_WORKER: Final[str] = "engine::workers::register"


class EngineTriggers:
    """Ids of trigger types the engine itself provides."""

    FUNCTIONS_AVAILABLE: Final[str] = "engine::functions-available"
    LOG: Final[str] = "log"


#: Creates a data-channel pair (spec/protocol.md §4.11).
CHANNELS_CREATE: Final[str] = "engine::channels::create"
#: Prefix of the observability worker's log functions (§4.12).
LOG_FUNCTION_PREFIX: Final[str] = "engine::log::"
