"""The log destination writes one line with UIDs, never the body."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from dest_helpers import context

from intu_desktop.destinations.log import LogDestination


def test_one_line_with_uids_and_no_body(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="intu_desktop.destinations.log")
    dest = LogDestination("audit", {}, tmp_path)
    result = dest.send(context(body='{"patientName": "Canary^Patient"}'))
    assert result.ok and result.response == "logged (33 bytes)"
    (record,) = caplog.records
    assert "1.2.3.4.5" in record.getMessage() and "study 1.2.3" in record.getMessage()
    assert "Canary" not in caplog.text


def test_level_is_configurable(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="intu_desktop.destinations.log")
    LogDestination("audit", {"level": "debug"}, tmp_path).send(context())
    assert caplog.records[0].levelno == logging.DEBUG
