"""Turn a diagnosis Fix into a change staged in the channel editor (never saved unseen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intu_desktop.dicom.diagnosis import Fix
from intu_desktop.gui.editor import ChannelEditor, accept_called_ae, allow_calling_ae
from intu_desktop.gui.editor.fixes import CALLED, CALLING


def button_text(fix: Fix) -> str:
    if tuple(fix.key_path) == CALLING:
        return f"Allow this calling AE ({fix.value})"
    if tuple(fix.key_path) == CALLED:
        return f"Accept this called AE ({fix.value})"
    return fix.description[:1].upper() + fix.description[1:]


def stage_fix(editor: ChannelEditor, channel_file: Path, fix: Fix) -> Any:
    """Open the channel in the editor with the fix applied but unsaved; returns the page."""
    key_path = tuple(fix.key_path)
    if key_path == CALLING and fix.append:
        return allow_calling_ae(editor, channel_file, str(fix.value))
    if key_path == CALLED:
        return accept_called_ae(editor, channel_file, str(fix.value))
    if fix.append:
        page = editor.open_channel(channel_file)
        if page is None:
            return None
        current = page.session.get(key_path)
        size = len(current) if isinstance(current, list) else 0
        return editor.stage_change(channel_file, (*key_path, size), fix.value, fix.description)
    return editor.stage_change(channel_file, key_path, fix.value, fix.description)
