"""``${VAR}`` / ``${VAR:default}`` placeholders (spec/workers.md §1): the one rule of what a
placeholder stands for, shared by config.yaml loading (:mod:`pyiii.engine_config`, where an
unset variable is an error) and the configuration worker (stored values, where it is reported
and left as is). A leaf module: it imports nothing of pyiii."""

from __future__ import annotations

import os
import re

PLACEHOLDER = re.compile(r"\$\{([^}:]+)(?::([^}]*))?\}")
#: A default that stands for the engine's version.
ENGINE_VERSION = "__III_ENGINE_VERSION__"


def value_of(match: re.Match[str], version: str) -> str | None:
    """What the matched placeholder stands for: the variable, else its default (the engine
    version for ``__III_ENGINE_VERSION__``); None when it is unset and has no default."""
    name, default = match.group(1), match.group(2)
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is None:
        return None
    return version if default == ENGINE_VERSION else default
