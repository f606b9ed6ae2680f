"""A small toolkit for agents on pyiii: an OpenAI-compatible streaming chat client (httpx, no
provider SDK), tool discovery from the engine's function registry, and a ReAct loop.

    client = ChatClient()                      # OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL
    tools = await discover_tools(call)         # functions with metadata {"agent_tool": true}
    await run_react(client, messages, tools, call, events)
"""

from .chat import ChatClient, ChatError, ChatResult, ToolCall
from .loop import AgentEvents, run_react
from .sse import iter_sse_data
from .tools import Caller, Tool, discover_tools, openai_tools, tool_name

__all__ = [
    "AgentEvents",
    "Caller",
    "ChatClient",
    "ChatError",
    "ChatResult",
    "Tool",
    "ToolCall",
    "discover_tools",
    "iter_sse_data",
    "openai_tools",
    "run_react",
    "tool_name",
]
