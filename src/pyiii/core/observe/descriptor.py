"""A function's observe descriptor, ``registerfunction.observe`` (spec iii-0.23-0.25 §5.3.5).

No descriptor: an ``auto`` function anyone may observe without ``args``. The descriptor is read
leniently (the SDK already refused bad ones locally): a malformed member is ignored and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import jsonschema

if TYPE_CHECKING:
    from pyiii.core.functions import FunctionEntry

log = logging.getLogger("pyiii.observe")

AUTO: Final = "auto"
OWNER: Final = "owner"


@dataclass(frozen=True, slots=True)
class ObserveDescriptor:
    delivery: str = AUTO
    allow: bool = True
    args_format: Any = None
    legacy_trigger_type: str | None = None

    def args_refusal(self, args: dict[str, Any] | None) -> str | None:
        """Why ``args`` do not fit this function (None: they do; spec §5.4 step 7)."""
        if self.delivery != OWNER:
            return "source.args are only accepted by owner-delivered functions" if args else None
        if self.args_format is None:
            return None
        try:
            jsonschema.validate(args or {}, self.args_format)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            return f"source.args{'.' + where if where else ''}: {exc.message}"
        except jsonschema.SchemaError:
            return None  # the owner's schema is broken: nothing to check against (logged at registration)
        return None


PLAIN: Final = ObserveDescriptor()


def parse_descriptor(value: Any, function_id: str) -> ObserveDescriptor:
    if value is None:
        return PLAIN
    if not isinstance(value, dict):
        log.warning("observe descriptor of %s is not an object: ignored", function_id)
        return PLAIN
    delivery = value.get("delivery")
    if delivery not in (None, AUTO, OWNER):
        log.warning("observe descriptor of %s: unknown delivery %r, auto assumed", function_id, delivery)
        delivery = None
    allow = value.get("allow")
    legacy = value.get("legacy_trigger_type")
    args_format = value.get("args_format")
    if args_format is not None:
        try:
            jsonschema.validators.validator_for(args_format).check_schema(args_format)
        except jsonschema.SchemaError as exc:
            log.warning("observe descriptor of %s: args_format is not a JSON Schema (%s): ignored", function_id, exc)
            args_format = None
    return ObserveDescriptor(
        delivery=delivery or AUTO,
        allow=allow if isinstance(allow, bool) else True,
        args_format=args_format,
        legacy_trigger_type=legacy if isinstance(legacy, str) and legacy else None,
    )


def descriptor_of(entry: FunctionEntry) -> ObserveDescriptor:
    """The descriptor stored with ``entry`` at registration (``PLAIN`` without one)."""
    descriptor = entry.extra.get("observe")
    return descriptor if isinstance(descriptor, ObserveDescriptor) else PLAIN
