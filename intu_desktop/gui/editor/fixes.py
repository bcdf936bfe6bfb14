"""One-click fixes for refused associations (issue 7), staged in the editor, never saved
without the user seeing the diff."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from intu_desktop.gui.editor.channel_page import ChannelPage
    from intu_desktop.gui.editor.editor import ChannelEditor

CALLING = ("listener", "dicom", "calling_ae_titles")
CALLED = ("listener", "dicom", "ae_title")


def allow_calling_ae(editor: ChannelEditor, channel_file: Path, calling_ae: str
                     ) -> ChannelPage | None:
    """Stage adding `calling_ae` to the channel's calling AE titles (an A-ASSOCIATE-RJ with
    reason 3, "calling AE title not recognized", PS3.8 §9.3.4)."""
    title = calling_ae.strip(" ")  # leading/trailing spaces are not significant (PS3.5 §6.2)
    description = f"allow the calling AE {title}"
    page = editor.open_channel(channel_file)
    if page is None:
        return None
    current = page.session.get(CALLING)
    if isinstance(current, list) and title in [str(t).strip(" ") for t in current]:
        return editor.stage_change(channel_file, CALLING, list(current), description)
    size = len(current) if isinstance(current, list) else 0
    return editor.stage_change(channel_file, (*CALLING, size), title, description)


def accept_called_ae(editor: ChannelEditor, channel_file: Path, called_ae: str
                     ) -> ChannelPage | None:
    """Stage setting the channel's own AE title to what the sender calls it (reason 7,
    "called AE title not recognized")."""
    title = called_ae.strip(" ")
    return editor.stage_change(channel_file, CALLED, title, f"accept the called AE {title}")
