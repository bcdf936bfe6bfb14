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


def test_an_apply_while_the_runtime_is_starting_waits_for_the_start(tmp_path: Path) -> None:
    """The window starts the runtime on a worker after it is shown, so Apply can come while
    a listener is still starting: it waits, then replaces that listener (no orphan keeps the
    old port, and the listeners dictionary is not changed under start's loop)."""
    import threading

    from intu_desktop.app import Runtime
    from intu_desktop.config import load_channel_files

    port = free_port()
    path = write_channel(tmp_path / "a", port=port, channel_id="a")
    runtime = Runtime(load_channel_files([path]), tmp_path / "data", host="127.0.0.1", with_pipeline=False)
    first = runtime.listeners["a"]
    gate, entered = threading.Event(), threading.Event()
    real_start = first.start

    def slow_start() -> None:
        entered.set()
        assert gate.wait(30)
        real_start()

    first.start = slow_start  # type: ignore[method-assign]
    starter = threading.Thread(target=runtime.start)
    starter.start()
    try:
        assert entered.wait(30)
        new_port = free_port()
        changed = _channel(path, path.read_text().replace(f"port: {port}", f"port: {new_port}"))
        results: list[tuple[bool, str]] = []
        applier = threading.Thread(target=lambda: results.append(restart_listener(runtime, changed)))
        applier.start()
        applier.join(0.5)
        assert applier.is_alive() and not results  # waiting for the start
        gate.set()
        starter.join(30)
        applier.join(30)
        assert results == [(True, f"listening on port {new_port}")]
        assert first.state == "stopped" and runtime.listeners["a"] is not first
        assert echoscu(new_port).returncode == 0
        with socket.socket() as s:  # the listener the start bound was stopped by the apply
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        gate.set()
        starter.join(30)
        runtime.stop()
