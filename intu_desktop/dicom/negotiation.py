"""Association negotiation as the channel configures it (PS3.8 §9.3.4, PS3.7 Annex D).

pynetdicom's acceptor can check a calling-AE list, but it cannot bind an AE to host
addresses, picks the first proposed transfer syntax for unknown storage classes even
when nobody can read it, and rejects private SOP classes unless a process-wide switch
is set. This ACSE subclass keeps pynetdicom's state machine and replaces only the
decisions: who may associate, and which presentation contexts are accepted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, cast

from pydicom.uid import AllTransferSyntaxes, UID, UncompressedTransferSyntaxes
from pynetdicom import evt, sop_class
from pynetdicom.acse import ACSE
from pynetdicom.pdu_primitives import A_ASSOCIATE, SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from intu_desktop.dicom.names import reject_text

log = logging.getLogger(__name__)

VERIFICATION = UID("1.2.840.10008.1.1")
_STORAGE_UIDS = frozenset(getattr(sop_class, "_STORAGE_CLASSES").values())
ACCEPTED_TRANSFER_SYNTAXES: tuple[UID, ...] = tuple(AllTransferSyntaxes)


def is_storage_like(uid: UID) -> bool:
    """Storage classes, private classes and classes nobody registered are all stored as they come."""
    return uid.is_private or uid in _STORAGE_UIDS or not hasattr(sop_class, uid.keyword or "-")


@dataclass
class AssociationPolicy:
    """Who may associate with a channel's listener (from its configuration)."""

    ae_title: str
    calling_ae_titles: list[str] = field(default_factory=list)  # empty: any calling AE
    accept_any_called_ae: bool = False
    calling_ae_hosts: dict[str, list[str]] = field(default_factory=dict)  # desktop extension
    max_associations: int = 16

    def check(self, calling_ae: str, called_ae: str, peer_host: str, active: int) -> tuple[tuple[int, int, int], str] | None:
        """None to accept, else ((result, source, reason), explanation in words)."""
        calling = calling_ae.strip()
        if self.calling_ae_titles and calling not in [a.strip() for a in self.calling_ae_titles]:
            return (1, 1, 3), (
                f"calling AE title not recognized: {calling_ae!r} is not in the channel's "
                f"calling_ae_titles ({', '.join(self.calling_ae_titles)})"
            )
        hosts = self.calling_ae_hosts.get(calling)
        if hosts and peer_host not in hosts:
            return (1, 1, 3), (
                f"calling AE title not recognized from this address: {calling_ae!r} may only connect "
                f"from {', '.join(hosts)}, not {peer_host} (calling_ae_hosts)"
            )
        if not self.accept_any_called_ae and called_ae.strip() != self.ae_title.strip():
            return (1, 1, 7), (
                f"called AE title not recognized: the modality called {called_ae!r}, this channel "
                f"answers to {self.ae_title!r}"
            )
        if active > self.max_associations:
            return (2, 3, 2), (
                f"local limit exceeded: {active - 1} associations already open, the channel allows "
                f"{self.max_associations} (max_associations); the modality should retry"
            )
        return None


