"""Error codes of the ``configuration::*`` functions and the id rule they all share."""

from __future__ import annotations

import re
from typing import Final

from pyiii.core import FunctionError

INVALID_ID: Final = "INVALID_ID"
NOT_FOUND: Final = "NOT_FOUND"
NOT_REGISTERED: Final = "NOT_REGISTERED"
SCHEMA_UNAVAILABLE: Final = "SCHEMA_UNAVAILABLE"
SCHEMA_INVALID: Final = "SCHEMA_INVALID"
ADAPTER_ERROR: Final = "ADAPTER_ERROR"

ID_RE: Final = re.compile(r"[a-z0-9_-]{1,64}")


def check_id(config_id: str) -> str:
    # The id is also a file name: the rule keeps it from escaping the directory.
    if not ID_RE.fullmatch(config_id):
        raise FunctionError(INVALID_ID, f"invalid configuration id {config_id!r}: must match [a-z0-9_-]{{1,64}}")
    return config_id
