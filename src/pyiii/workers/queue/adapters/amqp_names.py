"""Queue and exchange names an AMQP client accepts.

aio-pika (pamqp) refuses names with characters outside ``[A-Za-z0-9-_.:@#,/+ ]``; the queue
naming of namespaces (``naming.escape``) writes ``\\`` before ``@`` and doubles ``\\``. Here ``\\``
is written ``#5C`` and ``#`` itself ``#23``: every ``#`` starts a three-character code, so the
mapping stays injective, and names with neither character (almost all) are unchanged.
"""

from __future__ import annotations


def amqp_name(name: str) -> str:
    return name.replace("#", "#23").replace("\\", "#5C")
