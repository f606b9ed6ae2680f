"""Feature negotiation (spec iii-0.23-0.25 §2): what this SDK declares, what the engine advertised.

The engine announces its features in ``workerregistered``; the SDK declares its own in the
``engine::workers::register`` payload. Unknown strings are ignored on both sides.
"""

from __future__ import annotations

from typing import Final

OBSERVE_V1: Final = "observe.v1"
LOCAL_DISPATCH_V1: Final = "local-dispatch.v1"
#: SDK only: this worker accepts engine messages up to 64 MiB (it reads up to
#: ``InitOptions.max_message_size``, 64 MiB by default).
LARGE_MESSAGES_V1: Final = "large-messages.v1"

#: What pyiii.sdk declares, in the order the official 0.25 SDK sends them.
SDK_FEATURES: Final = (OBSERVE_V1, LOCAL_DISPATCH_V1, LARGE_MESSAGES_V1)


class EngineFeatures:
    """The engine's features as of the latest ``workerregistered``.

    The view is replaced on every ``workerregistered`` and kept while disconnected (so a call made
    offline still carries ``caller``); ``registered_on`` says which connection it came from, so
    "online with observe" means "this very connection heard ``workerregistered`` with it".
    """

    def __init__(self) -> None:
        self.features: frozenset[str] = frozenset()
        #: Generation of the connection whose ``workerregistered`` set the view (0: none yet).
        self.registered_on = 0

    def update(self, features: list[str] | None, generation: int) -> None:
        self.features = frozenset(f for f in features or () if isinstance(f, str))
        self.registered_on = generation

    @property
    def observe(self) -> bool:
        return OBSERVE_V1 in self.features

    def observe_online(self, generation: int | None) -> bool:
        """Connected (``generation`` of the live link) to an engine that advertised observe.v1."""
        return generation is not None and generation == self.registered_on and self.observe
