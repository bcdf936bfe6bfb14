"""Apply: restart one channel's listener with its new settings; other channels untouched.

No Qt here. The editor calls this on a worker thread (stopping a listener waits for its
accept loop), so it must not touch widgets.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from intu_desktop.config import ChannelConfig
from intu_desktop.dicom.scp import ListenerStartError

log = logging.getLogger(__name__)


def restart_listener(runtime: Any, channel: ChannelConfig) -> tuple[bool, str]:
    """Stop the running listener of `channel` (found by id, or by file when the id was
    changed), then start one with the new settings. Returns (ok, what happened in words).

    The channel also replaces its old version in the runtime's project, so the pipeline
    runs the new validator, transformer and destinations.
    """
    if channel.errors:
        first = channel.errors[0]
        return False, f"not applied: {len(channel.errors)} problem(s), first: {first}"
    # After the runtime's own start (or stop) has finished with its listeners (app.Runtime).
    with getattr(runtime, "control_lock", None) or nullcontext():
        return _restart(runtime, channel)


def _restart(runtime: Any, channel: ChannelConfig) -> tuple[bool, str]:
    old_id = _running_id(runtime, channel)
    if old_id is not None:
        runtime.listeners.pop(old_id).stop()  # closes the listening socket: the port is free
    _replace_in_project(runtime.project, channel)
    if not channel.runnable:
        return True, f"channel {channel.id} stopped: {_why_not_running(channel)}"
    listener = runtime.new_listener(channel)
    runtime.listeners[channel.id] = listener  # kept on failure: its state shows the reason
    try:
        listener.start()
    except ListenerStartError as exc:
        log.error("channel %s could not restart: %s", channel.id, exc)
        return False, str(exc)
    return True, f"listening on port {listener.port}"


def _running_id(runtime: Any, channel: ChannelConfig) -> str | None:
    if channel.id in runtime.listeners:
        return channel.id
    for listener_id, listener in runtime.listeners.items():
        if getattr(listener.channel, "path", None) == channel.path:
            return str(listener_id)
    return None


def _replace_in_project(project: Any, channel: ChannelConfig) -> None:
    channels = getattr(project, "channels", None)
    if channels is None:
        return
    for i, existing in enumerate(channels):
        if existing.path == channel.path or existing.id == channel.id:
            channels[i] = channel
            return
    channels.append(channel)


def _why_not_running(channel: ChannelConfig) -> str:
    if not channel.enabled:
        return "it is disabled"
    if not channel.in_profile:
        return "it is not in the active profile"
    if channel.listener_type != "dicom":
        return f"intu Desktop does not run {channel.listener_type or 'this'} listeners"
    return "it has no DICOM listener settings"
