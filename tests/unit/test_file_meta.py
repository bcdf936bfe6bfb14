"""The received object's File Meta group is byte for byte what pydicom writes (issue 9)."""

from __future__ import annotations

import io

import pytest
from pydicom.filewriter import write_file_meta_info
from pynetdicom import dimse_messages
from pynetdicom.dsutils import create_file_meta

from intu_desktop.dicom import transport


@pytest.mark.parametrize(
    ("sop_class", "sop_instance", "syntax"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4", "1.2.840.10008.1.2.1"),  # even lengths
        ("1.2.840.10008.5.1.4.1.1.4", "1.2.826.0.1.3680043.8.498.1", "1.2.840.10008.1.2"),  # odd
        ("1.2.3.4.5.6.7.8.9.0.1", "9" * 64, "1.2.840.10008.1.2.4.50"),
    ],
)
def test_same_bytes_as_pydicom(sop_class: str, sop_instance: str, syntax: str) -> None:
    ours, theirs = io.BytesIO(), io.BytesIO()
    transport.write_file_meta(ours, transport.FileMeta(
        sop_class_uid=sop_class, sop_instance_uid=sop_instance, transfer_syntax=syntax))
    write_file_meta_info(theirs, create_file_meta(
        sop_class_uid=sop_class, sop_instance_uid=sop_instance, transfer_syntax=syntax))
    assert ours.getvalue() == theirs.getvalue()


def test_the_association_s_ae_titles_are_recorded() -> None:
    """Sending and Receiving Application Entity Title (PS3.10 7.1), as pydicom writes them."""
    ours, theirs = io.BytesIO(), io.BytesIO()
    transport.write_file_meta(ours, transport.FileMeta(
        sop_class_uid="1.2.3", sop_instance_uid="1.2.3.4", transfer_syntax="1.2.840.10008.1.2.1",
        sending_ae="CT_SCANNER_1", receiving_ae="INTU_SCP"))
    meta = create_file_meta(sop_class_uid="1.2.3", sop_instance_uid="1.2.3.4",
                            transfer_syntax="1.2.840.10008.1.2.1")
    meta.SendingApplicationEntityTitle = "CT_SCANNER_1"
    meta.ReceivingApplicationEntityTitle = "INTU_SCP"
    write_file_meta_info(theirs, meta)
    assert ours.getvalue() == theirs.getvalue()


def test_installed_into_pynetdicom() -> None:
    transport.install_chunk_file_factory()
    assert dimse_messages.write_file_meta_info is transport.write_file_meta
    assert dimse_messages.create_file_meta is transport.FileMeta
