"""Without OpenTelemetry loaded by the application, handlers still run in the received trace
context, and the SDK does not load OpenTelemetry itself to find that out (once per invocation)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[3] / "src")


def test_handling_propagates_without_loading_opentelemetry() -> None:
    script = textwrap.dedent("""
        import sys
        from pyiii.sdk import tracing
        tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        with tracing.handling(tp, "k=v", "f"):
            assert tracing.outgoing() == (tp, "k=v"), tracing.outgoing()
        with tracing.handling(None, None, "g"):
            assert tracing.current().function_id == "g"
        assert tracing.current() is None
        loaded = [m for m in sys.modules if m.startswith("opentelemetry")]
        assert not loaded, loaded
    """)
    env = {**os.environ, "PYTHONPATH": SRC}
    env.pop("OTEL_ENABLED", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
