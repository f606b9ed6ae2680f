"""Which kv table holds a stream group, and the migration from the layout before it.

A group is the table ``compose(stream_name, group_id)`` (:mod:`pyiii.adapters.kv.names`): the
parts escape ``%`` and ``:``, so stream ``a:b`` group ``c`` (``a%3Ab:c``) and stream ``a`` group
``b:c`` (``a:b%3Ac``) never share a table. Before, the table was ``<stream>:<group>`` verbatim;
such tables are renamed once when the store opens (:func:`legacy_plan`), reading an old name as
``stream::list_all`` always did: the stream ends at the first ``:``.
"""

from __future__ import annotations

from pyiii.adapters.kv import names

#: Recorded in the store once its tables use :func:`table`.
MARKER = "stream-table-names-v2"


def table(stream_name: str, group_id: str) -> str:
    return names.compose(stream_name, group_id)


def parse(table_name: str) -> tuple[str, str] | None:
    """``(stream_name, group_id)`` of a table, ``None`` for a name this layout never writes."""
    parts = names.split(table_name)
    return (parts[0], parts[1]) if len(parts) == 2 else None


def legacy_plan(table_names: list[str]) -> dict[str, str]:
    """Old name -> new name for every table written as ``<stream>:<group>``."""
    plan: dict[str, str] = {}
    for old in table_names:
        stream_name, sep, group_id = old.partition(":")
        if sep:
            plan[old] = table(stream_name, group_id)
    return plan