def negotiate_contexts(
    proposed: list[PresentationContext], roles: dict[UID, tuple[bool | None, bool | None]]
) -> tuple[list[PresentationContext], list[SCP_SCU_RoleSelectionNegotiation]]:
    """One answer per proposed context: result 0 with one transfer syntax, or 3 / 4 (PS3.8 §9.3.3.2)."""
    results: list[PresentationContext] = []
    reply_roles: dict[UID, SCP_SCU_RoleSelectionNegotiation] = {}
    for rq in proposed:
        cx = PresentationContext()
        cx.context_id = rq.context_id
        abstract = cast(UID, rq.abstract_syntax)
        cx.abstract_syntax = abstract
        if abstract == VERIFICATION:
            acceptable: tuple[UID, ...] = tuple(UncompressedTransferSyntaxes)
        elif is_storage_like(abstract):
            acceptable = ACCEPTED_TRANSFER_SYNTAXES
        else:
            cx.transfer_syntax = [rq.transfer_syntax[0]] if rq.transfer_syntax else []
            cx.result = 0x03  # abstract syntax not supported
            results.append(cx)
            continue
        chosen = next((ts for ts in rq.transfer_syntax if ts in acceptable), None)
        if chosen is None:
            cx.transfer_syntax = [rq.transfer_syntax[0]] if rq.transfer_syntax else []
            cx.result = 0x04  # transfer syntaxes not supported
            results.append(cx)
            continue
        cx.transfer_syntax = [chosen]
        cx.result = 0x00
        cx._as_scu = True
        cx._as_scp = True
        if abstract in roles:  # answer role selection as pynetdicom's unrestricted mode does
            scu_role, scp_role = roles[abstract]
            item = SCP_SCU_RoleSelectionNegotiation()
            item.sop_class_uid = abstract
            item.scu_role = bool(scu_role)
            item.scp_role = bool(scp_role)
            reply_roles[abstract] = item
        results.append(cx)
    return sorted(results, key=lambda c: cast(int, c.context_id)), list(reply_roles.values())


# (assoc, (result, source, reason), words) -> None; the listener records the refusal.
RejectCallback = Callable[[Any, tuple[int, int, int], str], None]


class PolicyACSE(ACSE):
    """pynetdicom's ACSE with the channel's acceptance rules."""

    def __init__(self, assoc: Any, policy: AssociationPolicy, on_reject: RejectCallback,
                 others_active: Callable[[], int] = lambda: 0) -> None:
        super().__init__(assoc)
        self._policy = policy
        self._on_reject = on_reject
        self._others_active = others_active  # held by the channel's other receiver processes

    def _negotiate_as_acceptor(self) -> None:
        assoc_rq = cast(A_ASSOCIATE, self.requestor.primitive)
        self.requestor.ae_title = assoc_rq.calling_ae_title
        # Associations, not connections: a socket that never sends its A-ASSOCIATE-RQ (idle,
        # or a port scanner) must not lock modalities out until the ACSE timeout (RELIABILITY 5).
        others = [a for a in self.assoc.ae.active_associations
                  if a.is_acceptor and a.is_established and a is not self.assoc]
        active = len(others) + 1 + self._others_active()
        verdict = self._policy.check(
            str(assoc_rq.calling_ae_title), str(assoc_rq.called_ae_title),
            str(self.requestor.address), active,
        )
        if verdict is None and self.requestor.user_identity:
            ok, response = self._check_user_identity()
            if not ok:
                verdict = ((2, 2, 1), "user identity was not accepted")
            elif response:
                self.acceptor.add_negotiation_item(response)
        if verdict is not None:
            rsd, words = verdict
            log.info("rejecting association from %s: %s (%s)", assoc_rq.calling_ae_title, words, reject_text(*rsd))
            self._on_reject(self.assoc, rsd, words)
            self.send_reject(*rsd)
            evt.trigger(self.assoc, evt.EVT_REJECTED, {})
            self.assoc.kill()
            return

        for item in self._check_sop_class_extended():
            self.acceptor.add_negotiation_item(item)
        self.acceptor._common_ext = self._check_sop_class_common_extended()
        if self.requestor.asynchronous_operations != (1, 1):
            async_rsp = self._check_async_ops()
            if async_rsp:
                self.acceptor.add_negotiation_item(async_rsp)

        rq_roles = {uid: (item.scu_role, item.scp_role) for uid, item in self.requestor.role_selection.items()}
        result, ac_roles = negotiate_contexts(assoc_rq.presentation_context_definition_list, rq_roles)
        self.assoc._accepted_cx = {cast(int, cx.context_id): cx for cx in result if cx.result == 0x00}
        self.assoc._rejected_cx = [cx for cx in result if cx.result != 0x00]
        for role_item in ac_roles:
            self.acceptor.add_negotiation_item(role_item)

        self.send_accept()
        evt.trigger(self.assoc, evt.EVT_ACCEPTED, {})
        self.assoc.is_established = True
        evt.trigger(self.assoc, evt.EVT_ESTABLISHED, {})
