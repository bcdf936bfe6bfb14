"""Fixtures for the reliability tests: an in-process receiver on an ephemeral port, PKI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from dicomtools import free_port, write_channel


@dataclass
class Receiver:
    runtime: Any
    port: int
    data: Path
    channel: Path

    def count(self) -> int:
        return int(self.runtime.index.query("SELECT COUNT(*) FROM instances")[0][0])


@pytest.fixture
def receiver(start_runtime: Callable[..., Any], tmp_path: Path) -> Callable[..., Receiver]:
    """receiver(extra_dicom="...", **write_channel kwargs): a started Runtime without pipeline."""

    def start(extra_dicom: str = "", *, name: str = "ch", with_pipeline: bool = False, **kwargs: Any) -> Receiver:
        port = free_port()
        channel = write_channel(tmp_path / name, port=port, extra_dicom=extra_dicom, **kwargs)
        data = tmp_path / f"data-{name}"
        runtime = start_runtime(channel, data_dir=data, with_pipeline=with_pipeline)
        return Receiver(runtime, port, data, channel)

    return start


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1, a client certificate, all as PEM files."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("modality.example")
    out = {}
    for name, blob in (("ca", ca.cert_pem), ("server_cert", server.cert_chain_pems[0]),
                       ("server_key", server.private_key_pem), ("client_cert", client.cert_chain_pems[0]),
                       ("client_key", client.private_key_pem)):
        path = tmp_path / f"{name}.pem"
        blob.write_to_path(str(path))
        out[name] = path
    return out
