"""The subscribers of each durable topic (``naming.subscriber_key``: a function and its namespace),
as a backend keeps them in process (memory and SQLite hold every subscription here, RabbitMQ the
ones made through this engine)."""

from __future__ import annotations


class TopicSubscribers:
    """Subscribers per topic in subscription order; a topic whose last subscriber left is
    forgotten, so :meth:`topics` names only topics with one."""

    def __init__(self) -> None:
        self._by_topic: dict[str, dict[str, None]] = {}

    def add(self, topic: str, subscriber: str) -> None:
        self._by_topic.setdefault(topic, {})[subscriber] = None

    def remove(self, topic: str, subscriber: str) -> None:
        subs = self._by_topic.get(topic)
        if subs is not None:
            subs.pop(subscriber, None)
            if not subs:
                del self._by_topic[topic]

    def of(self, topic: str) -> list[str]:
        return list(self._by_topic.get(topic, ()))

    def has(self, topic: str, subscriber: str) -> bool:
        return subscriber in self._by_topic.get(topic, ())

    def topics(self) -> set[str]:
        return set(self._by_topic)
