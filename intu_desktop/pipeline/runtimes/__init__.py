"""Script runtimes for channel validators and transformers.

Both runtimes keep a pool of long-lived worker processes (one call per process at a time),
start them lazily, kill and replace a worker whose script times out or crashes, and never
raise for a script's failure: the outcome is a CallResult.
"""

from __future__ import annotations

from intu_desktop.pipeline.runtimes.node_runtime import NodeRuntime
from intu_desktop.pipeline.runtimes.python_runtime import PythonRuntime
from intu_desktop.pipeline.runtimes.result import CallResult, RuntimeUnavailable

__all__ = ["CallResult", "NodeRuntime", "PythonRuntime", "RuntimeUnavailable"]
