"""RELIABILITY 3: one answer per presentation context (PS3.8 §9.3.3.2), with one transfer
syntax for each accepted one; an association with nothing accepted says why in the log."""

from __future__ import annotations

import logging
import socket

import pytest
from dicomtools import wait_for
from rel_pdus import (
    CT_IMAGE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    VERIFICATION,
    AssociateRQ,
    Context,
    context_answers,
    read_pdu,
    read_until_closed,
    release_rq,
)

STUDY_ROOT_FIND = b"1.2.840.10008.5.1.4.1.2.2.1"  # a service this receiver does not provide
JPEG_BASELINE = b"1.2.840.10008.1.2.4.50"


def _answers(port: int, contexts: list[Context]) -> dict[int, tuple[int, list[bytes]]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(AssociateRQ(contexts=contexts).encode())
        pdu_type, body = read_pdu(sock)
        assert pdu_type == 0x02
        sock.sendall(release_rq())
        read_until_closed(sock, deadline_s=10)
    return context_answers(body)


def test_each_context_gets_its_own_result_and_one_transfer_syntax(receiver) -> None:
    rx = receiver()
    answers = _answers(rx.port, [
        Context(1, VERIFICATION, (IMPLICIT_LE,)),
        Context(3, CT_IMAGE, (b"1.2.3.999", EXPLICIT_LE, IMPLICIT_LE)),  # the first one it can read wins
        Context(5, STUDY_ROOT_FIND, (IMPLICIT_LE,)),
        Context(7, CT_IMAGE, (b"1.2.3.999", b"1.2.3.998")),
        Context(9, VERIFICATION, (JPEG_BASELINE,)),  # verification needs no compression
    ])
    assert answers == {
        1: (0, [IMPLICIT_LE]),
        3: (0, [EXPLICIT_LE]),
        5: (3, answers[5][1]),  # abstract syntax not supported
        7: (4, answers[7][1]),  # transfer syntaxes not supported
        9: (4, answers[9][1]),
    }
    assert all(len(syntaxes) == 1 for _result, syntaxes in answers.values())


def test_nothing_accepted_is_logged_with_the_reason(receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    rx = receiver()
    answers = _answers(rx.port, [Context(1, STUDY_ROOT_FIND, (IMPLICIT_LE,)), Context(3, CT_IMAGE, (b"1.2.3.999",))])
    assert {cx: result for cx, (result, _ts) in answers.items()} == {1: 3, 3: 4}
    wait_for(lambda: "accepted with no usable context" in caplog.text)
    assert "context 1: abstract syntax not supported" in caplog.text
    assert "context 3: transfer syntaxes not supported" in caplog.text
