"""Feature negotiation, the SDK's view (spec iii-0.23-0.25 §2.1-§2.3)."""

from __future__ import annotations

from pyiii.sdk.features import SDK_FEATURES, EngineFeatures


def test_the_sdk_declares_the_three_features_of_0_25() -> None:
    assert SDK_FEATURES == ("observe.v1", "local-dispatch.v1", "large-messages.v1")


def test_the_view_is_replaced_per_workerregistered_and_tied_to_its_connection() -> None:
    view = EngineFeatures()
    assert not view.observe and not view.observe_online(1)
    view.update(["observe.v1", "x.unknown", 5], 1)  # type: ignore[list-item]
    assert view.features == {"observe.v1", "x.unknown"}
    assert view.observe_online(1) and not view.observe_online(2) and not view.observe_online(None)
    view.update(None, 2)
    assert not view.observe and view.registered_on == 2
