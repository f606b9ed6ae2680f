"""The ``rbac`` block of a listener is checked when the config is read (spec iii-0.23-0.25 §1.8)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from pyiii.transport.rbac import RbacConfig


@pytest.mark.parametrize("rule", [
    {"match": "api::*", "namesapce": "orders"},
    {"match": "api::*", "metadata": {"public": True}},
    {"namespace": "orders"},
])
def test_a_malformed_expose_rule_is_a_config_error(rule: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError, match=r"expose_functions\[0\]"):
        msgspec.convert({"expose_functions": [rule]}, RbacConfig)


def test_well_formed_expose_rules_load() -> None:
    rules = ['match("api::*")', {"match": "api::*", "namespace": "orders"}, {"metadata": {"public": True}}]

    assert msgspec.convert({"expose_functions": rules}, RbacConfig).expose_functions == rules
