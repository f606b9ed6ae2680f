"""A stream that broke off stays known as such to a reader that comes late (bounded, for a while)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pyiii.core import channels as channels_module
from pyiii.core.channels import ABORTED, EOF, ChannelRegistry


def _forget_both_sides(registry: ChannelRegistry, channel: object) -> None:
    registry.finish(channel, "write")  # type: ignore[arg-type]
    registry.finish(channel, "read")  # type: ignore[arg-type]


async def test_abort_replaces_what_is_buffered_even_when_the_queue_is_full() -> None:
    registry = ChannelRegistry()
    channel = registry.create(2)
    channel.queue.put_nowait(b"a")
    channel.queue.put_nowait(b"b")
    registry.abort(channel)
    assert channel.aborted
    assert channel.queue.get_nowait() is ABORTED
    assert channel.queue.empty()


async def test_a_forgotten_aborted_channel_is_reported_to_its_late_reader_only_with_its_key() -> None:
    registry = ChannelRegistry()
    channel = registry.create()
    registry.abort(channel)
    _forget_both_sides(registry, channel)
    assert registry.lookup(channel.id, channel.access_key) is None  # nothing can attach any more
    assert registry.was_aborted(channel.id, channel.access_key)
    assert not registry.was_aborted(channel.id, "not-the-key")
    assert not registry.was_aborted("another-id", channel.access_key)


async def test_a_channel_that_ended_cleanly_or_whose_reader_came_leaves_no_marker() -> None:
    registry = ChannelRegistry()
    clean = registry.create()
    clean.queue.put_nowait(EOF)
    _forget_both_sides(registry, clean)
    assert not registry.was_aborted(clean.id, clean.access_key)

    read = registry.create()
    read.reader_taken = True  # its reader was attached: it read ABORTED from the queue itself
    registry.abort(read)
    _forget_both_sides(registry, read)
    assert not registry.was_aborted(read.id, read.access_key)


async def test_markers_expire_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(channels_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    registry = ChannelRegistry(aborted_grace_seconds=30, max_aborted_markers=3)
    channels = [registry.create() for _ in range(5)]
    for channel in channels:
        registry.abort(channel)
        _forget_both_sides(registry, channel)
    # Only the newest three are kept: aborted requests are cheap to make.
    assert [registry.was_aborted(c.id, c.access_key) for c in channels] == [False, False, True, True, True]
    now[0] += 30.5
    assert not any(registry.was_aborted(c.id, c.access_key) for c in channels)
    registry.sweep()
    assert not registry._aborted  # swept: nothing left behind


@pytest.mark.parametrize("side", ["write", "read"])
async def test_finishing_one_side_keeps_the_channel(side: str) -> None:
    registry = ChannelRegistry()
    channel = registry.create()
    registry.abort(channel)
    registry.finish(channel, side)
    assert registry.lookup(channel.id, channel.access_key) is channel
