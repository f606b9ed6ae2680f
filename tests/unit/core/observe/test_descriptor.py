"""``pyiii.core.observe.descriptor``: ``registerfunction.observe`` read leniently, ``args``
checked against ``args_format`` (spec iii-0.23-0.25 §5.3.5, §5.4 step 7)."""

from __future__ import annotations

from pyiii.core.observe.descriptor import AUTO, OWNER, PLAIN, parse_descriptor


def test_absent_or_malformed_descriptors_are_plain() -> None:
    assert parse_descriptor(None, "f") is PLAIN and parse_descriptor([1], "f") is PLAIN
    odd = parse_descriptor({"delivery": "sometimes", "allow": "no", "legacy_trigger_type": ""}, "f")
    assert (odd.delivery, odd.allow, odd.legacy_trigger_type) == (AUTO, True, None)
    assert parse_descriptor({"args_format": {"type": 5}}, "f").args_format is None  # not a schema


def test_args_are_for_owner_functions_and_checked_against_the_schema() -> None:
    assert PLAIN.args_refusal(None) is None and PLAIN.args_refusal({}) is None
    assert "owner-delivered" in (PLAIN.args_refusal({"k": 1}) or "")
    owner = parse_descriptor({"delivery": "owner", "allow": False, "legacy_trigger_type": "cron", "args_format": {
        "type": "object", "required": ["expression"], "properties": {"expression": {"type": "string"}}}}, "f")
    assert (owner.delivery, owner.allow, owner.legacy_trigger_type) == (OWNER, False, "cron")
    assert owner.args_refusal({"expression": "* *"}) is None
    assert "source.args.expression" in (owner.args_refusal({"expression": 5}) or "")
    assert "required" in (owner.args_refusal(None) or "")
