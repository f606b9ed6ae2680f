"""What handlers receive and return: ``ApiRequest``/``ApiResponse`` and the state/stream event
objects, each readable both as attributes (Motia 1.0 models) and as a dict (raw payloads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


class AttrDict(dict[str, Any]):
    """A dict whose keys are also attributes; ``_aliases`` maps extra names to keys."""

    _aliases: ClassVar[dict[str, str]] = {}

    def __getattr__(self, name: str) -> Any:
        key = self._aliases.get(name, name)
        if key in self:
            return _wrap(self[key])
        raise AttributeError(name)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(self._aliases.get(key, key) if key not in self else key)

    def get(self, key: str, default: Any = None) -> Any:
        key = key if key in self else self._aliases.get(key, key)
        return super().get(key, default)


def _wrap(value: Any) -> Any:
    return AttrDict(value) if isinstance(value, dict) and not isinstance(value, AttrDict) else value


class StateTriggerInput(AttrDict):
    """``{"type": "state", "event_type", "scope", "key", "old_value", "new_value"}``, also as
    ``group_id`` (= scope) / ``item_id`` (= key) like Motia's model."""

    _aliases: ClassVar[dict[str, str]] = {"group_id": "scope", "groupId": "scope", "item_id": "key", "itemId": "key",
                "oldValue": "old_value", "newValue": "new_value", "eventType": "event_type"}


class StreamTriggerInput(AttrDict):
    """The stream event envelope ``{"type": "stream", "timestamp", "streamName", "groupId",
    "id", "event": {"type", "data"}}`` with snake_case attributes too."""

    _aliases: ClassVar[dict[str, str]] = {"stream_name": "streamName", "group_id": "groupId", "item_id": "id"}


@dataclass
class ApiRequest(Generic[T]):
    """An HTTP request: Motia 1.0's ``ApiRequest`` and, through :attr:`request`, G2's
    ``MotiaHttpArgs`` (``args.request.body``)."""

    path_params: dict[str, str] = field(default_factory=dict)
    query_params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, Any] = field(default_factory=dict)
    method: str = "GET"
    path: str = ""
    #: Raw body channel (a ``ChannelReader``) and response channel (a ``ChannelWriter``) when
    #: the engine provides them, for streaming.
    request_body: Any = None
    response: Any = None

    @property
    def request(self) -> ApiRequest[T]:
        return self

    @property
    def pathParams(self) -> dict[str, str]:
        return self.path_params

    @property
    def queryParams(self) -> dict[str, Any]:
        return self.query_params

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    @classmethod
    def from_payload(cls, payload: Any) -> ApiRequest[Any]:
        data = payload if isinstance(payload, dict) else {}
        return cls(
            path_params=dict(data.get("path_params") or {}),
            query_params=dict(data.get("query_params") or {}),
            body=data.get("body"),
            headers=dict(data.get("headers") or {}),
            method=str(data.get("method") or "GET"),
            path=str(data.get("path") or ""),
            request_body=data.get("request_body"),
            response=data.get("response"),
        )


@dataclass
class ApiResponse(Generic[T]):
    """``return ApiResponse(201, {"id": ...})``; ``status`` is also accepted as ``status_code``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    return value


def to_http_result(result: Any) -> Any:
    """A handler's return value → the engine's ``{status_code, headers, body}``.

    ``None`` stays ``None`` (the handler streamed through the response channel)."""
    if result is None:
        return None
    status: Any
    if isinstance(result, ApiResponse):
        status, body, headers = result.status, result.body, result.headers
    else:
        data = _jsonable(result)
        if not isinstance(data, dict) or not ({"status", "status_code", "statusCode", "body"} & set(data)):
            return {"status_code": 200, "headers": {}, "body": data}
        status = data.get("status", data.get("status_code", data.get("statusCode", 200)))
        body, headers = data.get("body"), data.get("headers") or {}
    return {"status_code": int(status or 200), "headers": dict(headers or {}), "body": _jsonable(body)}
