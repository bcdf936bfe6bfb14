"""Troubleshooting in the window (issue 7): the association inspector with its hints and
one-click fixes, the Echo / Send / Test-my-listener tools, and the remote nodes table."""

from __future__ import annotations

from intu_desktop.gui.troubleshoot.echo_dialog import EchoDialog
from intu_desktop.gui.troubleshoot.inspector import AssociationInspector
from intu_desktop.gui.troubleshoot.listener_test import ListenerTestDialog
from intu_desktop.gui.troubleshoot.remote_nodes import RemoteNodesModel, RemoteNodesView
from intu_desktop.gui.troubleshoot.send_dialog import SendDialog
from intu_desktop.gui.troubleshoot.tools import TroubleshootTools

__all__ = ["AssociationInspector", "EchoDialog", "ListenerTestDialog", "RemoteNodesModel", "RemoteNodesView",
           "SendDialog", "TroubleshootTools"]
