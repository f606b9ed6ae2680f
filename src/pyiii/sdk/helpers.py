"""Free functions taking the client first (iii-sdk's ``iii.helpers`` module)."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from .channels import (
    Channel,
    ChannelDirection,
    ChannelItem,
    extract_channel_refs,
    is_channel_ref,
)
from .stream import (
    IStream,
    StreamDeleteInput,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSetInput,
    input_from,
    output_of,
)

TData = TypeVar("TData")

__all__ = [
    "ChannelDirection",
    "ChannelItem",
    "create_channel",
    "create_channel_async",
    "create_stream",
    "extract_channel_refs",
    "is_channel_ref",
]


class _ChannelFactory(Protocol):
    def _helpers_create_channel(self, buffer_size: int | None = None) -> Channel: ...

    async def _helpers_create_channel_async(self, buffer_size: int | None = None) -> Channel: ...


class _FunctionRegistrar(Protocol):
    def register_function(self, function_id: str, handler_or_invocation: Any) -> Any: ...


def create_channel(iii: Any, buffer_size: int | None = None) -> Channel:
    """Create a channel pair through ``engine::channels::create`` (blocking)."""
    factory: _ChannelFactory = iii
    return factory._helpers_create_channel(buffer_size)


async def create_channel_async(iii: Any, buffer_size: int | None = None) -> Channel:
    factory: _ChannelFactory = iii
    return await factory._helpers_create_channel_async(buffer_size)


def create_stream(iii: Any, stream_name: str, stream: IStream[TData]) -> None:
    """Serve a custom stream: registers ``stream::{get,set,delete,list,list_groups}(<name>)``.
    ``update`` is not registered; the engine applies updates itself."""
    registrar: _FunctionRegistrar = iii

    async def get(data: Any) -> Any:
        return output_of(await stream.get(input_from(StreamGetInput, data)))

    async def set_(data: Any) -> Any:
        return output_of(await stream.set(input_from(StreamSetInput, data)))

    async def delete(data: Any) -> Any:
        return output_of(await stream.delete(input_from(StreamDeleteInput, data)))

    async def list_(data: Any) -> Any:
        return [output_of(item) for item in await stream.list(input_from(StreamListInput, data))]

    async def list_groups(data: Any) -> list[str]:
        return await stream.list_groups(input_from(StreamListGroupsInput, data))

    registrar.register_function(f"stream::get({stream_name})", get)
    registrar.register_function(f"stream::set({stream_name})", set_)
    registrar.register_function(f"stream::delete({stream_name})", delete)
    registrar.register_function(f"stream::list({stream_name})", list_)
    registrar.register_function(f"stream::list_groups({stream_name})", list_groups)
