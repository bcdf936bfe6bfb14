"""Stopping a channel from the channels panel frees its port; starting binds it again."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import needs_dcmtk, port_is_free, wait_for

pytestmark = needs_dcmtk


def state_of(window, channel_id: str) -> str:
    row = window.channels.model.row(channel_id)
    return row.state if row is not None else ""


def test_stop_frees_the_port_and_start_binds_again(qtbot, window, sender, channel_port):
    panel = window.channels
    assert state_of(window, "gui-test") == "listening"
    assert not port_is_free(channel_port)
    assert "Listening on port" in window.status.listening.text()
    panel.table.selectRow(0)
    assert panel.stop_button.isEnabled() and not panel.start_button.isEnabled()

    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    wait_for(
        qtbot, lambda: state_of(window, "gui-test") == "stopped" and panel.start_button.isEnabled()
    )
    wait_for(qtbot, lambda: port_is_free(channel_port))
    assert sender.echo(channel_port).returncode != 0
    assert window.status.listening.text() == "Not listening"
    assert panel.start_button.isEnabled()

    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    wait_for(qtbot, lambda: state_of(window, "gui-test") == "listening")
    assert not port_is_free(channel_port)
    assert sender.echo(channel_port).returncode == 0
    assert panel.model.index(0, 2).data() == str(channel_port)


def test_a_port_in_use_is_shown_as_an_error_in_words(qtbot, window, channel_port):
    import socket

    panel = window.channels
    panel.table.selectRow(0)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    wait_for(qtbot, lambda: port_is_free(channel_port) and panel.start_button.isEnabled())
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", channel_port))
    blocker.listen()
    try:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        wait_for(qtbot, lambda: state_of(window, "gui-test") == "error")
        assert "already in use" in panel.model.index(0, 1).data()
        wait_for(qtbot, lambda: panel.message.isVisible())
        assert "already in use" in panel.message.text()
    finally:
        blocker.close()
