"""Issue 2: C-ECHO, association rules (PS3.8 §9.3.4), two channels, restart and duplicates."""

from __future__ import annotations

from pathlib import Path

from dicomtools import echoscu, free_port, sample, storescu, wait_for, write_channel

from intu_desktop.index.associations import recent_associations


def test_echo_answered(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False)
    result = echoscu(port)
    assert result.returncode == 0, result.stderr
    rec = wait_for(lambda: [a for a in recent_associations(rt.index) if a.state == "released"])[0]
    assert rec.calling_ae == "CT_SCANNER_1"
    assert rec.exchanges[0]["service"] == "C-ECHO"


def test_unknown_calling_ae_rejected_with_reason_3(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port, calling=["CT_SCANNER_1", "MR_SCANNER_2"]),
                       with_pipeline=False)
    assert echoscu(port, aet="CT_SCANNER_1").returncode == 0
    refused = echoscu(port, aet="STRANGER")
    assert refused.returncode != 0
    assert "Calling AE Title Not Recognized" in refused.stderr or "Calling AE Title Not Recognised" in refused.stderr
    rec = wait_for(lambda: [a for a in recent_associations(rt.index) if a.state == "rejected"])[0]
    assert (rec.reject_result, rec.reject_source, rec.reject_reason) == (1, 1, 3)
    assert "calling AE title not recognized" in rec.reason
    assert "STRANGER" in rec.reason


def test_wrong_called_ae_rejected_with_reason_7(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False)
    refused = echoscu(port, aec="SOMEONE_ELSE")
    assert refused.returncode != 0
    assert "Called AE Title Not Recognized" in refused.stderr or "Called AE Title Not Recognised" in refused.stderr
    rec = wait_for(lambda: [a for a in recent_associations(rt.index) if a.state == "rejected"])[0]
    assert (rec.reject_result, rec.reject_source, rec.reject_reason) == (1, 1, 7)
    assert "called AE title not recognized" in rec.reason


def test_association_limit_is_a_transient_reject(start_runtime, tmp_path: Path) -> None:
    from pynetdicom import AE

    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port, extra_dicom="max_associations: 1"),
                       with_pipeline=False)
    ae = AE(ae_title="HOLDER")
    ae.add_requested_context("1.2.840.10008.1.1")
    held = ae.associate("127.0.0.1", port, ae_title="INTU_SCP")
    try:
        assert held.is_established
        refused = echoscu(port)
        assert refused.returncode != 0
        rec = wait_for(lambda: [a for a in recent_associations(rt.index) if a.state == "rejected"])[0]
        assert (rec.reject_result, rec.reject_source, rec.reject_reason) == (2, 3, 2)
        assert "local limit exceeded" in rec.reason
    finally:
        held.release()


def test_two_channels_two_ports_two_ae_titles(start_runtime, tmp_path: Path) -> None:
    p1, p2 = free_port(), free_port()
    rt = start_runtime(
        write_channel(tmp_path / "a", port=p1, channel_id="ct-in", ae_title="CT_IN"),
        write_channel(tmp_path / "b", port=p2, channel_id="mr-in", ae_title="MR_IN"),
        with_pipeline=False,
    )
    assert storescu(p1, [sample("CT_small.dcm")], aec="CT_IN").returncode == 0
    assert storescu(p2, [sample("MR_small.dcm")], aec="MR_IN").returncode == 0
    assert echoscu(p1, aec="MR_IN").returncode != 0  # each answers only to its own title
    rows = wait_for(lambda: rt.index.query("SELECT channel_id, modality FROM instances ORDER BY channel_id"))
    assert [(r["channel_id"], r["modality"]) for r in rows] == [("ct-in", "CT"), ("mr-in", "MR")]


def test_restart_keeps_index_and_duplicates_answer_success(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port)
    data = tmp_path / "data"
    rt = start_runtime(channel, data_dir=data, with_pipeline=False)
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0
    rt.stop()
    rt2 = start_runtime(channel, data_dir=data, with_pipeline=False)
    again = storescu(port, [sample("CT_small.dcm")])
    assert again.returncode == 0, again.stderr
    rows = rt2.index.query("SELECT sop_uid, duplicates FROM instances")
    assert len(rows) == 1
    assert rows[0]["duplicates"] == 1
    files = list((data / "store").rglob("*.dcm"))
    assert len(files) == 1  # identical bytes kept once
