"""Observers (iii 0.25 ``observe``, spec iii-0.23-0.25 §5): one idea per module.

model (observer, states), request (checking ``observe``), descriptor (a function's observe
descriptor), registry (indexes, revisions, the call path's flag), events (event, envelope),
activations (running targets), owner_protocol (acks, revisions), service (lifecycle, states),
legacy (the trigger shim), owner_events
(``invocationsobserved``, ``obs.call``), handlers (the session's frames). Kept empty: the
invoker imports core.observe.events on the hot module path.
"""
