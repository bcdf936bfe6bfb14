"""The channel editor (issue 6): forms that save the same intu YAML, byte for byte where
the user changed nothing."""

from __future__ import annotations

from intu_desktop.gui.editor.apply import restart_listener
from intu_desktop.gui.editor.editor import ChannelEditor
from intu_desktop.gui.editor.fixes import accept_called_ae, allow_calling_ae

__all__ = ["ChannelEditor", "accept_called_ae", "allow_calling_ae", "restart_listener"]
