"""Subscriber queue names with namespaces (spec iii-0.23-0.25 §1.11)."""

from __future__ import annotations

import itertools

import pytest

from pyiii.workers.queue.naming import (
    escape,
    is_legacy_subscriber,
    is_legacy_subscriber_queue,
    join_ns,
    legacy_target,
    namespace_of,
    split_ns,
    subscriber_key,
    subscriber_of,
    subscriber_queue,
)


def test_a_subscriber_queue_is_topic_function_at_namespace() -> None:
    assert subscriber_queue("orders", subscriber_key("svc::charge", "billing")) == "orders::svc::charge@billing"
    assert subscriber_queue("orders", subscriber_key("svc::charge")) == "orders::svc::charge@default"


def test_escape_doubles_backslashes_before_marking_separators() -> None:
    assert escape("a@b") == "a\\@b"
    assert escape("a\\b") == "a\\\\b"
    assert escape("a\\@b") == "a\\\\\\@b"
    assert join_ns("t::f@x", "n@s") == "t::f\\@x@n\\@s"


def test_the_queue_is_the_escaped_pair_joined_by_the_separator() -> None:
    # The reference's form: esc(topic::fid) + "@" + esc(ns), with every part escaped.
    for topic, fid, ns in [("t@1", "f\\x", "n@"), ("a\\", "@b", "\\@")]:
        assert subscriber_queue(topic, subscriber_key(fid, ns)) == join_ns(f"{topic}::{fid}", ns)


def test_names_are_injective_and_split_back() -> None:
    parts = ["", "a", "@", "\\", "a@b", "a\\@b", "\\\\", "@@", "x\\"]
    seen: dict[str, tuple[str, str]] = {}
    for base, ns in itertools.product(parts, repeat=2):
        name = join_ns(base, ns)
        assert split_ns(name) == (base, ns)
        assert seen.setdefault(name, (base, ns)) == (base, ns), f"{name!r} stands for two pairs"


@pytest.mark.parametrize("name", ["plain", "a@b@c", "a\\x@b", "a@b\\", "a\\"])
def test_names_not_of_the_joined_form_do_not_split(name: str) -> None:
    assert split_ns(name) is None


def test_subscriber_of_reads_function_and_namespace_for_its_topic_only() -> None:
    queue = subscriber_queue("t@x", subscriber_key("svc::f", "ns@1"))
    assert subscriber_of(queue, "t@x") == ("svc::f", "ns@1")
    assert subscriber_of(queue, "t") is None
    assert namespace_of(queue) == "ns@1"
    assert namespace_of("__fn_queue::jobs") is None
    assert namespace_of("__backlog::t") is None


@pytest.mark.parametrize(("name", "legacy"), [
    ("orders::svc::charge", True),
    ("orders::svc::a@b@c", True),  # has an @ but cannot be a new name
    ("orders::svc::charge@default", False),
    ("orders::svc::charge@billing", False),
    ("__fn_queue::jobs", False),
    ("__backlog::orders", False),
    ("plain", False),
])
def test_legacy_subscriber_queues_are_the_pre_namespace_names(name: str, legacy: bool) -> None:
    assert is_legacy_subscriber_queue(name) is legacy


def test_a_legacy_queue_moves_to_its_default_name() -> None:
    assert legacy_target("orders::svc::charge") == subscriber_queue("orders", subscriber_key("svc::charge"))
    assert legacy_target("t::a@b@c") == subscriber_queue("t", subscriber_key("a@b@c"))
    assert not is_legacy_subscriber_queue(legacy_target("t::a@b@c"))


def test_a_legacy_subscriber_is_a_bare_function_id() -> None:
    assert is_legacy_subscriber("svc::charge")
    assert not is_legacy_subscriber(subscriber_key("svc::charge"))
    assert not is_legacy_subscriber(subscriber_key("a@b", "x"))
