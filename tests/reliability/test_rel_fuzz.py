"""RELIABILITY 23: the receive path fuzzed with hypothesis, at the PDU and the data set level.

One listener serves every example of a property, so damage would accumulate: a thread that
dies (pytest turns its exception into an error), a connection left open, a leaked
temporary file, a success status for something that was not stored.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import pydicom
import pytest
from dicomtools import echoscu, sample, temporary_leftovers
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rel_helpers import part10
from rel_pdus import (
    CT_IMAGE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    VERIFICATION,
    AssociateRQ,
    Context,
    accepted_context_results,
    pdu,
    read_pdu,
    read_until_closed,
    release_rq,
)

from intu_desktop.dicom.metadata import read_header

# benchmarks/soak_fuzz.py raises the count through INTU_FUZZ_EXAMPLES.
FUZZ = settings(
    max_examples=int(os.environ.get("INTU_FUZZ_EXAMPLES", "80")), deadline=None, database=None,
    # No explain phase: on a deep-recursion failure it formats thousands of frames for minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CHANNEL = "max_pdu_length: 16384\nacse_timeout_ms: 2000\nnetwork_timeout_ms: 2000"
PDU_TYPES = st.integers(0, 255) | st.integers(1, 7)


@pytest.fixture
def fuzz_receiver(receiver):  # type: ignore[no-untyped-def]
    rx = receiver(CHANNEL)
    yield rx
    # After all examples: still answering, nothing half-written left behind.
    assert echoscu(rx.port).returncode == 0
    assert not temporary_leftovers(rx.data / "tmp")


def _send_and_close(port: int, payload: bytes) -> None:
    """Send, half-close, and require the listener to close its side too."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return  # refused mid-way: the listener already closed
        reply = read_until_closed(sock, deadline_s=15)
    assert reply.closed, reply.names
    assert set(reply.pdu_types) <= {0x02, 0x03, 0x07}, reply.names


# -- raw bytes and PDU headers -------------------------------------------------------------
headers = st.builds(lambda t, r, n, rest: struct.pack(">BBL", t, r, n) + rest,
                    PDU_TYPES, st.integers(0, 255), st.integers(0, 0xFFFFFFFF) | st.integers(0, 600),
                    st.binary(max_size=600))


@FUZZ
@given(payload=st.binary(max_size=1024) | headers | st.lists(headers, min_size=2, max_size=4).map(b"".join))
def test_arbitrary_bytes_never_hang_or_kill_the_listener(fuzz_receiver, payload: bytes) -> None:
    _send_and_close(fuzz_receiver.port, payload)


# -- A-ASSOCIATE-RQ ----------------------------------------------------------------------------
abstract_syntaxes = st.sampled_from([VERIFICATION, CT_IMAGE, b"1.2.840.10008.5.1.4.1.2.1.1", b"1.2.3.4.5.6"]) | \
    st.binary(max_size=70)
transfer_syntaxes = st.sampled_from([IMPLICIT_LE, EXPLICIT_LE, b"1.2.840.10008.1.2.4.50", b"9.9"]) | st.binary(max_size=70)
contexts = st.builds(Context, st.integers(0, 255) | st.integers(0, 10).map(lambda n: 2 * n + 1), abstract_syntaxes,
                     st.lists(transfer_syntaxes, max_size=4).map(tuple))
titles = st.sampled_from([b"INTU_SCP", b"CT_SCANNER_1", b"", b" ", b"a" * 16]) | st.binary(min_size=0, max_size=16)
user_items = st.lists(st.builds(lambda t, v: struct.pack(">BBH", t, 0, len(v)) + v, st.integers(0x50, 0x60) |
                                st.integers(0, 255), st.binary(max_size=40)), max_size=4).map(b"".join)
requests = st.builds(AssociateRQ, called=titles | st.just(b"INTU_SCP"), calling=titles,
                     contexts=st.lists(contexts, max_size=140), max_pdu=st.integers(0, 0xFFFFFFFF),
                     extra_user_items=user_items, reserved=st.integers(0, 255))


def _valid_ids(rq: AssociateRQ) -> bool:
    ids = [cx.context_id for cx in rq.contexts]
    return all(i % 2 == 1 for i in ids) and len(ids) == len(set(ids))


@FUZZ
@given(rq=requests)
def test_association_requests_get_one_answer_per_context(fuzz_receiver, rq: AssociateRQ) -> None:
    with socket.create_connection(("127.0.0.1", fuzz_receiver.port), timeout=10) as sock:
        sock.sendall(rq.encode())
        try:
            pdu_type, body = read_pdu(sock, timeout=15)
        except ConnectionError:
            return  # closed without a word: allowed for a request it could not parse
        assert pdu_type in (0x02, 0x03, 0x07), pdu_type
        if pdu_type == 0x02:
            # PS3.8 §9.3.3.2: exactly one answer per proposed context, never for a broken request.
            assert _valid_ids(rq)
            answers = accepted_context_results(body)
            assert set(answers) == {cx.context_id for cx in rq.contexts}
            assert set(answers.values()) <= {0, 1, 2, 3, 4}
            sock.sendall(release_rq())
        reply = read_until_closed(sock, deadline_s=15)
    assert reply.closed


