"""The directly encoded C-STORE response is byte for byte pynetdicom's (issue 9)."""

from __future__ import annotations

import pytest
from pynetdicom.dimse_messages import C_STORE_RSP
from pynetdicom.dimse_primitives import C_STORE

from intu_desktop.dicom.store_response import encode_store_response


def _response(status: int, comment: str | None, sop_class: str, sop_instance: str, msg_id: int) -> C_STORE:
    rsp = C_STORE()
    rsp.MessageID = msg_id
    rsp.MessageIDBeingRespondedTo = msg_id
    rsp.AffectedSOPClassUID = sop_class
    rsp.AffectedSOPInstanceUID = sop_instance
    rsp.Status = status
    if comment is not None:
        rsp.ErrorComment = comment
    return rsp


def _pynetdicom_bytes(rsp: C_STORE) -> bytes:
    msg = C_STORE_RSP()
    msg.primitive_to_message(rsp)
    (pdata,) = list(msg.encode_msg(1, 16384))
    ((_cx, pdv),) = pdata.presentation_data_value_list
    assert pdv[0] == 0x03  # one last command fragment
    return bytes(pdv[1:])


@pytest.mark.parametrize(
    ("status", "comment"),
    [
        (0x0000, None),
        (0xA700, "Out of resources: cannot write to the store"),
        (0xA900, "Data set UIDs differ from the command's"),  # odd length: padded
        (0xC210, "Cannot understand: the data set cannot be parsed"),
        (0xC211, "internal error: ValueError"),
        (0xB000, None),
    ],
)
@pytest.mark.parametrize(
    ("sop_class", "sop_instance", "msg_id"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", "1.2.826.0.1.3680043.8.498.1", 1),  # odd UID lengths
        ("1.2.840.10008.5.1.4.1.1.4", "1.2.3.4", 65535),
    ],
)
def test_same_bytes_as_pynetdicom(status: int, comment: str | None, sop_class: str, sop_instance: str,
                                  msg_id: int) -> None:
    rsp = _response(status, comment, sop_class, sop_instance, msg_id)
    assert encode_store_response(rsp) == _pynetdicom_bytes(rsp)


def test_offending_element_goes_to_pynetdicom() -> None:
    rsp = _response(0xA900, None, "1.2.3", "1.2.4", 3)
    rsp.OffendingElement = [0x00100010]
    assert encode_store_response(rsp) is None
