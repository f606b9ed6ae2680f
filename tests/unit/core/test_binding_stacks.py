"""``pyiii.core.triggers``: bindings of one key form a stack (the top serves), owners are kept,
and guarded (RBAC session) bindings cannot take another owner's place."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from pyiii.core.access import Access
from pyiii.core.errors import FORBIDDEN, TriggerRegistrationError
from pyiii.core.peer import Peer
from pyiii.core.triggers import Binding, TriggerRegistry, TriggerType


class FakePeer(Peer):
    async def send_frame(self, frame: bytes) -> None:
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


class Slots:
    """A provider serving one binding per ``config["slot"]``, as iii-http serves one per route."""

    def __init__(self) -> None:
        self.serving: dict[str, str] = {}  # slot -> binding id

    async def register_trigger(self, binding: Binding) -> None:
        for slot, bid in list(self.serving.items()):
            if bid == binding.id:
                del self.serving[slot]
        self.serving[binding.config["slot"]] = binding.id

    async def unregister_trigger(self, binding: Binding) -> None:
        if self.serving.get(binding.config["slot"]) == binding.id:
            del self.serving[binding.config["slot"]]


def slot_key(binding: Binding) -> Hashable:
    return str(binding.config["slot"])


SESSION = Access(rbac=True)


async def registry() -> tuple[TriggerRegistry, Slots]:
    reg, slots = TriggerRegistry(), Slots()
    await reg.add_type(TriggerType("slot", provider=slots, binding_key=slot_key))
    return reg, slots


def bind(bid: str, slot: str, owner: Peer | None = None, grant: Access | None = None) -> Binding:
    return Binding(bid, "slot", f"fn::{bid}", {"slot": slot}, owner=owner, grant=grant)


async def test_takeover_is_undone_when_the_top_goes() -> None:
    reg, slots = await registry()
    a, b = FakePeer("a", "t"), FakePeer("b", "t")
    await reg.add_binding(bind("a1", "x", a))
    await reg.add_binding(bind("b1", "x", b))
    assert slots.serving == {"x": "b1"} and set(reg.live) == {"b1"} and set(reg.shadowed) == {"a1"}
    assert await reg.remove_binding("b1")
    assert slots.serving == {"x": "a1"} and set(reg.live) == {"a1"} and not reg.shadowed


async def test_a_shadowed_binding_leaves_without_touching_the_top() -> None:
    reg, slots = await registry()
    a, b = FakePeer("a", "t"), FakePeer("b", "t")
    await reg.add_binding(bind("a1", "x", a))
    await reg.add_binding(bind("b1", "x", b))
    await reg.drop_peer(a)
    assert slots.serving == {"x": "b1"} and not reg.shadowed and not a.triggers
    await reg.drop_peer(b)
    assert slots.serving == {} and not reg.live


async def test_moving_a_binding_to_another_key_restores_the_one_below() -> None:
    reg, slots = await registry()
    a, b = FakePeer("a", "t"), FakePeer("b", "t")
    await reg.add_binding(bind("a1", "x", a))
    await reg.add_binding(bind("b1", "x", b))
    await reg.add_binding(bind("b1", "y", b))
    assert slots.serving == {"x": "a1", "y": "b1"} and not reg.shadowed


async def test_other_types_keep_any_number_of_bindings() -> None:
    reg, _slots = await registry()
    await reg.add_type(TriggerType("many", provider=Slots()))
    await reg.add_binding(Binding("m1", "many", "f", {"slot": "x"}))
    await reg.add_binding(Binding("m2", "many", "f", {"slot": "x"}))
    assert {"m1", "m2"} <= set(reg.live) and not reg.shadowed


@pytest.mark.parametrize("target_owner", ["other", "built-in"])
async def test_a_guarded_binding_cannot_take_over_or_replace(target_owner: str) -> None:
    reg, slots = await registry()
    owner = FakePeer("owner", "t") if target_owner == "other" else None
    session = FakePeer("s", "t", access=SESSION)
    await reg.add_binding(bind("o1", "x", owner))
    for attempt in (bind("s1", "x", session, SESSION), bind("o1", "y", session, SESSION)):
        with pytest.raises(TriggerRegistrationError) as refused:
            await reg.add_binding(attempt)
        assert refused.value.code == FORBIDDEN
    assert slots.serving == {"x": "o1"} and reg.live["o1"].owner is owner and not session.triggers


async def test_a_guarded_binding_may_replace_its_own_and_a_departed_owners() -> None:
    reg, slots = await registry()
    session = FakePeer("s", "t", access=SESSION)
    await reg.add_binding(bind("s1", "x", session, SESSION))
    await reg.add_binding(bind("s2", "x", session, SESSION))
    assert slots.serving == {"x": "s2"}
    gone = FakePeer("gone", "t")
    await reg.add_binding(bind("g1", "z", gone))
    gone.connected = False  # its cleanup has not run yet (e.g. a reconnect)
    await reg.add_binding(bind("s3", "z", session, SESSION))
    assert slots.serving["z"] == "s3"


async def test_a_type_that_comes_back_serves_the_same_tops() -> None:
    reg, _slots = await registry()
    a, b = FakePeer("a", "t"), FakePeer("b", "t")
    await reg.add_binding(bind("a1", "x", a))
    await reg.add_binding(bind("b1", "x", b))
    assert await reg.remove_type("slot", None)
    assert set(reg.parked) == {"a1", "b1"} and not reg.live and not reg.shadowed
    slots2 = Slots()
    await reg.add_type(TriggerType("slot", provider=slots2, binding_key=slot_key))
    assert slots2.serving == {"x": "b1"} and set(reg.shadowed) == {"a1"}
    await reg.remove_binding("b1")
    assert slots2.serving == {"x": "a1"}


async def test_rehoming_moves_a_namespace_s_part_of_a_stack_and_keeps_its_order() -> None:
    """Spec iii-0.23-0.25 §1.6: bindings of ``orders`` served by the default provider move to the
    ``orders`` provider; the same one serves there, and default's stack serves its own again."""
    reg, default_slots = await registry()
    c = bind("c", "s1")
    a = Binding("a", "slot", "fn::a", {"slot": "s1"}, home_namespace="orders", namespace="orders")
    b = Binding("b", "slot", "fn::b", {"slot": "s1"}, home_namespace="orders", namespace="orders")
    for binding in (c, a, b):
        await reg.add_binding(binding)
    assert default_slots.serving == {"s1": "b"} and set(reg.shadowed) == {"a", "c"}

    orders_slots = Slots()
    await reg.add_type(TriggerType("slot", provider=orders_slots, binding_key=slot_key, namespace="orders"))

    assert orders_slots.serving == {"s1": "b"} and default_slots.serving == {"s1": "c"}
    assert set(reg.live) == {"b", "c"} and set(reg.shadowed) == {"a"}
    assert a.provider_namespace == b.provider_namespace == "orders" and c.provider_namespace == "default"

    # The orders provider goes: its bindings fall back to default, on top of c, in their order.
    assert await reg.remove_type("slot", None, "orders")
    assert default_slots.serving == {"s1": "b"} and set(reg.shadowed) == {"a", "c"}
