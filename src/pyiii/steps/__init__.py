"""pyiii.steps: Motia-compatible Steps on pyiii.

A step is a ``*_step.py`` file under ``steps/`` or ``src/`` exporting ``config`` and
``handler``; ``pyiii dev`` discovers, registers and hot-reloads them. Motia step files run
unchanged: ``from motia import ...`` resolves to :mod:`pyiii.steps.motia_api` inside the runner
when the real ``motia`` package is not installed (:mod:`pyiii.steps.motia_import`). See
docs/steps.md.
"""

from pyiii.steps.context import FlowContext, TriggerInfo
from pyiii.steps.inputs import ApiRequest, ApiResponse, StateTriggerInput, StreamTriggerInput
from pyiii.steps.runtime import client as get_instance
from pyiii.steps.schemas import SchemaError, to_json_schema
from pyiii.steps.services import enqueue, logger, state_manager, stateManager
from pyiii.steps.state import StateManager
from pyiii.steps.step_config import StepConfig, StepConfigError, TriggerDef, parse_config
from pyiii.steps.stream_config import StreamConfig
from pyiii.steps.streams import Stream
from pyiii.steps.triggers import api, cron, http, queue, state, stream

#: Motia's names for the same things.
MotiaHttpArgs = ApiRequest
MotiaHttpRequest = ApiRequest
schema_to_json_schema = to_json_schema

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "FlowContext",
    "MotiaHttpArgs",
    "MotiaHttpRequest",
    "SchemaError",
    "StateManager",
    "StateTriggerInput",
    "StepConfig",
    "StepConfigError",
    "Stream",
    "StreamConfig",
    "StreamTriggerInput",
    "TriggerDef",
    "TriggerInfo",
    "api",
    "cron",
    "enqueue",
    "get_instance",
    "http",
    "logger",
    "parse_config",
    "queue",
    "schema_to_json_schema",
    "state",
    "stateManager",
    "state_manager",
    "stream",
]
