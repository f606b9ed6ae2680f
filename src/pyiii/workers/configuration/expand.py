"""``${VAR}`` / ``${VAR:default}`` in stored values, applied on every read (spec/workers.md §1.3).

Unlike config.yaml loading this never fails: an unset variable without default is reported and
left literally. A string that is one whole placeholder is re-read as a YAML scalar, so
``"${PORT:3111}"`` becomes ``3111``; templates mixed with text stay strings.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from pyiii.env_vars import PLACEHOLDER, value_of

_SCALARS = (str, int, float, bool)


def expand(value: Any, version: str, missing: set[str] | None = None) -> Any:
    """A copy of ``value`` with placeholders substituted in every string (keys untouched);
    names of unset variables are added to ``missing``."""
    if isinstance(value, str):
        return _expand_str(value, version, missing)
    if isinstance(value, dict):
        return {k: expand(v, version, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, version, missing) for v in value]
    return value


def _expand_str(text: str, version: str, missing: set[str] | None) -> Any:
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        value = value_of(match, version)
        if value is None:
            if missing is not None:
                missing.add(match.group(1))
            return match.group(0)
        return value

    whole = PLACEHOLDER.fullmatch(text)
    result = PLACEHOLDER.sub(replace, text)
    if whole is None or result == "" or result == text:
        return result
    return _scalar(result)


def _scalar(text: str) -> Any:
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    # Only scalars: a variable holding "[1, 2]" or "a: b" stays the string it was.
    return parsed if isinstance(parsed, _SCALARS) else text
