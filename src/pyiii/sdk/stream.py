"""Custom stream implementations a worker can serve (``create_stream``)."""

from __future__ import annotations

import builtins
import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

TData = TypeVar("TData")
_T = TypeVar("_T")


@dataclass
class StreamGetInput:
    stream_name: str
    group_id: str
    item_id: str


@dataclass
class StreamSetInput:
    stream_name: str
    group_id: str
    item_id: str
    data: Any = None


@dataclass
class StreamDeleteInput:
    stream_name: str
    group_id: str
    item_id: str


@dataclass
class StreamListInput:
    stream_name: str
    group_id: str


@dataclass
class StreamListGroupsInput:
    stream_name: str


@dataclass
class StreamUpdateInput:
    stream_name: str
    group_id: str
    item_id: str
    ops: list[Any] = field(default_factory=list)


@dataclass
class StreamSetResult(Generic[TData]):
    new_value: TData
    old_value: TData | None = None


@dataclass
class StreamUpdateResult(Generic[TData]):
    new_value: TData
    old_value: TData | None = None
    errors: list[Any] = field(default_factory=list)


@dataclass
class StreamDeleteResult:
    old_value: Any = None


class IStream(ABC, Generic[TData]):
    """Backing store for a named stream; the engine calls these through functions."""

    @abstractmethod
    async def get(self, input: StreamGetInput) -> TData | None: ...

    @abstractmethod
    async def set(self, input: StreamSetInput) -> StreamSetResult[TData] | None: ...

    @abstractmethod
    async def delete(self, input: StreamDeleteInput) -> StreamDeleteResult: ...

    @abstractmethod
    async def list(self, input: StreamListInput) -> list[TData]: ...

    @abstractmethod
    async def list_groups(self, input: StreamListGroupsInput) -> builtins.list[str]: ...

    async def update(self, input: StreamUpdateInput) -> StreamUpdateResult[TData] | None:
        """Optional: the engine applies updates itself; not registered by create_stream."""
        raise NotImplementedError


def input_from(cls: type[_T], data: Any) -> _T:
    """Build an input dataclass from a payload, ignoring extra keys such as
    ``_caller_worker_id`` that the engine adds."""
    if not isinstance(data, dict):
        return data  # type: ignore[no-any-return]
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def output_of(result: Any) -> Any:
    if result is None:
        return None
    dump = getattr(result, "model_dump", None)
    if callable(dump):
        return dump()
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    return result
