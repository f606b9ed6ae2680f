"""The observe frames of one connection (spec iii-0.23-0.25 §5.2), as session handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiii import protocol as p
from pyiii.core.observe.owner_events import ingest_reports

if TYPE_CHECKING:
    from pyiii.core.session import Session


async def on_observe(session: Session, msg: p.Observe) -> None:
    await session.engine.observe.observe(session.peer, msg)


async def on_unobserve(session: Session, msg: p.Unobserve) -> None:
    session.engine.observe.unobserve(session.peer, msg.id)


async def on_observer_ack(session: Session, msg: p.ObserverAck) -> None:
    session.engine.observe.ack(session.peer, msg)


async def on_invocations_observed(session: Session, msg: p.InvocationsObserved) -> None:
    ingest_reports(session.engine.observe, session.peer, msg)
