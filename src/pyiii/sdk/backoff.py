"""Reconnect delay: ``min(initial * multiplier^attempt, max) ± jitter`` (spec §1.7)."""

from __future__ import annotations

import random

from .options import ReconnectionConfig


def reconnect_delay_s(config: ReconnectionConfig, attempt: int) -> float:
    capped = min(
        config.initial_delay_ms * (config.backoff_multiplier**attempt), config.max_delay_ms
    )
    jitter = capped * config.jitter_factor * (2 * random.random() - 1)
    return max(0.0, capped + jitter) / 1000.0


def retries_exhausted(config: ReconnectionConfig, attempt: int) -> bool:
    return config.max_retries >= 0 and attempt >= config.max_retries
