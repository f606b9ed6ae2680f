"""pyiii.sdk: the Python worker SDK, API-compatible with iii-sdk's ``iii`` package.

A worker written for iii-sdk runs unchanged after ``from iii import ...`` becomes
``from pyiii.sdk import ...`` (or ``from pyiii import ...``).
"""

from .actions import (
    EnqueueResult,
    MiddlewareFunctionInput,
    TriggerAction,
    TriggerActionEnqueue,
    TriggerActionVoid,
    TriggerRequest,
)
from .channels import (
    Channel,
    ChannelAborted,
    ChannelDirection,
    ChannelItem,
    ChannelReader,
    ChannelWriter,
    StreamChannelRef,
    extract_channel_refs,
    is_channel_ref,
)
from .client import III, register_worker
from .constants import EngineFunctions, EngineTriggers
from .errors import InvocationError, ObserveRejection
from .formats import (
    extract_request_format,
    extract_response_format,
    python_type_to_format,
)
from .helpers import create_channel, create_channel_async, create_stream
from .http import (
    HttpAuthApiKey,
    HttpAuthBearer,
    HttpAuthConfig,
    HttpAuthHmac,
    HttpInvocationConfig,
    HttpRequest,
    StreamRequest,
    StreamResponse,
    http,
)
from .invocation_context import InvocationContext, current_invocation
from .logger import Logger
from .observe_types import (
    Caller,
    Capture,
    Filter,
    Observed,
    ObserveHooks,
    ObserverOptions,
    ObserverState,
    ObserveSource,
    Target,
)
from .observer_handle import ObserverHandle
from .options import (
    ConnectionStateCallback,
    FunctionRef,
    IIIConnectionState,
    InitOptions,
    OtelConfig,
    ReconnectionConfig,
    TelemetryOptions,
)
from .owner import Observer
from .stream import (
    IStream,
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSetInput,
    StreamSetResult,
    StreamUpdateInput,
    StreamUpdateResult,
)
from .triggers import (
    RegisterTriggerInput,
    RegisterTriggerTypeInput,
    Trigger,
    TriggerConfig,
    TriggerHandler,
    TriggerTypeRef,
)
from .types import IIIClient

__all__ = [
    "III",
    "Caller",
    "Capture",
    "Channel",
    "ChannelAborted",
    "ChannelDirection",
    "ChannelItem",
    "ChannelReader",
    "ChannelWriter",
    "ConnectionStateCallback",
    "EngineFunctions",
    "EngineTriggers",
    "EnqueueResult",
    "Filter",
    "FunctionRef",
    "HttpAuthApiKey",
    "HttpAuthBearer",
    "HttpAuthConfig",
    "HttpAuthHmac",
    "HttpInvocationConfig",
    "HttpRequest",
    "IIIClient",
    "IIIConnectionState",
    "IStream",
    "InitOptions",
    "InvocationContext",
    "InvocationError",
    "Logger",
    "MiddlewareFunctionInput",
    "ObserveHooks",
    "ObserveRejection",
    "ObserveSource",
    "Observed",
    "Observer",
    "ObserverHandle",
    "ObserverOptions",
    "ObserverState",
    "OtelConfig",
    "ReconnectionConfig",
    "RegisterTriggerInput",
    "RegisterTriggerTypeInput",
    "StreamChannelRef",
    "StreamDeleteInput",
    "StreamDeleteResult",
    "StreamGetInput",
    "StreamListGroupsInput",
    "StreamListInput",
    "StreamRequest",
    "StreamResponse",
    "StreamSetInput",
    "StreamSetResult",
    "StreamUpdateInput",
    "StreamUpdateResult",
    "Target",
    "TelemetryOptions",
    "Trigger",
    "TriggerAction",
    "TriggerActionEnqueue",
    "TriggerActionVoid",
    "TriggerConfig",
    "TriggerHandler",
    "TriggerRequest",
    "TriggerTypeRef",
    "create_channel",
    "create_channel_async",
    "create_stream",
    "current_invocation",
    "extract_channel_refs",
    "extract_request_format",
    "extract_response_format",
    "http",
    "is_channel_ref",
    "python_type_to_format",
    "register_worker",
]
