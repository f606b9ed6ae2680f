"""Engine ``logging`` records into the log store. Records emitted while storing a log (or by
the store/export machinery itself) are skipped, so a failing store can never recurse."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

#: Python level -> (OTel severity number, text).
_SEVERITY = ((logging.ERROR, 17, "ERROR"), (logging.WARNING, 13, "WARN"), (logging.INFO, 9, "INFO"),
             (logging.DEBUG, 5, "DEBUG"))
_SKIPPED_LOGGERS = ("pyiii.observability", "opentelemetry", "grpc", "urllib3")
_busy = threading.local()


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def severity(levelno: int) -> tuple[int, str]:
    for level, number, text in _SEVERITY:
        if levelno >= level:
            return number, text
    return 1, "TRACE"


class StoreHandler(logging.Handler):
    def __init__(self, sink: Callable[[dict[str, Any]], None], service_name: str, level: int) -> None:
        super().__init__(level)
        self.sink = sink
        self.service_name = service_name

    def emit(self, record: logging.LogRecord) -> None:
        if (getattr(_busy, "active", False) or record.name.startswith(_SKIPPED_LOGGERS)
                or getattr(record, "pyiii_sdk_log", False)):
            return
        _busy.active = True
        try:
            number, text = severity(record.levelno)
            stamp = int(record.created * 1_000_000_000)
            attributes: dict[str, Any] = {"logger": record.name, "code.function": record.funcName,
                                          "code.lineno": record.lineno}
            if record.exc_info and record.exc_info[0] is not None:
                attributes["exception.type"] = record.exc_info[0].__name__
                attributes["exception.stacktrace"] = logging.Formatter().formatException(record.exc_info)
            self.sink({
                "timestamp_unix_nano": stamp,
                "observed_timestamp_unix_nano": time.time_ns(),
                "severity_number": number,
                "severity_text": text,
                "body": record.getMessage(),
                "attributes": attributes,
                # A record may name its trace: logging.log(..., extra={"trace_id": …, "span_id": …}).
                "trace_id": _id(getattr(record, "trace_id", None)),
                "span_id": _id(getattr(record, "span_id", None)),
                "resource": {"service.name": self.service_name},
                "service_name": self.service_name,
                "instrumentation_scope_name": record.name,
            })
        except Exception:  # a log handler must never raise into the code that logged
            self.handleError(record)
        finally:
            _busy.active = False