@FUZZ
@given(rq=requests, cut=st.integers(0, 400), flip=st.tuples(st.integers(0, 400), st.integers(1, 255)))
def test_truncated_or_corrupted_requests(fuzz_receiver, rq: AssociateRQ, cut: int, flip: tuple[int, int]) -> None:
    raw = bytearray(rq.encode())
    position, mask = flip
    if position < len(raw):
        raw[position] ^= mask
    _send_and_close(fuzz_receiver.port, bytes(raw[:max(1, len(raw) - cut)]))


# -- P-DATA after an accepted association -------------------------------------------------------
pdvs = st.builds(lambda cx, header, payload, lie: struct.pack(">L", len(payload) + 2 if lie is None else lie)
                 + bytes([cx, header]) + payload,
                 st.sampled_from([1, 3, 5, 0, 255]), st.integers(0, 255), st.binary(max_size=300),
                 st.none() | st.integers(0, 0xFFFFFFFF))
pdata_pdus = st.lists(pdvs, min_size=0, max_size=3).map(lambda items: pdu(0x04, b"".join(items)))


@FUZZ
@given(messages=st.lists(pdata_pdus | headers, min_size=1, max_size=4))
def test_p_data_after_association(fuzz_receiver, messages: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", fuzz_receiver.port), timeout=10) as sock:
        sock.sendall(AssociateRQ(contexts=[Context(1), Context(3, CT_IMAGE, (EXPLICIT_LE,))]).encode())
        assert read_pdu(sock)[0] == 0x02
        try:
            sock.sendall(b"".join(messages))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        reply = read_until_closed(sock, deadline_s=15)
    assert reply.closed


# -- data sets sent with a valid C-STORE command ------------------------------------------------
def _template() -> tuple[bytes, str]:
    """CT_small's data set bytes (Explicit VR Little Endian) and its SOP Instance UID."""
    from pynetdicom.dsutils import split_dataset

    path = sample("CT_small.dcm")
    _meta, offset = split_dataset(path)
    return path.read_bytes()[offset:], str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


TEMPLATE, TEMPLATE_UID = _template()
mutations = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, len(TEMPLATE))),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, len(TEMPLATE) - 1), st.integers(1, 255)), max_size=8)),
    st.tuples(st.just("length"), st.integers(0, 1500), st.sampled_from([0xFFFFFFFF, 0xFFFFFFF0, 0x7FFFFFFF, 3])),
    st.tuples(st.just("nest"), st.integers(1, 3000)),
)


def _mutate(mutation: tuple) -> bytes:  # type: ignore[type-arg]
    data = bytearray(TEMPLATE)
    kind = mutation[0]
    if kind == "truncate":
        return bytes(data[:mutation[1]])
    if kind == "flip":
        for position, mask in mutation[1]:
            data[position] ^= mask
        return bytes(data)
    if kind == "length":  # a length field somewhere near `offset` claims a huge value
        offset = mutation[1] - mutation[1] % 2
        data[offset:offset + 4] = struct.pack("<L", mutation[2])
        return bytes(data)
    depth = mutation[1]  # a private sequence nested `depth` deep, all undefined lengths
    open_ = struct.pack("<HH2sHL", 0x0009, 0x1010, b"SQ", 0, 0xFFFFFFFF) + struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
    close = struct.pack("<HHL", 0xFFFE, 0xE00D, 0) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    return bytes(data) + open_ * depth + close * depth


@pytest.fixture
def store_client(fuzz_receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from pynetdicom import AE, _config
    from pynetdicom.sop_class import CTImageStorage

    # Send the file's bytes as they are: the client must not parse what it fuzzes.
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)

    ae = AE(ae_title="FUZZER")
    ae.add_requested_context(CTImageStorage, EXPLICIT_LE.decode())
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30

    def send(dataset: bytes) -> int | None:
        path = tmp_path / "fuzzed.dcm"
        path.write_bytes(part10(dataset, "1.2.840.10008.5.1.4.1.1.2", TEMPLATE_UID))
        assoc = ae.associate("127.0.0.1", fuzz_receiver.port, ae_title="INTU_SCP")
        assert assoc.is_established
        try:
            status = assoc.send_c_store(path)
            return int(status.Status) if "Status" in status else None
        finally:
            if assoc.is_established:
                assoc.release()

    return send


@FUZZ
@given(mutation=mutations)
def test_mutated_data_sets_are_stored_or_refused_truthfully(fuzz_receiver, store_client, mutation: tuple) -> None:  # type: ignore[type-arg]
    status = store_client(_mutate(mutation))
    # 0xC211 would mean our handler raised: a bug, not an answer (STYLE anti-patterns).
    assert status in (0x0000, 0xA700, 0xA900, 0xC000, 0xC210), hex(status or 0)
    rows = fuzz_receiver.runtime.index.query("SELECT storage_path FROM instances WHERE sop_uid = ?", (TEMPLATE_UID,))
    if status == 0x0000:
        assert rows, "success answered but nothing indexed"
        stored = Path(rows[0]["storage_path"])
        assert str(read_header(stored).SOPInstanceUID) == TEMPLATE_UID
    assert not temporary_leftovers(fuzz_receiver.data / "tmp")
