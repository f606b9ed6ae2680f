"""``pyiii.core.access``: the RBAC decision of spec/protocol.md §6.3 and ``match()`` filters."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.core.access import (
    INFRASTRUCTURE_FUNCTIONS,
    Access,
    ExposeRule,
    glob_match,
    parse_expose_rules,
    parse_match,
)
from pyiii.core.functions import FunctionEntry
from pyiii.core.peer import Peer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('match("api::*")', "api::*"),
        ("match('api::*')", "api::*"),
        ('  match( "x" )  ', "x"),
        ('match("")', ""),
        ("match(api::*)", None),
        ("match(\"a')", None),
        ("api::*", None),
        (5, None),
        (None, None),
    ],
)
def test_parse_match(value: object, expected: str | None) -> None:
    assert parse_match(value) == expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "anything::at::all", True),
        ("*", "", True),
        ("api::*", "api::users::list", True),  # `*` crosses `::`
        ("api::*", "xapi::users", False),  # anchored at the start
        ("*::list", "api::users::list", True),
        ("*::list", "api::users::lister", False),  # anchored at the end
        ("a.b", "a.b", True),
        ("a.b", "axb", False),  # `.` is literal
        ("a+b", "a+b", True),
        ("a?b", "axb", False),  # `?` is literal
        ("[ab]", "a", False),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("a*b*c", "a-x-b-y-c", True),
        ("line*", "line\nbreak", True),
    ],
)
def test_glob_match(pattern: str, value: str, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


def test_metadata_rule_and_semantics() -> None:
    rule = ExposeRule(metadata={"public": True, "name": 'match("*public*")'})
    assert rule.matches("x", {"public": True, "name": "my-public-fn", "extra": 1})
    assert not rule.matches("x", {"public": True, "name": "private"})
    assert not rule.matches("x", {"public": False, "name": "public"})
    assert not rule.matches("x", {"name": "public"})  # missing key
    assert not rule.matches("x", {"public": True, "name": 5})  # match() only on strings
    assert not rule.matches("x", None)
    assert not rule.matches("x", ["public"])
    assert ExposeRule(metadata={"tier": {"a": [1]}}).matches("x", {"tier": {"a": [1]}})


def test_parse_expose_rules() -> None:
    rules = parse_expose_rules(['match("api::*")', {"metadata": {"public": True}}])
    assert rules[0].id_glob == "api::*" and rules[0].metadata is None
    assert rules[1].metadata == {"public": True} and rules[1].id_glob is None
    for bad in ["api::*", {"metadata": 1}, {"metadata": {}, "other": 1}, 5]:
        with pytest.raises(ValueError, match=r"expose_functions\[0\]"):
            parse_expose_rules([bad])


def test_permissive_session_allows_everything() -> None:
    access = Access.permissive()
    assert access.decide("anything::goes", None) == (True, "")
    assert access.may_bind("http")
    assert access.allow_function_registration and access.allow_trigger_type_registration
    assert access.prefixed("a::b") == "a::b" == access.unprefixed("a::b")


def test_decision_order() -> None:
    access = Access(
        rbac=True,
        expose=parse_expose_rules(['match("api::*")', {"metadata": {"public": True}}]),
        allowed_functions=frozenset({"secret::allowed", "api::both"}),
        forbidden_functions=frozenset({"api::both", "api::forbidden", "engine::log::info"}),
    )
    # 1. forbidden beats everything, even an explicit allow, a matching rule or the carve-out.
    assert access.decide("api::both", None) == (False, "remove from rbac.forbidden_functions")
    assert access.decide("api::forbidden", None)[0] is False
    assert access.decide("engine::log::info", None)[0] is False
    # 2. explicitly allowed.
    assert access.decide("secret::allowed", None) == (True, "")
    # 3. infrastructure carve-out.
    assert access.decide("engine::channels::create", None) == (True, "")
    assert access.decide("engine::workers::register", None) == (True, "")
    # 5. expose filters: by id or by metadata.
    assert access.decide("api::users", None) == (True, "")
    assert access.decide("internal::x", {"public": True}) == (True, "")
    assert access.decide("internal::x", {"public": False}) == (False, "add to rbac.expose_functions")
    assert access.decide("engine::functions::list", None) == (False, "add to rbac.expose_functions")


def test_rbac_with_no_rules_denies_all_but_the_carve_out() -> None:
    access = Access(rbac=True)
    for fid in INFRASTRUCTURE_FUNCTIONS:
        assert access.decide(fid, None)[0], fid
    assert not access.decide("api::x", {"public": True})[0]
    assert not access.decide("engine::functions::list", None)[0]


def test_no_rbac_block_allows_all_not_forbidden() -> None:
    access = Access(rbac=False, forbidden_functions=frozenset({"x::y"}))
    assert access.decide("a::b", None)[0]
    assert not access.decide("x::y", None)[0]


def test_carve_out_is_exactly_the_spec_list() -> None:
    assert (
        frozenset(
            {
                "engine::channels::create",
                "engine::workers::register",
                "engine::log::info",
                "engine::log::warn",
                "engine::log::error",
                "engine::log::debug",
                "engine::log::trace",
                "engine::baggage::get",
                "engine::baggage::set",
                "engine::baggage::get_all",
            }
        )
        == INFRASTRUCTURE_FUNCTIONS
    )


def test_trigger_type_allow_list() -> None:
    access = Access(allowed_trigger_types=frozenset({"http"}))
    assert access.may_bind("http")
    assert not access.may_bind("cron")
    assert not Access(allowed_trigger_types=frozenset()).may_bind("http")


def test_data_trigger_types_need_an_explicit_grant() -> None:
    """``allowed_trigger_types`` absent (all) does not reach the explicit types; naming one does."""
    explicit = frozenset({"state", "queue"})
    everything = Access(rbac=True, explicit_trigger_types=explicit)
    assert everything.may_bind("http") and everything.may_bind("cron")
    assert not everything.may_bind("state")
    refusal = everything.bind_refusal("queue")
    assert refusal is not None and "allowed_trigger_types" in refusal and "explicit_trigger_types" in refusal
    named = Access(rbac=True, explicit_trigger_types=explicit, allowed_trigger_types=frozenset({"state"}))
    assert named.may_bind("state") and not named.may_bind("queue")
    assert Access(rbac=True).may_bind("state")  # the switch off ([]): the reference's rule


def test_rbac_config_lists_the_data_trigger_types_by_default() -> None:
    from pyiii.transport.rbac import DATA_TRIGGER_TYPES, RbacConfig

    assert set(RbacConfig().explicit_trigger_types) == set(DATA_TRIGGER_TYPES)
    assert {"queue", "state", "stream", "subscribe"} <= set(DATA_TRIGGER_TYPES)
    assert RbacConfig(explicit_trigger_types=[]).explicit_trigger_types == []


def test_registration_prefix() -> None:
    access = Access(function_registration_prefix="tenant-a")
    assert access.prefixed("orders::create") == "tenant-a::orders::create"
    assert access.unprefixed("tenant-a::orders::create") == "orders::create"
    assert access.unprefixed("tenant-b::orders::create") == "tenant-b::orders::create"
    assert access.unprefixed("tenant-aorders") == "tenant-aorders"


class FakePeer(Peer):
    async def send_frame(self, frame: bytes) -> None:
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


def test_may_call_is_decide_plus_own_functions() -> None:
    session = Access(rbac=True, expose=[ExposeRule(metadata={"public": True})])
    me, other = FakePeer("me", "t"), FakePeer("other", "t")
    mine = FunctionEntry(id="x::mine", owner=me)
    public = FunctionEntry(id="x::pub", metadata={"public": True}, owner=other)
    private = FunctionEntry(id="x::priv", owner=other)
    assert session.may_call("x::pub", public) == (True, "")
    assert session.may_call("x::priv", private)[0] is False
    assert session.may_call("x::mine", mine)[0] is False  # invoking: the plain §6.3 decision
    assert session.may_call("x::mine", mine, registrant=me) == (True, "")  # binding its own function
    assert session.may_call("x::priv", private, registrant=me)[0] is False
    assert session.may_call("x::gone", None, registrant=me)[0] is False


# ------------------------------------------------------------------ namespaces (iii 0.23)


def test_expose_rules_are_scoped_to_a_namespace() -> None:
    """Spec iii-0.23-0.25 §1.8, §6.7 item 42."""
    plain = Access(rbac=True, expose=parse_expose_rules(['match("api::*")']))
    assert plain.decide("api::x", None) == (True, "")
    assert plain.decide("api::x", None, "orders")[0] is False
    scoped = Access(rbac=True, expose=parse_expose_rules([{"match": "api::*", "namespace": "orders"},
                                                         {"metadata": {"public": True}, "namespace": "orders"}]))
    assert scoped.decide("api::x", None, "orders") == (True, "")
    assert scoped.decide("api::x", None)[0] is False
    assert scoped.decide("svc::y", {"public": True}, "orders") == (True, "")


@pytest.mark.parametrize("item", [
    {"match": "api::*", "metadata": {"a": 1}}, {"match": "api::*", "namesapce": "orders"}, {"namespace": "orders"},
    {"match": "api::*", "namespace": " "},
])
def test_bad_namespaced_expose_rules_are_config_errors(item: Any) -> None:
    with pytest.raises(ValueError, match="expose_functions"):
        parse_expose_rules([item])


def test_allowed_functions_apply_in_default_and_forbidden_ones_everywhere() -> None:
    """§6.7 items 43 and 45."""
    access = Access(rbac=True, allowed_functions=frozenset({"svc::f"}),
                    forbidden_functions=frozenset({"engine::log::info"}))
    assert access.decide("svc::f", None) == (True, "")
    assert access.decide("svc::f", None, "orders")[0] is False
    assert access.decide("engine::log::info", None, "orders")[0] is False


def test_the_auth_results_namespaces_grant_and_scope() -> None:
    """§6.7 item 44: grants per namespace; a scoped session declares only its namespaces."""
    access = Access(rbac=True, namespaces={"orders": ("svc::*",), "ops": ('match("ops::*")', "x::exact"),
                                           "empty": ()})
    assert access.decide("svc::f", None, "orders") == (True, "")
    assert access.decide("svc::f", None)[0] is False
    assert access.decide("ops::a", None, "ops") == (True, "")
    assert access.decide("x::exact", None, "ops") == (True, "")
    assert access.decide("x::exactly", None, "ops")[0] is False
    assert access.namespace_refusal("orders") is None
    assert access.namespace_refusal("billing") == (
        "namespace 'billing' not allowed for this session (permitted: empty, ops, orders)")
    assert Access(rbac=True).namespace_refusal("anything") is None
