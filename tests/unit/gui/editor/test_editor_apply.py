"""restart_listener: one channel restarts with its new settings, the others keep running."""

from __future__ import annotations

import socket
from pathlib import Path

from dicomtools import echoscu, free_port, write_channel

from intu_desktop.config import check_channel_text
from intu_desktop.gui.editor import restart_listener


def _channel(path: Path, text: str):
    path.write_text(text, encoding="utf-8")
    return check_channel_text(path, text)


def test_invalid_channel_is_not_applied(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    path = write_channel(tmp_path / "a", port=port, channel_id="a")
    runtime = start_runtime(path, with_pipeline=False)
    listener = runtime.listeners["a"]
    bad = _channel(path, path.read_text().replace(f"port: {port}", "port: 70000"))
    ok, text = restart_listener(runtime, bad)
    assert not ok and "must be between 1 and 65535" in text
    assert runtime.listeners["a"] is listener and listener.state == "listening"


def test_disabling_stops_the_listener_and_frees_the_port(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    path = write_channel(tmp_path / "a", port=port, channel_id="a")
    runtime = start_runtime(path, with_pipeline=False)
    disabled = _channel(path, path.read_text().replace("enabled: true", "enabled: false"))
    assert restart_listener(runtime, disabled) == (True, "channel a stopped: it is disabled")
    assert "a" not in runtime.listeners
    assert runtime.project.channels[0] is disabled  # the pipeline sees the new version
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_port_in_use_is_reported_and_renamed_channel_replaces_its_old_listener(
        start_runtime, tmp_path: Path) -> None:
    port = free_port()
    path = write_channel(tmp_path / "a", port=port, channel_id="a")
    runtime = start_runtime(path, with_pipeline=False)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        text = path.read_text().replace("id: a", "id: b").replace(f"port: {port}", f"port: {taken}")
        ok, reason = restart_listener(runtime, _channel(path, text))
    assert not ok and str(taken) in reason
    assert list(runtime.listeners) == ["b"]  # the old id's listener was stopped
    assert runtime.listeners["b"].state == "error"

    fixed = _channel(path, text.replace(f"port: {taken}", f"port: {port}"))
    assert restart_listener(runtime, fixed) == (True, f"listening on port {port}")
    assert echoscu(port).returncode == 0
