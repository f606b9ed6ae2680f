"""Pub/sub transports of ``iii-pubsub`` behind :class:`.base.PubsubAdapter`: ``local`` (in
process) and ``redis`` (PUBLISH on a channel per topic, across engines)."""
